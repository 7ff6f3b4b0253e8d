"""Reads of a tenant's datasets: the files under `dataset/` of its storage root (tenants.selectors.
tenant_storage_root). Listing, opening for download, previewing the first rows of CSV / JSON / JSON lines /
Parquet.

The storage root is written by tenant code (operators in batch or kubernetes mode can write all of it), so
nothing below it is trusted; paths given by users are hostile. A path is a `/`-separated list of plain names
relative to `dataset/`: empty, `.`, `..`, hidden (`.name`), NUL, control characters, backslashes and absolute
paths are refused before anything is opened (DatasetPathInvalid, 400). Then every folder on the way, `dataset/`
included, is opened relative to its parent's descriptor with `O_NOFOLLOW | O_DIRECTORY` and the file with
`O_NOFOLLOW` (flowui_runtime.safefs, the primitives of the results resolver): a symlink anywhere (to `/etc`, to
another tenant's folder) is DatasetNotFound (404), listings skip symlinks, devices, FIFOs and hidden files.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from flowui_runtime import safefs
from tenants.models import Tenant
from tenants.selectors import tenant_storage_root
from workflows.results import content_type_for, result_headers

DATASET_FOLDER = "dataset"
MAX_DEPTH = 16
MAX_PATH_CHARS = 1000
MAX_NAME_CHARS = 200
MAX_LISTED = 1000
PREVIEW_ROWS = 50
PREVIEW_MAX_ROWS = 500
PREVIEW_MAX_COLUMNS = 100
PREVIEW_MAX_CELL_CHARS = 200
PREVIEW_TEXT_BYTES = 1_000_000  # CSV and JSON lines: only this much of the file is read
PREVIEW_JSON_BYTES = 5_000_000  # a JSON document must be parsed whole: larger ones are not previewed
PREVIEW_PARQUET_BYTES = 256_000_000  # uncompressed size of the first row group (what a preview decodes at most)
FORMATS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


class DatasetError(Exception):
    """Base of the datasets' domain errors; the message is meant for the user."""


class DatasetPathInvalid(DatasetError):
    pass


class DatasetNotFound(DatasetError):
    pass


class DatasetPreviewUnavailable(DatasetError):
    pass


# --- paths ------------------------------------------------------------------------------------
def name_problem(name: str) -> str:
    """Why `name` cannot be one segment of a dataset path (reads and writes), or "" when it can."""
    if name in ("", ".", ".."):
        return "empty, '.' and '..' segments are not allowed"
    if name.startswith("."):
        return f"{name!r}: hidden names (starting with '.') are not allowed"
    if len(name) > MAX_NAME_CHARS:
        return f"names are at most {MAX_NAME_CHARS} characters"
    if "\\" in name or not name.isprintable():  # NUL and the other control characters are not printable
        return "NUL, control characters and backslashes are not allowed"
    return ""


def dataset_parts(path: str | None, *, allow_root: bool = False) -> list[str]:
    """The segments of a user-given dataset path (relative to `dataset/`); DatasetPathInvalid when it could leave
    the folder or is not a plain path. A trailing '/' is tolerated (folders)."""
    path = path or ""
    if path.startswith("/"):
        raise DatasetPathInvalid("Absolute paths are not allowed: give a path inside the dataset folder.")
    if len(path) > MAX_PATH_CHARS:
        raise DatasetPathInvalid(f"The path is longer than {MAX_PATH_CHARS} characters.")
    trimmed = path[:-1] if path.endswith("/") else path
    if not trimmed:
        if allow_root:
            return []
        raise DatasetPathInvalid("Give the path of a file or folder inside the dataset folder.")
    parts = trimmed.split("/")
    if len(parts) > MAX_DEPTH:
        raise DatasetPathInvalid(f"Paths are at most {MAX_DEPTH} folders deep.")
    for part in parts:
        if problem := name_problem(part):
            raise DatasetPathInvalid(f"Invalid path: {problem}.")
    return parts


def dataset_root_parts() -> list[str]:
    return [DATASET_FOLDER]


@contextmanager
def open_folder(*, tenant: Tenant, parts: list[str]) -> Iterator[int]:
    """A descriptor of dataset/<parts> (closed on exit), no symlink followed; DatasetNotFound otherwise."""
    try:
        fd = safefs.open_dir_chain(tenant_storage_root(tenant=tenant), [DATASET_FOLDER, *parts])
    except OSError:  # ENOENT, ELOOP (a symlink), ENOTDIR
        raise DatasetNotFound(f"No folder {'/'.join(parts) or '(top)'} in the datasets.") from None
    try:
        yield fd
    finally:
        os.close(fd)


def format_for(name: str) -> str:
    """csv, json, jsonl, parquet or "" (another kind of file)."""
    return FORMATS.get(PurePosixPath(name).suffix.lower(), "")


def iso_time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat()


# --- listing ----------------------------------------------------------------------------------
def datasets_list(*, tenant: Tenant, path: str = "") -> dict[str, Any]:
    """The entries of a dataset folder: {"path", "parent", "entries": [{name, path, type (folder|file), size,
    modified, format}], "truncated"}. Folders first, then files, by name. Symlinks, hidden files and special
    files are left out. The top folder of a tenant without one lists as empty."""
    parts = dataset_parts(path, allow_root=True)
    entries: list[dict[str, Any]] = []
    truncated = False
    try:
        with open_folder(tenant=tenant, parts=parts) as fd:
            with os.scandir(fd) as it:
                found = sorted(it, key=lambda e: e.name)
            for entry in found:
                if name_problem(entry.name):
                    continue
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISDIR(info.st_mode):
                    kind = "folder"
                elif stat.S_ISREG(info.st_mode):
                    kind = "file"
                else:  # symlinks, FIFOs, sockets, devices
                    continue
                if len(entries) >= MAX_LISTED:
                    truncated = True
                    break
                entries.append(
                    {
                        "name": entry.name,
                        "path": "/".join([*parts, entry.name]),
                        "type": kind,
                        "size": info.st_size if kind == "file" else None,
                        "modified": iso_time(info.st_mtime),
                        "format": format_for(entry.name) if kind == "file" else "",
                    }
                )
    except DatasetNotFound:
        if parts:
            raise
    entries.sort(key=lambda e: (e["type"] != "folder", e["name"].lower()))
    return {
        "path": "/".join(parts),
        "parent": "/".join(parts[:-1]) if parts else None,
        "entries": entries,
        "truncated": truncated,
    }


def folder_summary(*, tenant: Tenant, path: str) -> dict[str, Any]:
    """What deleting a folder would remove: {"path", "files", "folders", "bytes", "more"} (counted up to
    MAX_LISTED entries, without following symlinks)."""
    parts = dataset_parts(path)
    counts = {"files": 0, "folders": 0, "bytes": 0, "more": False}

    def walk(fd: int, depth: int) -> None:
        with os.scandir(fd) as it:
            entries = list(it)
        for entry in entries:
            if counts["files"] + counts["folders"] >= MAX_LISTED:
                counts["more"] = True
                return
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode):
                counts["folders"] += 1
                if depth < MAX_DEPTH:
                    try:
                        child = os.open(entry.name, safefs.DIR_FLAGS, dir_fd=fd)
                    except OSError:
                        continue
                    try:
                        walk(child, depth + 1)
                    finally:
                        os.close(child)
            else:
                counts["files"] += 1
                counts["bytes"] += info.st_size if stat.S_ISREG(info.st_mode) else 0

    with open_folder(tenant=tenant, parts=parts) as fd:
        walk(fd, 0)
    return {"path": "/".join(parts), **counts}


def dataset_kind(*, tenant: Tenant, path: str) -> str:
    """The kind, "file" or "folder", of an existing dataset path (no symlink followed); DatasetNotFound otherwise."""
    parts = dataset_parts(path)
    with open_folder(tenant=tenant, parts=parts[:-1]) as fd:
        try:
            info = os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
        except OSError:
            raise DatasetNotFound(f"No file or folder {'/'.join(parts)} in the datasets.") from None
    if stat.S_ISDIR(info.st_mode):
        return "folder"
    if stat.S_ISREG(info.st_mode):
        return "file"
    raise DatasetNotFound(f"No file or folder {'/'.join(parts)} in the datasets.")


# --- files ------------------------------------------------------------------------------------
@dataclass
class DatasetFile:
    """An open dataset file: read from `file` (the caller closes it, or hands it to a FileResponse)."""

    file: IO[bytes]
    name: str
    path: str
    size: int
    modified: float
    content_type: str


def dataset_open(*, tenant: Tenant, path: str) -> DatasetFile:
    """Open a dataset file without following any symlink; DatasetNotFound when it is missing, is not a regular
    file or any component is a symlink."""
    parts = dataset_parts(path)
    with open_folder(tenant=tenant, parts=parts[:-1]) as dir_fd:
        try:
            fd, info = safefs.open_regular_at(parts[-1], dir_fd=dir_fd)
        except OSError:
            raise DatasetNotFound(f"No file {'/'.join(parts)} in the datasets.") from None
    return DatasetFile(
        file=os.fdopen(fd, "rb"),
        name=parts[-1],
        path="/".join(parts),
        size=info.st_size,
        modified=info.st_mtime,
        content_type=content_type_for(parts[-1]),
    )


def download_headers(name: str) -> dict[str, str]:
    """Headers serving a dataset file as a download: the results' safe headers, always as an attachment."""
    headers = result_headers(name)
    headers["Content-Disposition"] = headers["Content-Disposition"].replace("inline;", "attachment;", 1)
    return headers


# --- preview ----------------------------------------------------------------------------------
def _cell(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= PREVIEW_MAX_CELL_CHARS else text[: PREVIEW_MAX_CELL_CHARS - 1] + "…"


def _table_from_records(records: list[Any], *, rows: int) -> tuple[list[str], list[list[Any]]]:
    """Columns (union of the objects' keys, first seen first) and rows; scalars become one column 'value'."""
    shown = records[:rows]
    if all(isinstance(record, dict) for record in shown):
        columns = list(dict.fromkeys(str(k) for record in shown for k in record))[:PREVIEW_MAX_COLUMNS]
        return columns, [[_cell(record.get(c)) for c in columns] for record in shown]
    return ["value"], [[_cell(record)] for record in shown]


def _read_capped(handle: IO[bytes], limit: int) -> tuple[bytes, bool]:
    data = handle.read(limit + 1)
    return data[:limit], len(data) > limit


def _preview_csv(handle: IO[bytes], *, name: str, rows: int) -> dict[str, Any]:
    raw, cut = _read_capped(handle, PREVIEW_TEXT_BYTES)
    if cut:  # drop the last, partial line
        raw = raw[: raw.rfind(b"\n") + 1] if b"\n" in raw else b""
    text = raw.decode("utf-8-sig", errors="replace")
    delimiter = "\t" if name.lower().endswith(".tsv") else ","
    try:
        delimiter = csv.Sniffer().sniff(text[:65536], delimiters=",;\t|").delimiter
    except csv.Error:
        pass
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    table: list[list[str]] = []
    more = cut
    try:
        for row in reader:
            if len(table) > rows:
                more = True
                break
            table.append(row)
    except csv.Error:  # a field over the csv module's limit, a NUL: show what was read
        more = True
    if not table:
        raise DatasetPreviewUnavailable("The file is empty or is not readable as CSV.")
    header = [_cell(c) for c in table[0][:PREVIEW_MAX_COLUMNS]]
    body = [[_cell(c) for c in row[: len(header)]] for row in table[1 : rows + 1]]
    return {"columns": header, "rows": body, "truncated": more or len(table) > rows + 1, "total_rows": None}


def _preview_jsonl(handle: IO[bytes], *, rows: int) -> dict[str, Any]:
    raw, cut = _read_capped(handle, PREVIEW_TEXT_BYTES)
    lines = [line for line in raw.decode("utf-8", errors="replace").splitlines() if line.strip()]
    if cut and lines:
        lines = lines[:-1]
    records = []
    for number, line in enumerate(lines[: rows + 1], start=1):
        try:
            records.append(json.loads(line))
        except ValueError as exc:
            raise DatasetPreviewUnavailable(f"Line {number} is not valid JSON: {exc}") from None
    columns, body = _table_from_records(records, rows=rows)
    return {"columns": columns, "rows": body, "truncated": cut or len(records) > rows, "total_rows": None}


def _preview_json(handle: IO[bytes], *, size: int, rows: int) -> dict[str, Any]:
    if size > PREVIEW_JSON_BYTES:
        raise DatasetPreviewUnavailable(
            f"JSON files over {PREVIEW_JSON_BYTES // 1_000_000} MB are not previewed (JSON lines files are): "
            "download it instead."
        )
    try:
        data = json.loads(handle.read(PREVIEW_JSON_BYTES + 1).decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DatasetPreviewUnavailable(f"The file is not valid JSON: {exc}") from None
    if isinstance(data, dict):  # {"data": [...]}: the first list is the table (as load_dataset reads it)
        lists = [value for value in data.values() if isinstance(value, list)]
        data = lists[0] if lists else [data]
    if not isinstance(data, list):
        data = [data]
    columns, body = _table_from_records(data, rows=rows)
    return {"columns": columns, "rows": body, "truncated": len(data) > rows, "total_rows": len(data)}


def _preview_parquet(handle: IO[bytes], *, rows: int) -> dict[str, Any]:
    try:
        parquet = pq.ParquetFile(handle)
        total = parquet.metadata.num_rows
        if parquet.metadata.num_row_groups and parquet.metadata.row_group(0).total_byte_size > PREVIEW_PARQUET_BYTES:
            raise DatasetPreviewUnavailable(
                "The first row group of this Parquet file is too large to preview: download it instead."
            )
        names = parquet.schema_arrow.names[:PREVIEW_MAX_COLUMNS]
        batch = next(parquet.iter_batches(batch_size=max(rows, 1), columns=names), None)
        records = batch.to_pylist() if batch is not None else []
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DatasetPreviewUnavailable(f"The file is not readable as Parquet: {exc}") from None
    body = [[_cell(record.get(c)) for c in names] for record in records[:rows]]
    return {"columns": names, "rows": body, "truncated": total > len(body), "total_rows": total}


def dataset_preview(*, tenant: Tenant, path: str, rows: int = PREVIEW_ROWS) -> dict[str, Any]:
    """The first `rows` rows (at most PREVIEW_MAX_ROWS) of a CSV, JSON, JSON lines or Parquet dataset:
    {"path", "name", "format", "size", "columns", "rows", "truncated", "total_rows" (when known)}. At most
    PREVIEW_TEXT_BYTES are read of CSV and JSON lines files; cells are shortened. DatasetPreviewUnavailable for
    other formats and unreadable files."""
    rows = max(1, min(int(rows), PREVIEW_MAX_ROWS))
    opened = dataset_open(tenant=tenant, path=path)
    kind = format_for(opened.name)
    with opened.file as handle:
        if kind == "csv":
            table = _preview_csv(handle, name=opened.name, rows=rows)
        elif kind == "jsonl":
            table = _preview_jsonl(handle, rows=rows)
        elif kind == "json":
            table = _preview_json(handle, size=opened.size, rows=rows)
        elif kind == "parquet":
            table = _preview_parquet(handle, rows=rows)
        else:
            raise DatasetPreviewUnavailable(
                "Only CSV, JSON, JSON lines and Parquet files are previewed: download this file instead."
            )
    return {"path": opened.path, "name": opened.name, "format": kind, "size": opened.size, **table}
