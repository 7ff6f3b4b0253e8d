"""Writes of a tenant's datasets (files under `dataset/` of its storage root): upload, delete, the samples every
new tenant gets. Paths are checked and opened as in datasets.selectors (no symlink followed, nothing outside
`dataset/`); names of new files and folders must also be made of sane characters.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import stat
import unicodedata
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from django.conf import settings

from datasets.selectors import (
    DATASET_FOLDER,
    DatasetError,
    DatasetNotFound,
    DatasetPathInvalid,
    dataset_parts,
    format_for,
    iso_time,
    name_problem,
    open_folder,
)
from flowui_runtime import safefs
from tenants.selectors import tenant_storage_root

if TYPE_CHECKING:
    from tenants.models import Tenant

CHUNK_BYTES = 1024 * 1024
SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
SAMPLES_FOLDER = "samples"
# Letters and digits of any script, and these: a name starts with a letter or digit and does not end in a space
# or a dot. (No separators, quotes, shell or HTML metacharacters, control or invisible formatting characters.)
NAME_PUNCTUATION = " _-.,()+=@"


class DatasetTooLarge(DatasetError):
    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        super().__init__(
            f"The file is larger than the upload limit of {max_bytes // (1024 * 1024)} MB (FLOWUI_UPLOAD_MAX_MB)."
        )


class DatasetConflict(DatasetError):
    pass


class DatasetNotEmpty(DatasetError):
    pass


def upload_max_bytes() -> int:
    return int(settings.FLOWUI_UPLOAD_MAX_MB) * 1024 * 1024


def new_name_problem(name: str) -> str:
    """Why `name` cannot name a new file or folder, or ""."""
    if not name or not (name[0].isalnum()):
        return f"{name!r}: a name starts with a letter or a digit"
    if name[-1] in " .":
        return f"{name!r}: a name does not end with a space or a dot"
    bad = sorted({c for c in name if not (c.isalnum() or c in NAME_PUNCTUATION)})
    if bad:
        return f"{name!r}: {''.join(bad)!r} not allowed (use letters, digits, spaces and {NAME_PUNCTUATION.strip()})"
    return ""


def _new_parts(path: str | None, *, allow_root: bool) -> list[str]:
    parts = dataset_parts(path, allow_root=allow_root)
    for part in parts:
        if problem := new_name_problem(part):
            raise DatasetPathInvalid(f"Invalid name: {problem}.")
    return parts


def _is_regular(name: str, *, dir_fd: int) -> bool:
    try:
        return stat.S_ISREG(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _ensure_folder_fd(*, tenant: Tenant, parts: list[str]) -> int:
    """A descriptor of dataset/<parts>, creating missing folders; never follows a symlink (a symlink on the
    way is DatasetNotFound)."""
    root = tenant_storage_root(tenant=tenant)
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        raise DatasetNotFound("The tenant's storage is not provisioned yet.") from None
    try:
        for part in [DATASET_FOLDER, *parts]:
            try:
                os.mkdir(part, 0o755, dir_fd=fd)
            except FileExistsError:
                pass
            try:
                child = os.open(part, safefs.DIR_FLAGS, dir_fd=fd)
            except OSError:  # a symlink (ELOOP or ENOTDIR with O_NOFOLLOW | O_DIRECTORY), a file, gone
                if part != DATASET_FOLDER and _is_regular(part, dir_fd=fd):
                    raise DatasetConflict(f"{part!r} is a file, not a folder.") from None
                raise DatasetNotFound(f"No folder {'/'.join(parts)} in the datasets.") from None
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def dataset_upload(
    *,
    tenant: Tenant,
    folder: str,
    name: str,
    source: IO[bytes],
    overwrite: bool = False,
    max_bytes: int | None = None,
) -> dict[str, Any]:
    """Store the bytes of `source` as dataset/<folder>/<name> (missing folders are created), streamed in chunks:
    DatasetTooLarge as soon as more than `max_bytes` (default FLOWUI_UPLOAD_MAX_MB) arrived, nothing left behind.
    The file appears complete or not at all (written under a hidden temporary name, then linked or renamed in
    place); an existing file is replaced only with `overwrite`, else DatasetConflict."""
    limit = upload_max_bytes() if max_bytes is None else max_bytes
    # macOS browsers send decomposed names (e + combining accent): stored composed, like typed names.
    folder, name = unicodedata.normalize("NFC", folder or ""), unicodedata.normalize("NFC", name or "")
    parts = _new_parts(folder, allow_root=True)
    if problem := name_problem_for_upload(name):
        raise DatasetPathInvalid(f"Invalid file name: {problem}.")
    dir_fd = _ensure_folder_fd(tenant=tenant, parts=parts)
    temp = f".upload-{secrets.token_hex(8)}"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=dir_fd)
        written = 0
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK_BYTES):
                    written += len(chunk)
                    if written > limit:
                        raise DatasetTooLarge(limit)
                    out.write(chunk)
            try:
                existing = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                existing = None
            if existing is not None and stat.S_ISDIR(existing.st_mode):
                raise DatasetConflict(f"{name!r} is a folder here; choose another name.")
            if overwrite:
                os.rename(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)  # replaces a file (or symlink) entry
            else:
                exists = DatasetConflict(
                    f"{'/'.join([*parts, name])} exists already; replace it explicitly (overwrite)."
                )
                try:  # never clobbers: fails when the name exists, even if it appeared since the check
                    os.link(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
                except FileExistsError:
                    raise exists from None
                except OSError:  # a file system without hard links: checked above, then renamed in place
                    if existing is not None:
                        raise exists from None
                    os.rename(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        finally:
            try:
                os.unlink(temp, dir_fd=dir_fd)
            except FileNotFoundError:
                pass
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    finally:
        os.close(dir_fd)
    return {
        "name": name,
        "path": "/".join([*parts, name]),
        "type": "file",
        "size": info.st_size,
        "modified": iso_time(info.st_mtime),
        "format": format_for(name),
    }


def name_problem_for_upload(name: str) -> str:
    return name_problem(name or "") or new_name_problem(name or "")


def dataset_delete(*, tenant: Tenant, path: str, recursive: bool = False) -> dict[str, Any]:
    """Delete a dataset file, or a folder: an empty one, or with `recursive` everything in it (removed without
    following symlinks: a link inside is removed, never its target). DatasetNotEmpty for a folder with content
    and no `recursive`. The top dataset folder itself cannot be deleted."""
    parts = dataset_parts(path)
    shown = "/".join(parts)
    with open_folder(tenant=tenant, parts=parts[:-1]) as dir_fd:
        try:
            info = os.stat(parts[-1], dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            raise DatasetNotFound(f"No file or folder {shown} in the datasets.") from None
        if stat.S_ISREG(info.st_mode):
            os.unlink(parts[-1], dir_fd=dir_fd)
            return {"path": shown, "type": "file"}
        if not stat.S_ISDIR(info.st_mode):  # symlinks and special files are not datasets
            raise DatasetNotFound(f"No file or folder {shown} in the datasets.")
        try:
            os.rmdir(parts[-1], dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise DatasetNotFound(f"No file or folder {shown} in the datasets.") from None
            if not recursive:
                raise DatasetNotEmpty(
                    f"The folder {shown} is not empty; confirm to delete it with its content."
                ) from None
            assert shutil.rmtree.avoids_symlink_attacks
            shutil.rmtree(parts[-1], dir_fd=dir_fd)
    return {"path": shown, "type": "folder"}


def samples_install(*, tenant: Tenant) -> list[str]:
    """Copy the sample datasets (datasets/samples/) to dataset/samples/ of the tenant's storage; files already
    there are left as they are. Returns the paths written."""
    written = []
    for sample in sorted(SAMPLES_DIR.iterdir()):
        if not sample.is_file() or sample.name.startswith("."):
            continue
        with sample.open("rb") as source:
            try:
                dataset_upload(tenant=tenant, folder=SAMPLES_FOLDER, name=sample.name, source=source, max_bytes=1 << 30)
            except DatasetConflict:
                continue
        written.append(f"{DATASET_FOLDER}/{SAMPLES_FOLDER}/{sample.name}")
    return written
