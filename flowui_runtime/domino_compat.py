"""Runs Domino pieces unchanged: the model.py/operator.py that flowui_runtime.domino_layout generates call these.

- `piece_models(model_file)` imports the piece's `domino_piece/models.py` (as package `domino_piece`, so its
  `from .models import ...` works) and returns (InputModel, OutputModel, SecretsModel). Domino types produced
  files as `str`; output fields named `*_path`/`*_file` typed `str` are retyped `pathlib.Path` here, so the
  runtime hands their files downstream like a FlowUI operator's Path outputs (the file must exist).
- `piece_operator_function(operator_file)` imports `domino_piece/piece.py`, finds its BasePiece subclass and
  returns an `operator_function(input_model, secrets)` that calls `piece_function` with the validated input
  (and `secrets_data` when the piece takes it) and returns the piece's OutputModel. A `display_result` the
  piece sets is written to the run folder (`display_result.json`, and the decoded file when it holds one).

`domino.base_piece` resolves to FlowUI's stand-in (`flowui_runtime/compat/domino`), put first on sys.path in the
piece's own process only; nothing named `domino` is installed in any environment.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import inspect
import json
import os
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any

from flowui_runtime.domino_layout import PIECE_PACKAGE

COMPAT_DIR = Path(__file__).resolve().parent / "compat"
FILE_FIELD_SUFFIXES = ("_path", "_file")


def _modules_forget(prefix: str) -> None:
    for name in [n for n in sys.modules if n == prefix or n.startswith(prefix + ".")]:
        sys.modules.pop(name, None)


def _piece_package_prepare(generated_file: str) -> Path:
    """sys.path and sys.modules ready to import this operator's `domino_piece` package; returns the operator dir."""
    operator_dir = Path(generated_file).resolve().parent
    package_dir = operator_dir / PIECE_PACKAGE
    if sys.path[:1] != [str(COMPAT_DIR)]:
        sys.path.insert(0, str(COMPAT_DIR))
    domino = sys.modules.get("domino")
    if domino is not None and not str(getattr(domino, "__file__", "")).startswith(str(COMPAT_DIR)):
        _modules_forget("domino")  # another `domino` imported earlier: the piece gets FlowUI's
    loaded = sys.modules.get(PIECE_PACKAGE)
    if loaded is None or Path(getattr(loaded, "__file__", "") or "/").parent != package_dir:
        _modules_forget(PIECE_PACKAGE)  # the inspector imports several operators in one process
    if str(operator_dir) not in sys.path:
        sys.path.insert(0, str(operator_dir))
    if str(package_dir) not in sys.path:
        sys.path.append(str(package_dir))  # pieces that `from models import ...` (last: never shadows anything)
    return operator_dir


def _str_annotation(annotation: Any) -> Any | None:
    """pathlib.Path for `str`, `Path | None` for `str | None` (Optional), None for anything else."""
    if annotation is str:
        return Path
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        if set(args) == {str, type(None)}:
            return Path | None
    return None


def files_as_paths(model: Any) -> Any:
    """A subclass of the piece's OutputModel whose `*_path`/`*_file` str fields are typed pathlib.Path."""
    from pydantic import BaseModel, create_model

    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return model
    overrides = {}
    for name, field in model.model_fields.items():
        retyped = _str_annotation(field.annotation) if name.endswith(FILE_FIELD_SUFFIXES) else None
        if retyped is not None:
            copied = field._copy() if hasattr(field, "_copy") else field
            copied.annotation = retyped
            overrides[name] = (retyped, copied)
    if not overrides:
        return model
    return create_model(model.__name__, __base__=model, __module__=model.__module__, **overrides)


def piece_models(model_file: str) -> tuple[Any, Any, Any]:
    _piece_package_prepare(model_file)
    models = importlib.import_module(f"{PIECE_PACKAGE}.models")
    return (
        getattr(models, "InputModel", None),
        files_as_paths(getattr(models, "OutputModel", None)),
        getattr(models, "SecretsModel", None),
    )


def _piece_class(module: Any, base: type, preferred: str) -> type:
    classes = [
        value
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, base) and value is not base
    ]
    for candidate in classes:
        if candidate.__name__ == preferred:
            return candidate
    own = [candidate for candidate in classes if candidate.__module__ == module.__name__]
    if len(own) != 1:
        raise ImportError(
            f"{PIECE_PACKAGE}/piece.py must define one BasePiece subclass (named {preferred!r}); found "
            f"{', '.join(c.__name__ for c in own) or 'none'}"
        )
    return own[0]


def display_result_write(display: Any, run_dir: Path) -> None:
    """The piece's display_result into the run folder: the decoded file (display_result.<type>) and the rest."""
    if not isinstance(display, dict):
        return
    shown = {key: value for key, value in display.items() if key != "base64_content"}
    content, file_type = display.get("base64_content"), str(display.get("file_type") or "txt").lower()
    if isinstance(content, str) and re.fullmatch(r"[a-z0-9]{1,8}", file_type):
        try:
            (run_dir / f"display_result.{file_type}").write_bytes(base64.b64decode(content, validate=True))
            shown["file"] = f"display_result.{file_type}"
        except (binascii.Error, ValueError):
            shown["error"] = "base64_content is not valid base64"
    (run_dir / "display_result.json").write_text(json.dumps(shown, default=str), encoding="utf-8")


def piece_operator_function(operator_file: str):
    operator_dir = _piece_package_prepare(operator_file)
    module = importlib.import_module(f"{PIECE_PACKAGE}.piece")
    base = importlib.import_module("domino.base_piece").BasePiece
    piece_class = _piece_class(module, base, operator_dir.name)

    def operator_function(input_model: Any, secrets: Any = None) -> Any:
        run_dir = Path(os.environ.get("FLOWUI_RUN_DIR") or os.getcwd())
        piece = piece_class(results_path=str(run_dir), secrets=secrets)
        parameters = inspect.signature(piece.piece_function).parameters
        arguments = {"secrets_data": secrets} if "secrets_data" in parameters else {}
        if "input_data" in parameters:
            output = piece.piece_function(input_data=input_model, **arguments)
        else:
            output = piece.piece_function(input_model, **arguments)
        display_result_write(piece.display_result, run_dir)
        return output

    return operator_function
