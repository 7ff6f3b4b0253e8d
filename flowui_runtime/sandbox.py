"""The sandbox for tenant code on platform hosts: bubblewrap (`bwrap`), plus slirp4netns for declared network.

Every piece of tenant code that runs on a platform host goes through `Sandbox.popen()`: local-mode tasks
(FlowUIOperator), schema extraction during a registry sync, dependency venv builds and `flowui-operator run
--sandbox`. What the code inside gets:

- its own user (uid/gid 65534, no capabilities), pid, ipc, uts, cgroup and network namespaces; `/proc` of its
  own pid namespace only; no `/sys`; a minimal `/dev`; a private tmpfs `/tmp` (also HOME);
- read-only: the system folders (`/usr` and the host's `/bin`, `/lib*` links), an allow-list of `/etc` files,
  the Python installation the interpreter comes from, and whatever the caller binds (operator code, the venv,
  the runtime package, the tenant's storage); read-write only what the caller binds writable (a task's own run
  folder). Nothing else of the host exists inside: no other tenant, no DAG folder, no platform checkout, no
  `var/`, no git cache;
- the environment the caller gives, nothing inherited (bwrap itself starts with that environment);
- limits: address space (memory), number of processes (a pids cgroup where the host lets us create one,
  else RLIMIT_NPROC), file size, no core files; the caller keeps its wall-clock timeout and kills the process
  group, and `--die-with-parent` takes the whole pid namespace down with it;
- network: none (a namespace with only its own loopback), unless `network=True`: then slirp4netns gives the
  namespace outbound access through user-mode networking with the host's loopback disabled, and routes inside
  the namespace refuse loopback, private, CGNAT, link-local (169.254.0.0/16, cloud metadata), multicast and
  reserved ranges and every address of the host itself, so platform services stay out of reach.

FLOWUI_SANDBOX=off runs the command without any of this (development only; callers log a warning each time).
Imports nothing from Django or Airflow.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowui_runtime.sandbox_network import SLIRP_DNS, NetworkSetupError, network_up

# Neutral paths inside the sandbox: no host path of the platform is shown to tenant code.
INSIDE_ROOT = "/flowui"
INSIDE_RUNTIME = f"{INSIDE_ROOT}/runtime"  # holds only the flowui_runtime package
INSIDE_VENV = f"{INSIDE_ROOT}/venv"
INSIDE_STORAGE = f"{INSIDE_ROOT}/storage"
INSIDE_OPERATORS = f"{INSIDE_ROOT}/operators"
SANDBOX_UID = 65534

RUNTIME_PACKAGE_DIR = Path(__file__).resolve().parent
# What of /etc tenant code may read: name resolution, certificates, time zones, MIME types, the loader.
ETC_ALLOWED = (
    "alternatives", "ca-certificates", "ca-certificates.conf", "fonts", "gai.conf", "host.conf", "hosts",
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "mime.types", "nsswitch.conf", "protocols",
    "services", "ssl", "timezone", "xdg/pip", "pip.conf",
)  # fmt: skip
_MODE_ENV = "FLOWUI_SANDBOX"


class SandboxUnavailable(Exception):
    """The sandbox cannot be used on this host (bubblewrap missing or not working)."""


class SandboxError(Exception):
    """The sandbox could not be set up for one command (network plumbing failed, ...)."""


def enabled() -> bool:
    """False only when FLOWUI_SANDBOX=off (development only)."""
    value = os.environ.get(_MODE_ENV, "on").strip().lower()
    return value not in ("off", "false", "0", "no")


OFF_WARNING = (
    "FLOWUI_SANDBOX=off: tenant code runs WITHOUT the sandbox (development only; it can read the host's "
    "files and reach platform services)"
)

_checked: dict[str, str | None] = {}


def check_available(*, network: bool = False, probe: bool = False) -> None:
    """Raise SandboxUnavailable with a fix when bubblewrap (and slirp4netns for network) is missing; with
    probe=True (start-up checks) also start a sandbox once. Tasks skip the probe: each runs in a fresh
    process, and a bwrap that cannot start says why in the task's log anyway."""
    key = f"network={network} probe={probe}"
    if key not in _checked:
        _checked[key] = _missing(network=network) or (_probe() if probe else None)
    if _checked[key]:
        raise SandboxUnavailable(_checked[key])


def _missing(*, network: bool) -> str | None:
    if shutil.which("bwrap") is None:
        return (
            "the sandbox for tenant code needs bubblewrap, which is not installed: apt-get install bubblewrap "
            "(FLOWUI_SANDBOX=off turns the sandbox off, for development only)"
        )
    if network and shutil.which("slirp4netns") is None:
        return "operators that declare network access need slirp4netns: apt-get install slirp4netns"
    return None


def _probe() -> str | None:
    try:
        process = Sandbox(env={"PATH": "/usr/bin:/bin"})._start(
            ["/bin/true"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        _, stderr = process.communicate(timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bubblewrap does not start: {exc}"
    if process.returncode != 0:
        detail = (stderr or "").strip().splitlines()[-1:] or ["no message"]
        return f"bubblewrap cannot create its namespaces here: {detail[0]}"
    return None


@dataclass
class Limits:
    memory_mb: int = 2048
    processes: int = 256
    file_size_mb: int = 1024


@dataclass
class Sandbox:
    """One sandboxed command. Paths are (host path, path inside); `python` is the interpreter's host path
    when the command runs Python (its installation is bound read-only so a venv's base interpreter works)."""

    env: dict[str, str]
    ro: list[tuple[str, str]] = field(default_factory=list)
    rw: list[tuple[str, str]] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # inside path -> content (read-only)
    cwd: str = "/tmp"
    network: bool = False
    limits: Limits = field(default_factory=Limits)
    python_home: str | None = None  # host folder of the base Python installation to bind read-only

    def command(self, argv: list[str], *, block_fd: int | None = None) -> list[str]:
        """The bwrap command line. With network, bwrap keeps the network namespace it is started in (made
        by `unshare --net` in popen(), owned by the host's user namespace so tenant code cannot change its
        routes) instead of making an empty one."""
        args = [
            shutil.which("bwrap") or "bwrap",
            "--unshare-all", *(["--share-net"] if self.network else []), "--die-with-parent", "--cap-drop", "ALL",
            "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--hostname", "flowui-sandbox",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
            "--ro-bind", "/usr", "/usr",
        ]  # fmt: skip
        for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
            if os.path.islink(top):
                args += ["--symlink", os.readlink(top), top]
            elif os.path.isdir(top):
                args += ["--ro-bind", top, top]
        for name in ETC_ALLOWED:
            host = f"/etc/{name}"
            if os.path.lexists(host):
                args += ["--ro-bind-try", host, host]
        args += ["--ro-bind-data", "0", "/etc/passwd", "--ro-bind-data", "0", "/etc/group"]  # see _data_fds
        if self.python_home and not self.python_home.startswith("/usr/"):
            args += ["--ro-bind", self.python_home, self.python_home]
        for host, inside in self.ro:
            args += ["--ro-bind", str(host), inside]
        for host, inside in self.rw:
            args += ["--bind", str(host), inside]
        for inside in self.files:
            args += ["--ro-bind-data", "0", inside]
        if self.network:
            args += ["--ro-bind-data", "0", "/etc/resolv.conf"]
        if block_fd is not None:
            args += ["--block-fd", str(block_fd)]
        args += ["--chdir", self.cwd, "--", *argv]
        return args

    def _data_files(self) -> list[str]:
        """Contents for the --ro-bind-data arguments, in the order command() emits them."""
        contents = [
            f"root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:{SANDBOX_UID}:{SANDBOX_UID}:nobody:/tmp:/usr/sbin/nologin\n",
            f"root:x:0:\nnogroup:x:{SANDBOX_UID}:\n",
            *self.files.values(),
        ]
        if self.network:
            contents.append(f"nameserver {SLIRP_DNS}\n")
        return contents

    def popen(self, argv: list[str], **kwargs: Any) -> SandboxedProcess:
        """Start argv in the sandbox (kwargs go to subprocess.Popen: stdout, stderr, text, ...). The result
        behaves like a Popen; its process group is the caller's to kill (start_new_session is set)."""
        if not enabled():
            # argv names paths inside the sandbox: callers that honour FLOWUI_SANDBOX=off run their own
            # host command instead of getting this one run bare with paths that do not exist.
            raise SandboxUnavailable(f"{OFF_WARNING}: this command only runs in the sandbox")
        check_available(network=self.network)
        return self._start(argv, **kwargs)

    def _start(self, argv: list[str], **kwargs: Any) -> SandboxedProcess:
        data_fds = []
        command_args: list[str] = []
        block_r = block_w = None
        try:
            if self.network:
                block_r, block_w = os.pipe()
            command_args = self.command(argv, block_fd=block_r)
            # Each --ro-bind-data reads its own descriptor: give them real numbers now.
            contents = self._data_files()
            position = 0
            for index, arg in enumerate(command_args):
                if arg == "--ro-bind-data":
                    data_fd = _data_fd(contents[position])
                    data_fds.append(data_fd)
                    command_args[index + 1] = str(data_fd)
                    position += 1
            if self.network:
                command_args = [shutil.which("unshare") or "unshare", "--net", "--", *command_args]
            cgroup = _Cgroup.create(self.limits)
            process = subprocess.Popen(
                command_args,
                env=self.env,
                cwd="/",
                start_new_session=True,
                pass_fds=[fd for fd in (*data_fds, block_r) if fd is not None],
                preexec_fn=_limiter(self.limits, cgroup),
                **kwargs,
            )
        finally:
            for fd in (*data_fds, block_r):
                if fd is not None:
                    os.close(fd)
        sandboxed = SandboxedProcess(process, cgroup=cgroup)
        if self.network:
            try:
                sandboxed.network = network_up(process.pid, block_w)
            except NetworkSetupError as exc:
                sandboxed.kill_all()
                raise SandboxError(str(exc)) from None
            except BaseException:
                sandboxed.kill_all()
                raise
        return sandboxed


def _data_fd(content: str) -> int:
    """A readable descriptor holding `content` (a deleted temp file: no size limit, unlike a pipe)."""
    handle = tempfile.TemporaryFile()
    handle.write(content.encode())
    handle.seek(0)
    fd = os.dup(handle.fileno())
    handle.close()
    return fd


class _Cgroup:
    """A pids (and memory) cgroup for one sandbox where the host lets root create one; else nothing."""

    def __init__(self, paths: list[Path]):
        self.paths = paths

    @classmethod
    def create(cls, limits: Limits) -> _Cgroup | None:
        if os.geteuid() != 0:
            return None
        name = f"flowui-{uuid.uuid4().hex[:12]}"
        created: list[Path] = []
        for controller, settings in (
            ("pids", {"pids.max": str(limits.processes)}),
            ("memory", {"memory.limit_in_bytes": str(limits.memory_mb * 1024 * 1024)}),
        ):
            base = Path("/sys/fs/cgroup") / controller
            if not (base / "cgroup.procs").exists():
                continue
            path = base / name
            try:
                path.mkdir()
                created.append(path)
                for key, value in settings.items():
                    (path / key).write_text(value)
            except OSError:
                continue
        return cls(created) if created else None

    def remove(self) -> None:
        for path in self.paths:
            try:
                path.rmdir()
            except OSError:
                pass


def _limiter(limits: Limits, cgroup: _Cgroup | None):
    def apply() -> None:  # in the child, before exec: inherited by bwrap and everything it starts
        if cgroup is not None:
            for path in cgroup.paths:
                try:
                    (path / "cgroup.procs").write_text("0")
                except OSError:
                    pass
        memory = limits.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        size = limits.file_size_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))

    return apply


class SandboxedProcess:
    """A Popen of bwrap plus what came with it (the network helper, the cgroup); Popen's interface."""

    def __init__(self, process: subprocess.Popen, *, cgroup: _Cgroup | None = None):
        self.process = process
        self.cgroup = cgroup
        self.network: subprocess.Popen | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.process, name)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def poll(self) -> int | None:
        code = self.process.poll()
        if code is not None:
            self._cleanup()
        return code

    def wait(self, timeout: float | None = None) -> int:
        code = self.process.wait(timeout=timeout)
        self._cleanup()
        return code

    def kill_all(self) -> None:
        try:
            os.killpg(self.process.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        self._cleanup()

    def _cleanup(self) -> None:
        if self.network is not None and self.network.poll() is None:
            self.network.terminate()
            try:
                self.network.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.network.kill()
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None


def python_home(python: str) -> str:
    """The base installation of an interpreter (a venv's python is a link into it)."""
    real = Path(os.path.realpath(python))
    return str(real.parent.parent)


def python_sandbox(
    *,
    python: str,
    env: dict[str, str],
    venv: str | None = None,
    ro: list[tuple[str, str]] | None = None,
    rw: list[tuple[str, str]] | None = None,
    cwd: str = "/tmp",
    network: bool = False,
    limits: Limits | None = None,
) -> tuple[Sandbox, str]:
    """A sandbox for a Python command: the runtime package at INSIDE_RUNTIME, the venv (when given) at
    INSIDE_VENV. Returns the sandbox and the interpreter path to use inside."""
    binds = [(str(RUNTIME_PACKAGE_DIR), f"{INSIDE_RUNTIME}/flowui_runtime")]
    inside_python = python
    if venv:
        binds.append((venv, INSIDE_VENV))
        inside_python = f"{INSIDE_VENV}/bin/python"
    else:
        inside_python = os.path.realpath(python)
    full_env = {
        "PATH": f"{INSIDE_VENV}/bin:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONPATH": INSIDE_RUNTIME,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        **env,
    }
    sandbox = Sandbox(
        env=full_env,
        ro=binds + list(ro or []),
        rw=list(rw or []),
        cwd=cwd,
        network=network,
        limits=limits or Limits(),
        python_home=python_home(python),
    )
    return sandbox, inside_python


def venv_of(python: str) -> str | None:
    """The virtualenv folder of an interpreter path (…/bin/python with a pyvenv.cfg beside bin), if any."""
    folder = Path(python).parent.parent
    return str(folder) if (folder / "pyvenv.cfg").is_file() else None


if __name__ == "__main__":  # python -m flowui_runtime.sandbox: is the sandbox usable here?
    try:
        check_available(network="--network" in sys.argv, probe=True)
    except SandboxUnavailable as exc:
        print(f"flowui: {exc}", file=sys.stderr)
        sys.exit(1)
    print("flowui: sandbox ok")
