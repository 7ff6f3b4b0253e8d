"""Where this runtime package is, and a PYTHONPATH entry that makes a fresh interpreter import it and nothing else.

The runtime is installed as its distribution (flowui-runtime): in a checkout's virtualenvs as an editable
install, in the images into site-packages. A process started with another interpreter (an operator's
dependency-group virtualenv, unsandboxed) still needs `import flowui_runtime`, but the folder holding the
package may hold much more: the checkout's root (the platform's Django apps) or Airflow's site-packages
(pydantic and friends at other versions than the group's). `runtime_pythonpath()` returns that folder only when
the runtime is the one importable thing in it, else a private folder holding just a symlink to the package.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from pathlib import Path

RUNTIME_PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGE_NAME = RUNTIME_PACKAGE_DIR.name  # flowui_runtime
# Entries of a folder that import nothing: metadata of installed distributions, byte-code caches.
_INERT_SUFFIXES = (".dist-info", ".egg-info")
_INERT_NAMES = {"__pycache__", "pyproject.toml", "README.md"}


class RuntimePathError(RuntimeError):
    """The private folder cannot be made safely (another user owns it, or it is not a folder)."""


def _only_runtime(folder: Path) -> bool:
    try:
        names = [entry.name for entry in os.scandir(folder)]
    except OSError:
        return False
    return all(name == PACKAGE_NAME or name in _INERT_NAMES or name.endswith(_INERT_SUFFIXES) for name in names)


def runtime_pythonpath() -> str:
    """A folder whose only importable entry is this runtime package (the PYTHONPATH of a child interpreter)."""
    parent = Path(os.path.abspath(__file__)).parent.parent  # abspath: a symlinked package keeps its folder
    if (parent / PACKAGE_NAME).resolve() == RUNTIME_PACKAGE_DIR and _only_runtime(parent):
        return str(parent)
    digest = hashlib.sha256(str(RUNTIME_PACKAGE_DIR).encode()).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / f"flowui-runtime-{os.getuid()}-{digest}"
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        pass
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise RuntimePathError(f"{folder} is not a private folder of this user: remove it and retry")
    link = folder / PACKAGE_NAME
    if not (link.is_symlink() and os.readlink(link) == str(RUNTIME_PACKAGE_DIR)):
        temporary = folder / f".{PACKAGE_NAME}.{os.getpid()}"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(RUNTIME_PACKAGE_DIR)
        os.replace(temporary, link)  # atomic: a concurrent task never sees a missing link
    return str(folder)
