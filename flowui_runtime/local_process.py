"""The local-mode child process of a FlowUI task: started fresh (popen_entrypoint) or forked from the task
process (fork_entrypoint, FLOWUI_LOCAL_FORK=true), its output streamed into the task log and log.txt with secrets
masked (run_streaming), its process group killed on timeout or when Airflow kills the task (kill_process_group).

Split out of flowui_runtime/airflow_operator.py (FlowUIOperator), which uses these; imports nothing from Django.
"""

from __future__ import annotations

import fcntl
import gc
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from airflow.sdk.exceptions import AirflowException

from flowui_runtime import safefs
from flowui_runtime.secrets import mask

_KILL_GRACE_S = 5.0


def popen_entrypoint(command: list[str], *, env: dict[str, str], cwd: Path) -> tuple[Any, IO[str]]:
    """A fresh interpreter (a dependency group's virtualenv, or Airflow's unless FLOWUI_LOCAL_FORK=true)."""
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True, text=True, errors="replace", bufsize=1,
    )  # fmt: skip
    assert process.stdout is not None
    return process, process.stdout


class ForkedProcess:
    """The part of Popen's interface run_streaming and kill_process_group use, for a forked child."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = -1
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired("flowui entrypoint", timeout or 0)
            time.sleep(0.01)
        return self.returncode  # type: ignore[return-value]


def fork_entrypoint(*, operator_dir: Path, input_file: Path, run_dir: Path, env: dict[str, str]) -> tuple[Any, IO[str]]:
    """Run the entrypoint in a child forked from this (Airflow task) process.

    When the operator runs with Airflow's own interpreter anyway, a fresh `python -m flowui_runtime` spends
    most of its time importing pydantic, which this process has already imported: forking skips that (the
    difference between ~1.5x and ~1.1x the cost of a bare PythonOperator). The child gets what a fresh
    process would: its own process group, the same clean environment (os.environ replaced), the run folder
    as working directory, stdin from /dev/null, stdout+stderr into the pipe, every other inherited file
    descriptor closed (no channel to Airflow's supervisor), default signal handlers, and it leaves through
    os._exit without running Airflow's exit handlers. It does share this process's memory image: set
    Opt-in with FLOWUI_LOCAL_FORK=true (trusted operators only: the child can read the worker's memory).
    """
    from flowui_runtime import entrypoint

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 70
        # Airflow may run tasks with fd 0, 1 or 2 closed, so the pipe can sit on one of them: move it above 2
        # before wiring up the standard descriptors.
        pipe_out = fcntl.fcntl(write_fd, fcntl.F_DUPFD, 3)
        # Nothing inherited from Airflow may be finalised in the child: closing one of its file objects would
        # close whatever descriptor the operator has opened under the same number since (or the pipe, for
        # the sys.std* objects swapped below). Keep the streams referenced; keep the cycle collector off them.
        _inherited_streams = (sys.stdin, sys.stdout, sys.stderr)
        gc.freeze()
        try:
            os.setpgid(0, 0)
            for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
                signal.signal(number, signal.SIG_DFL)
            devnull = fcntl.fcntl(os.open(os.devnull, os.O_RDONLY), fcntl.F_DUPFD, 3)
            os.dup2(devnull, 0)
            os.dup2(pipe_out, 1)
            os.dup2(pipe_out, 2)
            os.closerange(3, 1 << 16)
            pipe_out = 2
            sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
            sys.stdout = open(1, "w", encoding="utf-8", errors="replace", buffering=1, closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", encoding="utf-8", errors="replace", buffering=1, closefd=False)  # noqa: SIM115
            os.environ.clear()
            os.environ.update(env)
            os.chdir(run_dir)
            code = entrypoint.run(operator_dir=operator_dir, input_file=input_file, run_dir=run_dir)
        except BaseException:  # noqa: B036 - whatever happens, the child must not return into Airflow
            try:
                import traceback

                os.write(pipe_out, ("FlowUI: the forked entrypoint failed:\n" + traceback.format_exc()).encode())
            except BaseException:  # noqa: B036, S110
                pass
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    try:
        os.setpgid(pid, pid)  # also from the parent: no window in which a kill could hit Airflow's group
    except OSError:
        pass  # the child already did it, or already exited
    os.close(write_fd)
    return ForkedProcess(pid), os.fdopen(read_fd, "r", encoding="utf-8", errors="replace")


def run_streaming(
    start: Any,
    *,
    description: str,
    timeout_s: float,
    log: Any,
    log_file: Path,
    on_start: Any = None,
    secrets: dict[str, str] | None = None,
) -> int:
    """Start the entrypoint (`start()` returns the process and its merged output stream) in its own process
    group; stream its output to `log` and `log_file` with the `secrets` values masked; kill the group after
    `timeout_s` and raise."""
    with safefs.open_append(log_file) as sink:
        sink.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {description}\n")
        sink.flush()
        process, stream = start()
        if on_start is not None:
            on_start(process)

        def pump() -> None:
            for line in stream:
                if secrets:
                    line = mask(line, secrets)
                sink.write(line)
                sink.flush()
                log.info("%s", line.rstrip("\n"))

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        try:
            exit_code = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            kill_process_group(process)
            reader.join(timeout=5)
            message = f"timed out after {timeout_s:g} s: the operator's processes were killed"
            sink.write(message + "\n")
            log.error("FlowUI: %s", message)  # the exception text alone is not a log line in Airflow 3
            raise AirflowException(message) from None
        reader.join(timeout=10)
        stream.close()
    if exit_code != 0:
        log.error("FlowUI: the operator process exited with code %s", exit_code)
    return exit_code


def kill_process_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=_KILL_GRACE_S)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # stragglers the operator started in its group
    except ProcessLookupError:
        pass
    process.wait()
