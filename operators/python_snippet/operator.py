"""Run a user-supplied Python snippet.

The code is UNTRUSTED: it is whatever a workflow author typed. It runs in a separate Python process
(`-I`: no user site, no PYTHON* variables, no script folder on sys.path) with a clean environment (no
secrets or cloud credentials are passed on), the run folder as working directory, a wall-clock timeout
that kills its whole process group, and an address-space limit. This operator itself already runs
outside the web process (a task subprocess, a Batch job or a pod); the child process is the second wall.
"""

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from model import InputModel, OutputModel

TAIL_CHARS = 100_000
PASSED_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "FLOWUI_RUN_DIR", "FLOWUI_STORAGE_ROOT")

RUNNER = r"""
import json, sys
variables_file, code_file, result_file, result_variable = sys.argv[1:5]
with open(variables_file, encoding="utf-8") as handle:
    namespace = json.load(handle)
namespace["__name__"] = "__main__"
with open(code_file, encoding="utf-8") as handle:
    code = compile(handle.read(), "snippet.py", "exec")
exec(code, namespace)
value = namespace.get(result_variable)
with open(result_file, "w", encoding="utf-8") as handle:
    json.dump({"result": value}, handle, default=str)
"""


def operator_function(input_model: InputModel) -> OutputModel:
    if os.environ.get("FLOWUI_UNSANDBOXED") == "1":
        # The platform marks runs outside its sandbox (FLOWUI_SANDBOX=off, `run` without --sandbox).
        raise RuntimeError(
            "python_snippet runs untrusted code and only runs sandboxed: turn the platform's sandbox on "
            "(FLOWUI_SANDBOX) or use `run --sandbox`"
        )
    run_dir = Path(os.environ.get("FLOWUI_RUN_DIR") or os.getcwd()).resolve()
    work = run_dir / ".snippet"
    work.mkdir(exist_ok=True)
    code_file, variables_file, result_file = work / "snippet.py", work / "variables.json", work / "result.json"
    code_file.write_text(input_model.code, encoding="utf-8")
    variables_file.write_text(json.dumps(input_model.variables), encoding="utf-8")
    result_file.unlink(missing_ok=True)

    env = {name: os.environ[name] for name in PASSED_ENV if name in os.environ}
    env.update({"HOME": str(run_dir), "TMPDIR": str(work), "PYTHONDONTWRITEBYTECODE": "1"})
    limit = input_model.memory_limit_mb * 1024 * 1024

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603 - fixed argv; the untrusted part is a file argument
        [
            sys.executable,
            "-I",
            "-c",
            RUNNER,
            str(variables_file),
            str(code_file),
            str(result_file),
            input_model.result_variable,
        ],
        cwd=run_dir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the timeout kills what it started too
        preexec_fn=limit_memory,  # noqa: PLW1509 - only sets an rlimit
    )
    try:
        stdout, stderr = process.communicate(timeout=input_model.timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        process.communicate()
        raise TimeoutError(f"the snippet did not finish within {input_model.timeout_s:g} s and was stopped") from None
    finally:
        if process.poll() is None:
            _kill_group(process)
    duration = round(time.monotonic() - started, 3)
    out_text = stdout.decode("utf-8", errors="replace")[-TAIL_CHARS:]
    err_text = stderr.decode("utf-8", errors="replace")[-TAIL_CHARS:]
    if process.returncode != 0:
        detail = err_text.strip().splitlines()
        if process.returncode < 0:
            reason = f"was killed by signal {-process.returncode}"
        else:
            reason = f"failed (exit code {process.returncode})"
        last = f": {detail[-1]}" if detail else ""
        raise RuntimeError(f"the snippet {reason}{last}\n{err_text[-4000:]}")
    result = json.loads(result_file.read_text(encoding="utf-8"))["result"]
    shutil.rmtree(work, ignore_errors=True)  # kept on failure, for a look at what ran
    return OutputModel(result=result, stdout=out_text, stderr=err_text, duration_s=duration)


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
