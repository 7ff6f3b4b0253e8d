"""Schema extraction in a sandbox: import an operator's model.py in a separate process and read its models.

`python -m flowui_runtime.inspect OPERATOR_DIR` prints one JSON object: {"ok", "input_schema",
"output_schema", "secrets_schema", "error"}.

The registry sync uses `extract_schemas()`: it starts a few processes (parallel workers), each inspecting a
batch of operators one after another and writing one JSON line per operator. Each process runs in the
bubblewrap sandbox (flowui_runtime.sandbox: the operator folders read-only, no network, a private /tmp, none
of the platform's files, own user and pid namespaces) with a time limit per operator (the process group is
killed), an address-space limit (RLIMIT_AS) and a clean environment (only PATH, LANG, HOME=/tmp). A hanging
or crashing operator fails alone: the rest of its batch continues in a fresh process.

Imports nothing from Django; the child side imports only the standard library and pydantic.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty, Queue
from typing import Any

from flowui_runtime import sandbox


def with_field_order(schema: dict) -> dict:
    """The schema with each object's property names also listed in declaration order under `x-order`: the
    platform stores schemas in PostgreSQL jsonb, which does not keep key order, and the editor shows fields in
    the order the model declares them (flowui.forms_jsonschema_schema.ordered_properties)."""
    objects = [schema, *((schema.get("$defs") or {}).values())]
    for item in objects:
        if isinstance(item, dict) and isinstance(item.get("properties"), dict):
            item["x-order"] = list(item["properties"])
    return schema


MODEL_NAMES = {"input_schema": "InputModel", "output_schema": "OutputModel", "secrets_schema": "SecretsModel"}
MAX_ERROR_CHARS = 2000
STDERR_MARKER = "--flowui-inspect: next operator--"
RUNTIME_PACKAGE_DIR = Path(__file__).resolve().parent

# Runs first in the sandbox: limits, then the runtime package from a folder holding only it.
_BOOTSTRAP = (
    "import resource, sys\n"
    "limit = int(sys.argv[2]) * 1024 * 1024\n"
    "resource.setrlimit(resource.RLIMIT_AS, (limit, limit))\n"
    "resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024 * 1024, 64 * 1024 * 1024))\n"
    "resource.setrlimit(resource.RLIMIT_CORE, (0, 0))\n"
    "sys.path.insert(0, sys.argv[1])\n"
    "from flowui_runtime.inspect import child_main\n"
    "child_main(sys.argv[3:])\n"
)


# --- the sandboxed side -----------------------------------------------------------------------
def _error_text(exc: BaseException, operator_dir: Path) -> str:
    """`model.py line 3: ZeroDivisionError: division by zero` (the deepest frame inside the operator)."""
    where = "model.py"
    for frame in traceback.extract_tb(exc.__traceback__):
        try:
            if Path(frame.filename).resolve().is_relative_to(operator_dir):
                where = f"{Path(frame.filename).name} line {frame.lineno}"
        except (OSError, ValueError):
            continue
    if isinstance(exc, MemoryError):
        return f"{where}: MemoryError: importing model.py exceeded the sandbox memory limit"
    if isinstance(exc, SystemExit):
        return f"{where}: called exit({exc.code!r}) while being imported"
    message = str(exc).strip()
    return f"{where}: {type(exc).__name__}{': ' + message if message else ''}"[:MAX_ERROR_CHARS]


def inspect_operator(operator_dir: Path) -> dict:
    """Import operator_dir/model.py and return the JSON Schemas of its models (or a readable error)."""
    import importlib.util

    from pydantic import BaseModel

    operator_dir = Path(operator_dir).resolve()
    result: dict = {"ok": False, "input_schema": None, "output_schema": None, "secrets_schema": None, "error": None}
    sys.path.insert(0, str(operator_dir))
    try:
        spec = importlib.util.spec_from_file_location("model", operator_dir / "model.py")
        if spec is None or spec.loader is None:
            result["error"] = "model.py cannot be loaded"
            return result
        module = importlib.util.module_from_spec(spec)
        sys.modules["model"] = module
        try:
            spec.loader.exec_module(module)
        except BaseException as exc:  # noqa: BLE001 - anything the operator does is its own error
            result["error"] = _error_text(exc, operator_dir)
            return result
        for key, class_name in MODEL_NAMES.items():
            model = getattr(module, class_name, None)
            if model is None:
                if class_name == "InputModel":
                    result["error"] = "model.py does not define InputModel (a pydantic BaseModel)"
                    return result
                continue
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                result["error"] = f"model.py: {class_name} is not a pydantic BaseModel subclass"
                return result
            try:
                schema = with_field_order(model.model_json_schema())
                json.dumps(schema)
            except Exception as exc:  # noqa: BLE001
                result["error"] = f"model.py: {class_name} has no JSON Schema: {type(exc).__name__}: {exc}"[
                    :MAX_ERROR_CHARS
                ]
                return result
            result[key] = schema
        result["ok"] = True
        return result
    finally:
        sys.path.remove(str(operator_dir))
        # Forget this operator's modules so the next operator in the batch imports its own model.py/helpers.
        for name, module in list(sys.modules.items()):
            module_file = getattr(module, "__file__", None) or ""
            if name == "model" or (module_file and module_file.startswith(str(operator_dir) + os.sep)):
                sys.modules.pop(name, None)


def child_main(operator_dirs: list[str]) -> None:
    """One JSON line per operator on the original stdout; the operators' own prints go to stderr."""
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    for operator_dir in operator_dirs:
        sys.stderr.write(f"\n{STDERR_MARKER}\n")
        sys.stderr.flush()
        started = time.monotonic()
        try:
            result = inspect_operator(Path(operator_dir))
        except BaseException as exc:  # noqa: BLE001
            result = {"ok": False, "error": f"inspection failed: {type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]}
        result["duration_s"] = round(time.monotonic() - started, 4)
        try:
            line = json.dumps(result)
        except (TypeError, ValueError) as exc:
            line = json.dumps({"ok": False, "error": f"schemas are not JSON serialisable: {exc}"})
        protocol.write(line + "\n")
        protocol.flush()


# --- the platform side ------------------------------------------------------------------------
@dataclass
class InspectJob:
    key: str
    operator_dir: Path
    python: str = sys.executable


@dataclass
class InspectResult:
    key: str
    ok: bool
    input_schema: dict | None = None
    output_schema: dict | None = None
    secrets_schema: dict | None = None
    error: str | None = None
    duration_s: float = 0.0
    extra: dict = field(default_factory=dict)


def sandbox_env(home: str) -> dict[str, str]:
    """The whole environment of the sandbox: nothing inherited from the platform."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": home,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
    }


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()


def _stderr_tail(stderr_file) -> str:
    try:
        stderr_file.seek(0, os.SEEK_END)
        size = stderr_file.tell()
        stderr_file.seek(max(0, size - 4000))
        text = stderr_file.read().decode("utf-8", "replace")
        # Only what the failing operator printed (the batch's earlier operators wrote before the marker).
        return text.rsplit(STDERR_MARKER, 1)[-1].strip()
    except OSError:
        return ""


def _start_batch(
    jobs: list[InspectJob], *, lib_dir: str, work: str, memory_mb: int, stderr: Any, sandboxed: bool
) -> Any:
    """One inspection process for `jobs`: in the bubblewrap sandbox (operator folders read-only, no network,
    private /tmp, nothing of the host's platform files), or a bare process when FLOWUI_SANDBOX=off."""
    python = jobs[0].python
    if not (sandboxed and sandbox.enabled()):
        command = [python, "-I", "-c", _BOOTSTRAP, lib_dir, str(memory_mb), *[str(j.operator_dir) for j in jobs]]
        return subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr,
            cwd=work, env=sandbox_env(work), start_new_session=True, close_fds=True,
        )  # fmt: skip
    binds = [(str(job.operator_dir), f"{sandbox.INSIDE_OPERATORS}/{index}") for index, job in enumerate(jobs)]
    box, inside_python = sandbox.python_sandbox(
        python=python,
        venv=sandbox.venv_of(python),
        env=sandbox_env("/tmp"),
        ro=binds,
        limits=sandbox.Limits(memory_mb=memory_mb, processes=64, file_size_mb=64),
    )
    command = [inside_python, "-I", "-c", _BOOTSTRAP, sandbox.INSIDE_RUNTIME, str(memory_mb)]
    return box.popen(
        [*command, *[inside for _, inside in binds]],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr,
    )  # fmt: skip


def _run_batch(
    jobs: list[InspectJob], *, lib_dir: str, timeout_s: float, memory_mb: int, out: Queue, sandboxed: bool = True
) -> None:
    """Inspect `jobs` in as few processes as possible; each job gets exactly one result on `out`."""
    remaining = list(jobs)
    while remaining:
        with tempfile.TemporaryDirectory(prefix="flowui-inspect-") as work, tempfile.TemporaryFile() as stderr_file:
            try:
                proc = _start_batch(
                    remaining, lib_dir=lib_dir, work=work, memory_mb=memory_mb, stderr=stderr_file, sandboxed=sandboxed
                )
            except (OSError, sandbox.SandboxUnavailable, sandbox.SandboxError) as exc:
                for job in remaining:
                    out.put(InspectResult(key=job.key, ok=False, error=f"cannot start {job.python}: {exc}"))
                return
            buffer = b""
            deadline = time.monotonic() + timeout_s
            selector = selectors.DefaultSelector()
            selector.register(proc.stdout, selectors.EVENT_READ)
            failure: str | None = None
            try:
                while remaining:
                    wait = deadline - time.monotonic()
                    if wait <= 0:
                        failure = (
                            f"timed out after {timeout_s:g} s while importing model.py "
                            "(an import that hangs or a very slow module-level computation)"
                        )
                        break
                    if not selector.select(timeout=wait):
                        continue
                    chunk = os.read(proc.stdout.fileno(), 65536)
                    if not chunk:
                        code = proc.wait()
                        reason = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
                        tail = _stderr_tail(stderr_file)
                        failure = f"the inspection process died while importing model.py ({reason})" + (
                            f": {tail[-400:]}" if tail else ""
                        )
                        if code == -signal.SIGKILL or "MemoryError" in tail:
                            failure += f" (memory limit {memory_mb} MiB?)"
                        break
                    buffer += chunk
                    while b"\n" in buffer and remaining:
                        line, buffer = buffer.split(b"\n", 1)
                        job = remaining.pop(0)
                        try:
                            data = json.loads(line)
                        except ValueError:
                            data = {"ok": False, "error": "unreadable inspection output"}
                        out.put(
                            InspectResult(
                                key=job.key,
                                ok=bool(data.get("ok")),
                                input_schema=data.get("input_schema"),
                                output_schema=data.get("output_schema"),
                                secrets_schema=data.get("secrets_schema"),
                                error=data.get("error"),
                                duration_s=float(data.get("duration_s") or 0.0),
                            )
                        )
                        deadline = time.monotonic() + timeout_s
            finally:
                selector.close()
                _kill_group(proc)
                proc.stdout.close()
            if failure is not None and remaining:
                job = remaining.pop(0)
                out.put(InspectResult(key=job.key, ok=False, error=failure[:MAX_ERROR_CHARS]))


def extract_schemas(
    jobs: Iterable[InspectJob],
    *,
    timeout_s: float = 20,
    memory_mb: int = 2048,
    workers: int = 2,
    sandboxed: bool = True,
) -> Iterator[InspectResult]:
    """Yields one InspectResult per job, as they complete (order not kept). The platform always extracts in
    the sandbox; `sandboxed=False` is for an operator author's own machine (the authoring CLI)."""
    jobs = list(jobs)
    if not jobs:
        return
    lib_dir = tempfile.mkdtemp(prefix="flowui-inspect-lib-")
    # The sandbox's import path holds only the runtime package (never the platform's code).
    os.symlink(RUNTIME_PACKAGE_DIR, Path(lib_dir) / "flowui_runtime")
    by_python: dict[str, list[InspectJob]] = {}
    for job in jobs:
        by_python.setdefault(job.python, []).append(job)
    batches: list[list[InspectJob]] = []
    workers = max(1, workers)
    for group_jobs in by_python.values():
        size = max(1, -(-len(group_jobs) // workers))
        batches += [group_jobs[i : i + size] for i in range(0, len(group_jobs), size)]
    results: Queue = Queue()
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="flowui-inspect") as pool:
            futures = [
                pool.submit(
                    _run_batch,
                    batch,
                    lib_dir=lib_dir,
                    timeout_s=timeout_s,
                    memory_mb=memory_mb,
                    out=results,
                    sandboxed=sandboxed,
                )
                for batch in batches
            ]
            for _ in range(len(jobs)):
                while True:
                    try:
                        yield results.get(timeout=0.5)
                        break
                    except Empty:  # check that the batches are still alive
                        failed = [f for f in futures if f.done() and f.exception() is not None]
                        if failed:
                            raise failed[0].exception()
    finally:
        shutil.rmtree(lib_dir, ignore_errors=True)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m flowui_runtime.inspect OPERATOR_DIR", file=sys.stderr)
        return 2
    result = next(extract_schemas([InspectJob(key="operator", operator_dir=Path(argv[0]).resolve())]))
    print(
        json.dumps(
            {
                "ok": result.ok,
                "input_schema": result.input_schema,
                "output_schema": result.output_schema,
                "secrets_schema": result.secrets_schema,
                "error": result.error,
            },
            indent=2,
        )
    )
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
