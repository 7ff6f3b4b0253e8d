"""The one entrypoint every execution mode runs: a local subprocess, an AWS Batch job, a Kubernetes pod.

    python -m flowui_runtime run --operator-dir DIR --input-file FILE --run-dir DIR [--secrets-file F]

It loads the operator folder (`model.py` as module `model`, `operator.py` under a private module name, never
as `operator`, which is the standard library's), validates the input against `InputModel`, calls
`operator_function`, validates what it returns against `OutputModel` and writes `result.json`
(contracts.TaskResult) into the run folder, which is also the working directory.

Exit codes: 0 success; 1 the operator raised or returned an invalid output; 2 the input is not valid;
3 the operator folder cannot be loaded. Every failure also writes result.json with a readable `error`.

Output fields annotated as `pathlib.Path` (or pydantic's FilePath) are produced files: the operator may
return them absolute or relative to the run folder; result.json holds them relative to the storage root
(FLOWUI_STORAGE_ROOT) and lists them in `files`, so every mode and every mount point agrees on them.

Kept cheap to start: only the standard library and pydantic (which model.py needs anyway).
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import os
import sys
import time
import traceback
import types
import typing
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_OPERATOR_FAILED = 1
EXIT_INVALID_INPUT = 2
EXIT_BAD_OPERATOR = 3


class OperatorLoadError(Exception):
    """The operator folder is missing a required file or does not import."""


def parser_add_run(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser("run", help="run one operator on one input (what every execution mode runs)")
    run.add_argument("--operator-dir", required=True, help="folder holding model.py and operator.py")
    run.add_argument("--input-file", required=True, help="JSON object with the operator's input values")
    run.add_argument("--run-dir", required=True, help="the task's run folder: working dir, result.json goes here")
    run.add_argument("--secrets-file", default=None, help="optional JSON object of secret values")


def main_run(args: argparse.Namespace) -> int:
    return run(
        operator_dir=Path(args.operator_dir),
        input_file=Path(args.input_file),
        run_dir=Path(args.run_dir),
        secrets_file=Path(args.secrets_file) if args.secrets_file else None,
    )


def run(*, operator_dir: Path, input_file: Path, run_dir: Path, secrets_file: Path | None = None) -> int:
    started = time.monotonic()
    run_dir = run_dir.resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    os.chdir(run_dir)
    os.environ["FLOWUI_RUN_DIR"] = str(run_dir)
    storage_root = Path(os.environ.get("FLOWUI_STORAGE_ROOT") or run_dir).resolve()
    operator_name = operator_dir.name

    def finish(code: int, *, output: dict | None = None, files: list[str] | None = None, error: str = "") -> int:
        _write_result(
            run_dir,
            status="success" if code == EXIT_OK else "failed",
            output=output,
            files=files or [],
            error=error or None,
            duration_s=round(time.monotonic() - started, 3),
            exit_code=code,
        )
        if error:
            print(error, file=sys.stderr, flush=True)
        return code

    try:
        model, operator_function = load_operator(operator_dir)
    except OperatorLoadError as exc:
        return finish(EXIT_BAD_OPERATOR, error=f"Operator {operator_name!r} cannot be loaded: {exc}")

    try:
        raw_input = json.loads(input_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return finish(EXIT_INVALID_INPUT, error=f"Input file {input_file} cannot be read as JSON: {exc}")
    if not isinstance(raw_input, dict):
        return finish(EXIT_INVALID_INPUT, error=f"Input file {input_file} must hold a JSON object")

    from pydantic import BaseModel, ValidationError

    input_model = getattr(model, "InputModel", None)
    if not (isinstance(input_model, type) and issubclass(input_model, BaseModel)):
        return finish(EXIT_BAD_OPERATOR, error=f"Operator {operator_name!r}: model.py defines no InputModel")
    try:
        input_value = input_model.model_validate(raw_input)
    except ValidationError as exc:
        return finish(
            EXIT_INVALID_INPUT, error=f"Input is not valid for operator {operator_name!r}:\n{format_errors(exc)}"
        )

    arguments: list[Any] = [input_value]
    if _positional_count(operator_function) >= 2:
        try:
            arguments.append(load_secrets(getattr(model, "SecretsModel", None), secrets_file))
        except (ValidationError, OSError, ValueError) as exc:
            detail = format_errors(exc) if isinstance(exc, ValidationError) else f"  - {exc}"
            return finish(EXIT_INVALID_INPUT, error=f"Secrets are missing or invalid for {operator_name!r}:\n{detail}")

    try:
        returned = operator_function(*arguments)
    except BaseException as exc:  # noqa: B036 - SystemExit/KeyboardInterrupt from operator code are failures too
        trace = traceback.format_exc()  # printed once, by finish(), with the summary line
        summary = f"{exc.__class__.__name__}: {exc}".strip()
        return finish(EXIT_OPERATOR_FAILED, error=f"Operator {operator_name!r} raised {summary}\n{trace}")

    output_model = getattr(model, "OutputModel", None)
    try:
        output, files = output_to_dict(returned, output_model, run_dir=run_dir, storage_root=storage_root)
    except ValidationError as exc:
        return finish(
            EXIT_OPERATOR_FAILED,
            error=f"Operator {operator_name!r} returned an output not valid for OutputModel:\n{format_errors(exc)}",
        )
    except (TypeError, ValueError) as exc:
        return finish(EXIT_OPERATOR_FAILED, error=f"Operator {operator_name!r} returned an unusable output: {exc}")
    return finish(EXIT_OK, output=output, files=files)


# --- loading ------------------------------------------------------------------------------------
def load_operator(operator_dir: Path) -> tuple[types.ModuleType, Any]:
    operator_dir = operator_dir.resolve()
    model_file, operator_file = operator_dir / "model.py", operator_dir / "operator.py"
    for required in (model_file, operator_file):
        if not required.is_file():
            raise OperatorLoadError(f"{required.name} is missing in {operator_dir}")
    # operator.py does `from model import InputModel`: the folder goes first on sys.path.
    sys.path.insert(0, str(operator_dir))
    sys.modules.pop("model", None)
    model = _import_file("model", model_file)
    operator_module = _import_file(f"flowui_operator_{operator_dir.name}", operator_file)
    operator_function = getattr(operator_module, "operator_function", None)
    if not callable(operator_function):
        raise OperatorLoadError("operator.py defines no operator_function()")
    return model, operator_function


def _import_file(module_name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise OperatorLoadError(f"{path.name} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        print(traceback.format_exc(), file=sys.stderr, flush=True)
        raise OperatorLoadError(f"importing {path.name} raised {exc.__class__.__name__}: {exc}") from None
    return module


def _positional_count(function: Any) -> int:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return 1
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for parameter in parameters if parameter.kind in kinds)


def load_secrets(secrets_model: Any, secrets_file: Path | None) -> Any:
    """Secret values from the secrets file, then from environment variables named like the fields
    (exactly or upper-cased). Returns a SecretsModel instance, or a dict when model.py has none."""
    values: dict[str, Any] = {}
    if secrets_file is not None:
        loaded = json.loads(secrets_file.read_text(encoding="utf-8"))
        if not isinstance(loaded, dict):
            raise ValueError(f"{secrets_file} must hold a JSON object")
        values.update(loaded)
    if secrets_model is None:
        return values
    for name in secrets_model.model_fields:
        if name in values:
            continue
        for env_name in (name, name.upper()):
            if env_name in os.environ:
                values[name] = os.environ[env_name]
                break
    return secrets_model.model_validate(values)


# --- output -------------------------------------------------------------------------------------
def output_to_dict(
    returned: Any, output_model: Any, *, run_dir: Path, storage_root: Path
) -> tuple[dict[str, Any], list[str]]:
    from pydantic import BaseModel

    if output_model is not None:
        if isinstance(returned, output_model):
            value = returned
        elif isinstance(returned, BaseModel):
            value = output_model.model_validate(returned.model_dump())
        else:
            value = output_model.model_validate({} if returned is None else returned)
        file_fields = [name for name, field in output_model.model_fields.items() if _is_path(field.annotation)]
        output = value.model_dump(mode="json")
    elif isinstance(returned, BaseModel):
        file_fields = [name for name, field in type(returned).model_fields.items() if _is_path(field.annotation)]
        output = returned.model_dump(mode="json")
    elif returned is None:
        return {}, []
    elif isinstance(returned, dict):
        file_fields = [name for name, item in returned.items() if isinstance(item, Path)]
        output = {name: str(item) if isinstance(item, Path) else item for name, item in returned.items()}
    else:
        raise TypeError(f"expected an OutputModel instance or a dict, got {type(returned).__name__}")
    files = []
    for name in file_fields:
        if output.get(name) in (None, ""):
            continue
        output[name] = storage_relative(output[name], run_dir=run_dir, storage_root=storage_root)
        files.append(name)
    json.dumps(output)  # raises TypeError now rather than a half-written result.json later
    return output, files


def storage_relative(value: str, *, run_dir: Path, storage_root: Path) -> str:
    path = Path(value)
    path = (path if path.is_absolute() else run_dir / path).resolve()
    if not path.exists():
        raise ValueError(f"the produced file {value!r} does not exist (looked at {path})")
    try:
        return path.relative_to(storage_root).as_posix()
    except ValueError:
        return str(path)  # outside the tenant's storage: only usable on this machine


def _is_path(annotation: Any) -> bool:
    if isinstance(annotation, type):
        return issubclass(annotation, Path)
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _is_path(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_is_path(arg) for arg in typing.get_args(annotation) if arg is not type(None))
    return False


# --- result -------------------------------------------------------------------------------------
def format_errors(exc: Any) -> str:
    """One line per field error: `  - field.sub: message (got 'value')`."""
    lines = []
    for error in exc.errors(include_url=False):
        location = ".".join(str(part) for part in error.get("loc", ())) or "(input)"
        line = f"  - {location}: {error.get('msg', 'invalid')}"
        if error.get("type") != "missing" and "input" in error:
            shown = repr(error["input"])
            line += f" (got {shown[:80] + '...' if len(shown) > 80 else shown})"
        lines.append(line)
    return "\n".join(lines)


def _write_result(run_dir: Path, **fields: Any) -> None:
    from flowui_runtime.contracts import RESULT_FILE, TaskResult

    result = TaskResult(**fields)
    target = run_dir / RESULT_FILE
    partial = target.with_suffix(".json.partial")
    partial.write_text(result.model_dump_json(indent=2), encoding="utf-8")
    partial.replace(target)
