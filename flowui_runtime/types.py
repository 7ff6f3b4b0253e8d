"""Input types for operator models (model.py): `from flowui_runtime.types import StoragePath, StorageFile`.

`StoragePath` is a path in the tenant's storage: the form holds it relative to the storage root
(`dataset/sales.csv`, `runs/dag/run/task/out.csv`); the runtime also hands upstream files over as absolute paths
where the operator sees the storage root. Validation resolves it to an absolute `pathlib.Path` under the root
the runtime gives (FLOWUI_STORAGE_ROOT, else the working directory) and refuses, with a message naming the
value: an empty value, a NUL byte, `..` parts, an absolute path outside the root, and anything that resolves
outside it through a symlink. `StorageFile` also requires an existing regular file.

The JSON Schema of such a field is `{"type": "string", "format": "flowui-storage-path"}` (`STORAGE_PATH_FORMAT`)
so the workflow editor can offer a picker of the tenant's files.

Operators whose input is only sometimes a storage path (a URL or a path, say) call `storage_path_resolve`.
Django-free and standard library + pydantic only: it is imported inside the sandbox and the images.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePath
from typing import Annotated

from pydantic import PlainValidator, WithJsonSchema

STORAGE_PATH_FORMAT = "flowui-storage-path"
STORAGE_ROOT_ENV = "FLOWUI_STORAGE_ROOT"


def storage_root() -> Path:
    """The tenant's storage root as the runtime gives it to the operator (resolved)."""
    return Path(os.environ.get(STORAGE_ROOT_ENV) or os.getcwd()).resolve()


def storage_path_resolve(value: str | PurePath, *, root: Path | None = None) -> Path:
    """`value` as an absolute path inside the storage root; ValueError naming the value otherwise."""
    text = os.fspath(value) if isinstance(value, PurePath) else value
    if not isinstance(text, str):
        raise ValueError(f"a storage path must be text, not {type(value).__name__}")
    shown = repr(text if len(text) <= 200 else text[:200] + "...")
    if not text.strip():
        raise ValueError("a storage path must not be empty")
    if "\x00" in text:
        raise ValueError(f"storage path {shown} contains a NUL byte")
    path = Path(text)
    if ".." in path.parts:
        raise ValueError(f"storage path {shown} must not contain '..': it is outside the storage folder")
    root = (root or storage_root()).resolve()
    if path.is_absolute() and not path.is_relative_to(root):
        raise ValueError(f"storage path {shown} is outside the storage folder (give it relative to the storage root)")
    resolved = (root / path).resolve()
    if resolved != root and root not in resolved.parents:
        raise ValueError(f"storage path {shown} is outside the storage folder (through a symlink)")
    return resolved


def storage_file_resolve(value: str | PurePath, *, root: Path | None = None) -> Path:
    """Like storage_path_resolve, and the path must be an existing regular file."""
    path = storage_path_resolve(value, root=root)
    if not path.is_file():
        raise ValueError(f"no such file in storage: {os.fspath(value)}")
    return path


_SCHEMA = WithJsonSchema({"type": "string", "minLength": 1, "format": STORAGE_PATH_FORMAT})

StoragePath = Annotated[Path, PlainValidator(lambda value: storage_path_resolve(value)), _SCHEMA]
StorageFile = Annotated[Path, PlainValidator(lambda value: storage_file_resolve(value)), _SCHEMA]
