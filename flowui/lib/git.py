"""The git CLI, thinly: bare cache clones, refs, tags, tree hashes and folder exports.

Every failure becomes `GitError` with a readable reason (the access token never appears in it). A token is
handed to git through the environment (GIT_CONFIG_* -> http.extraHeader), never in a URL, an argument
(visible in `ps`) or a log line.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path


class GitError(Exception):
    """A git command failed; the message says why."""


_COMMIT_RE = re.compile(r"^[0-9a-f]{7,40}$")


@dataclass(frozen=True)
class Remote:
    """Where to fetch from. `protocols` set (e.g. ("https",)) makes it a restricted remote (tenant sources):
    git may use only those transports (GIT_ALLOW_PROTOCOL), follows no HTTP redirect, reads no user or system
    git config, fetches no submodules, and `resolve` ("host:port:address" entries for curl) pins the host's
    address that was checked, so a DNS answer that changes afterwards cannot send the fetch elsewhere."""

    url: str
    token: str = ""
    protocols: tuple[str, ...] = ()
    resolve: tuple[str, ...] = ()

    @property
    def restricted(self) -> bool:
        return bool(self.protocols)

    def config_args(self) -> list[str]:
        if not self.restricted:
            return []
        pairs = [
            ("protocol.allow", "never"),
            *((f"protocol.{name}.allow", "always") for name in self.protocols),
            ("protocol.file.allow", "never"),
            ("http.followRedirects", "false"),
            ("submodule.recurse", "false"),
            ("fetch.recurseSubmodules", "false"),
            ("credential.helper", ""),
            ("core.askPass", "/bin/true"),
            *(("http.curloptResolve", entry) for entry in self.resolve),
        ]
        return [arg for key, value in pairs for arg in ("-c", f"{key}={value}")]

    def env(self) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "LANG": "C.UTF-8",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "/bin/true",
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        if self.restricted:
            env.update(
                {
                    "GIT_ALLOW_PROTOCOL": ":".join(self.protocols),
                    "GIT_CONFIG_GLOBAL": "/dev/null",
                    "GIT_PROTOCOL_FROM_USER": "0",
                    "HOME": "/nonexistent",
                }
            )
        if self.token:
            basic = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
            env.update(
                {
                    "GIT_CONFIG_COUNT": "1",
                    "GIT_CONFIG_KEY_0": "http.extraHeader",
                    "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
                }
            )
        return env

    def scrub(self, text: str) -> str:
        if self.token:
            text = text.replace(self.token, "***")
            text = text.replace(base64.b64encode(f"x-access-token:{self.token}".encode()).decode(), "***")
        return text


def _run(args: list[str], *, cwd: Path | None, remote: Remote, timeout_s: float, what: str) -> str:
    """git's output as text (undecodable bytes replaced); GitError naming `what` when git fails."""
    output = _run_bytes(args, cwd=cwd, remote=remote, timeout_s=timeout_s, what=what)
    return output.decode("utf-8", "replace")


def _run_bytes(args: list[str], *, cwd: Path | None, remote: Remote, timeout_s: float, what: str) -> bytes:
    try:
        result = subprocess.run(
            ["git", *remote.config_args(), *args],
            cwd=cwd,
            env=remote.env(),
            capture_output=True,
            timeout=timeout_s,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"{what}: git did not answer within {timeout_s:g} s")
    except OSError as exc:
        raise GitError(f"{what}: cannot run git ({exc.strerror})")
    if result.returncode != 0:
        stderr = result.stderr.decode("utf-8", "replace").strip()
        lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("hint:")]
        reason = remote.scrub(" / ".join(lines[-3:]) or f"exit code {result.returncode}")
        raise GitError(f"{what}: {reason}")
    return result.stdout


def cache_path(cache_dir: Path, key: str) -> Path:
    return Path(cache_dir) / f"{key}.git"


def fetch(*, cache_dir: Path, key: str, remote: Remote, timeout_s: float = 120) -> Path:
    """Bring the bare cache clone `cache_dir/key.git` up to date with all branches and tags of the remote."""
    path = cache_path(cache_dir, key)
    if not (path / "HEAD").exists():
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True, exist_ok=True)
        _run(["init", "-q", "--bare"], cwd=path, remote=remote, timeout_s=30, what="git init")
    _run(
        [
            "fetch",
            "-q",
            "--force",
            "--prune",
            "--no-auto-gc",
            "--no-recurse-submodules",
            remote.url,
            "+refs/heads/*:refs/heads/*",
            "+refs/tags/*:refs/tags/*",
        ],
        cwd=path,
        remote=remote,
        timeout_s=timeout_s,
        what=f"fetching {remote.scrub(remote.url)}",
    )
    return path


def resolve(*, repo: Path, ref: str) -> str:
    """A tag, branch or (abbreviated) commit -> the full commit hash."""
    remote = Remote(url="")
    candidates = [f"refs/tags/{ref}", f"refs/heads/{ref}"]
    if _COMMIT_RE.match(ref):
        candidates.append(ref)
    candidates.append(ref)
    for candidate in candidates:
        try:
            return _run(
                ["rev-parse", "--verify", "-q", f"{candidate}^{{commit}}"],
                cwd=repo,
                remote=remote,
                timeout_s=30,
                what="rev-parse",
            ).strip()
        except GitError:
            continue
    raise GitError(f"ref {ref!r} not found (no such tag, branch or commit)")


def tags(*, repo: Path) -> list[str]:
    """Tags, newest version first."""
    out = _run(["tag", "--list", "--sort=-v:refname"], cwd=repo, remote=Remote(url=""), timeout_s=30, what="git tag")
    return [line.strip() for line in out.splitlines() if line.strip()]


def tree_entries(*, repo: Path, commit: str, folder: str) -> dict[str, tuple[str, str]]:
    """Entries of `folder` at `commit`: {name: (type 'tree'|'blob', object hash)}. Empty if the folder is absent."""
    out = _run(
        ["ls-tree", commit, f"{folder.rstrip('/')}/"], cwd=repo, remote=Remote(url=""), timeout_s=30, what="ls-tree"
    )
    entries = {}
    for line in out.splitlines():
        meta, _, path = line.partition("\t")
        parts = meta.split()
        if len(parts) == 3:
            entries[path.rsplit("/", 1)[-1]] = (parts[1], parts[2])
    return entries


def file_text(*, repo: Path, commit: str, path: str) -> str | None:
    """The text of `path` at `commit`, None when it does not exist."""
    try:
        return _run(["show", f"{commit}:{path}"], cwd=repo, remote=Remote(url=""), timeout_s=30, what="git show")
    except GitError:
        return None


def export(*, repo: Path, commit: str, paths: list[str], destination: Path) -> None:
    """Write `paths` (folders or files) as they are at `commit` under `destination` (keeping their paths)."""
    if not paths:
        return
    data = _run_bytes(
        ["archive", "--format=tar", commit, "--", *paths],
        cwd=repo,
        remote=Remote(url=""),
        timeout_s=120,
        what="git archive",
    )
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        archive.extractall(destination, filter="data")
