"""Dependency groups' virtualenvs: built once per requirements hash, in the sandbox, wheels only."""

from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pydantic
from django.conf import settings

from flowui_runtime import sandbox
from flowui_runtime.checks import requirements_errors
from flowui_runtime.contracts import VENV_READY_MARKER
from registry.models import DependencyGroup, OperatorVersion

logger = logging.getLogger(__name__)


class DependencyVenvError(Exception):
    """A dependency group's virtualenv could not be built."""


def dependency_venv_python(group: DependencyGroup | None) -> str:
    """The group's venv python when it is built, else the platform's python (extraction then needs only pydantic)."""
    if group is not None and group.requirements:
        path = Path(settings.FLOWUI_VENVS_DIR) / group.requirements_hash
        if (path / VENV_READY_MARKER).exists():
            return str(path / "bin" / "python")
    return sys.executable


def _platform_pydantic_requirement() -> str:
    return f"pydantic=={pydantic.VERSION}"


def _build_env() -> dict[str, str]:
    """The environment of a venv build: what pip/uv need to find and cache packages, nothing of the platform's
    (no database URL, secret key, cloud credentials)."""
    keep = {
        "PATH",
        "HOME",
        "LANG",
        "TMPDIR",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "XDG_CACHE_HOME",
    }
    return {key: value for key, value in os.environ.items() if key in keep or key.startswith(("PIP_", "UV_"))} | {
        "LANG": "C.UTF-8"
    }


def dependency_venv_ensure(group: DependencyGroup) -> Path:
    """Build (once, cached by requirements hash) the virtualenv of a dependency group; returns its folder.

    FLOWUI_VENVS_DIR/<requirements_hash>/bin/python is what the local runtime runs the group's operators with.
    Pydantic (the platform's version) is always installed: model.py and the runtime need it."""
    problems = requirements_errors(list(group.requirements))
    if problems:  # rows stored before the rule, or written around it, are never handed to pip
        raise DependencyVenvError(f"dependency group {group.name!r}: " + "; ".join(problems))
    venvs = Path(settings.FLOWUI_VENVS_DIR)
    venvs.mkdir(parents=True, exist_ok=True)
    path = venvs / group.requirements_hash
    ready = path / VENV_READY_MARKER
    if ready.exists():
        return path
    with open(venvs / f"{group.requirements_hash}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be building the same venv: wait for it
        if ready.exists():
            return path
        # Built aside and renamed when complete: the runtime uses <hash>/bin/python as soon as it exists.
        building = venvs / f".{group.requirements_hash}.building"
        shutil.rmtree(building, ignore_errors=True)
        shutil.rmtree(path, ignore_errors=True)
        requirements = list(group.requirements)
        if not any(re.match(r"^pydantic\b", line, re.IGNORECASE) for line in requirements):
            requirements.append(_platform_pydantic_requirement())
        try:
            subprocess.run(
                [sys.executable, "-m", "venv", str(building)],
                check=True,
                capture_output=True,
                timeout=300,
                env=_build_env(),
            )
            _venv_install(building, requirements)
        except subprocess.CalledProcessError as exc:
            shutil.rmtree(building, ignore_errors=True)
            tail = _text(exc.stderr or exc.stdout).strip().splitlines()[-3:]
            raise DependencyVenvError(
                f"dependency group {group.name!r}: building its virtualenv failed: {' / '.join(tail) or exc}"
            )
        except subprocess.TimeoutExpired:
            shutil.rmtree(building, ignore_errors=True)
            raise DependencyVenvError(f"dependency group {group.name!r}: pip install did not finish in time")
        except (sandbox.SandboxUnavailable, sandbox.SandboxError) as exc:
            shutil.rmtree(building, ignore_errors=True)
            raise DependencyVenvError(f"dependency group {group.name!r}: {exc}")
        (building / VENV_READY_MARKER).write_text("\n".join(requirements) + "\n")
        building.rename(path)
    return path


def _text(value: bytes | str | None) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else (value or "")


def _venv_install(venv: Path, requirements: list[str]) -> None:
    """Install the group's pinned requirements into `venv` inside the sandbox: wheels only (no package's
    build code runs), none of the platform's environment, network for the package index, the venv mounted
    where local tasks will see it (so its scripts name that path). uv shares the platform's download cache;
    wheels-only keeps anything built by a tenant out of it."""
    uv = Path(sys.executable).parent / "uv"  # installed by `make setup`: seconds where pip takes minutes
    if not sandbox.enabled():  # development only: the same wheels-only install, bare
        logger.warning("%s (venv build of %s)", sandbox.OFF_WARNING, venv.name)
        python = str(venv / "bin" / "python")
        bare = (
            [str(uv), "pip", "install", "-q", "--no-build", "--python", python]
            if uv.exists()
            else [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--only-binary=:all:"]
        )
        subprocess.run([*bare, *requirements], check=True, capture_output=True, timeout=1800, env=_build_env())
        return
    inside_python = f"{sandbox.INSIDE_VENV}/bin/python"
    env = {"PATH": f"{sandbox.INSIDE_VENV}/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8"}
    ro: list[tuple[str, str]] = []
    rw = [(str(venv), sandbox.INSIDE_VENV)]
    if uv.exists():
        cache = Path(settings.FLOWUI_UV_CACHE_DIR)
        cache.mkdir(parents=True, exist_ok=True)
        ro.append((str(uv.resolve()), "/flowui/bin/uv"))
        rw.append((str(cache), "/flowui/uv-cache"))
        env["UV_CACHE_DIR"] = "/flowui/uv-cache"
        env["UV_NATIVE_TLS"] = "true"  # the host's CA store (/etc/ssl is bound read-only), like pip
        command = ["/flowui/bin/uv", "pip", "install", "-q", "--no-build", "--python", inside_python]
    else:
        command = [inside_python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--only-binary=:all:"]
        if Path("/opt/wheels").is_dir():
            ro.append(("/opt/wheels", "/opt/wheels"))
            command += ["--find-links", "/opt/wheels"]
    box = sandbox.Sandbox(
        env=env, ro=ro, rw=rw, network=True, python_home=sandbox.python_home(str(venv / "bin" / "python")),
        limits=sandbox.Limits(memory_mb=4096, processes=512, file_size_mb=2048),
    )  # fmt: skip
    process = box.popen([*command, *requirements], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT)  # fmt: skip
    try:
        output, _ = process.communicate(timeout=1800)
    except subprocess.TimeoutExpired:
        process.kill_all()
        raise
    if process.returncode:  # communicate() waited for the process: its return code is set
        raise subprocess.CalledProcessError(process.returncode, command, output=output)


def dependency_venv_ready(group: DependencyGroup) -> bool:
    """True when the group needs no venv (no requirements) or its venv is built (the ready marker exists)."""
    if not group.requirements:
        return True
    return (Path(settings.FLOWUI_VENVS_DIR) / group.requirements_hash / VENV_READY_MARKER).exists()


def dependency_groups_unbuilt(operator_versions: Iterable[OperatorVersion]) -> list[DependencyGroup]:
    """The dependency groups of these operator versions whose venv a local run needs and is not built yet
    (none outside local mode: Batch and Kubernetes run the group's image). Builds are never done by the
    caller's request: a deploy waits for them in a Celery task (workflows.tasks.workflow_deploy_build)."""
    if settings.FLOWUI_DEPLOY_MODE != "local":
        return []
    groups = {v.dependency_group_id: v.dependency_group for v in operator_versions if v.dependency_group}
    return [group for _, group in sorted(groups.items()) if not dependency_venv_ready(group)]
