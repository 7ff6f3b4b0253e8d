"""Start and stop background processes, each in its own process group, tracked by pid files."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); reap it if it is ours.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def start(name: str, argv: list[str], *, run_dir: Path, env: dict[str, str], cwd: Path | None = None) -> int:
    """Start `argv` detached (own session), output to run_dir/name.log, pid in run_dir/name.pid."""
    run_dir.mkdir(parents=True, exist_ok=True)
    log = open(run_dir / f"{name}.log", "ab")
    proc = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
    )
    log.close()
    (run_dir / f"{name}.pid").write_text(str(proc.pid))
    return proc.pid


def running_pid(name: str, run_dir: Path) -> int | None:
    pid_file = run_dir / f"{name}.pid"
    if not pid_file.exists():
        return None
    try:
        pid = int(pid_file.read_text().strip())
    except ValueError:
        return None
    return pid if pid_alive(pid) else None


def stop(name: str, run_dir: Path, grace_s: float = 15.0) -> bool:
    """SIGTERM the process group, SIGKILL it after `grace_s`. Returns True if something was stopped."""
    pid_file = run_dir / f"{name}.pid"
    pid = running_pid(name, run_dir)
    pid_file.unlink(missing_ok=True)
    if pid is None:
        return False
    _signal_group(pid, signal.SIGTERM)
    _signal_group(pid, signal.SIGCONT)  # a stopped (hung, SIGSTOPped) process handles SIGTERM only once continued
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            break
        time.sleep(0.2)
    # Children (Airflow's task supervisors, gunicorn workers) may outlive the leader: kill what is left.
    _signal_group(pid, signal.SIGKILL)
    deadline = time.monotonic() + 2
    while pid_alive(pid) and time.monotonic() < deadline:  # reap it (no zombie left behind when it is our child)
        time.sleep(0.05)
    return True


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
