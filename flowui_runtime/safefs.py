"""File access in folders that tenant code can write (a task's run folder), from the platform's side.

Code in the sandbox may replace any file of its run folder with a symlink (to a DAG file, another tenant's
data, /etc/shadow), a FIFO (to hang the reader) or a huge file. The platform's own reads and writes there go
through these helpers: no symlink is followed, only regular files are read, sizes are capped.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import IO


class UnsafeFile(Exception):
    """A file the platform was to read or write is a symlink, not a regular file, or too large."""


def write_new(path: Path, text: str) -> None:
    """Replace `path` with a new regular file holding `text` (whatever was there, a symlink included, is
    removed first, never followed)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def open_append(path: Path) -> IO[str]:
    """Open `path` for appending text. Anything there that is not a regular file (a symlink planted by a
    previous try, a FIFO) is removed first, never followed."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise UnsafeFile(f"{path.name}: cannot be opened safely ({exc.strerror})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UnsafeFile(f"{path.name}: is not a regular file")
    return os.fdopen(fd, "a", encoding="utf-8", errors="replace")


def read_regular(path: Path, *, max_bytes: int) -> bytes | None:
    """The bytes of a regular file, None when it does not exist; UnsafeFile for a symlink, a FIFO or a
    device, or a file over max_bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UnsafeFile(f"{path.name}: cannot be opened safely ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFile(f"{path.name}: is not a regular file")
        if info.st_size > max_bytes:
            raise UnsafeFile(f"{path.name}: is larger than {max_bytes} bytes")
        return handle.read(max_bytes + 1)[:max_bytes]


def atomic_write(path: Path, content: str, *, mode: int = 0o644, encoding: str = "utf-8") -> None:
    """Write to a temp file in the same folder, fsync, then rename over the target: readers (Airflow's
    dag-processor, a task reading its tenant's secrets) see the old file or the new one, never a half-written
    one. The temp name starts with '.' so Airflow skips it; it is created 0600 and gets `mode` before the
    rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding=encoding) as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


# --- descriptor-relative access below a root (the platform's resolvers: results, datasets) ---------------------
# Every folder on the way is opened relative to its parent's descriptor with O_NOFOLLOW | O_DIRECTORY, the file with
# O_NOFOLLOW: a symlink anywhere on the path (to `/`, another tenant's folder, an intermediate folder) is refused,
# whatever tenant code planted there, and nothing can be swapped between a check and the open.
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO planted by tenant code must not hang the reader (it is refused after fstat).
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


def open_dir_chain(root: Path | str, parts: list[str] | tuple[str, ...]) -> int:
    """A descriptor (the caller closes it) of root / parts, opened one component at a time without following
    any symlink below root. OSError (ENOENT, ELOOP for a symlink, ENOTDIR) when a component is missing, is
    not a folder or is a symlink. `parts` must already be plain names (no '/', '.', '..')."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts:
            child = os.open(part, DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_regular_at(name: str, *, dir_fd: int) -> tuple[int, os.stat_result]:
    """(descriptor, fstat) of the regular file `name` in dir_fd, not following a symlink; OSError otherwise
    (a symlink, a folder, a FIFO, a device)."""
    fd = os.open(name, FILE_FLAGS, dir_fd=dir_fd)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, info
