"""What the workflow editor offers from a tenant's datasets: the file paths for the file inputs of operators
(`dataset/...`, as operators take them) and the columns of a chosen CSV for the column inputs.

Built only on the folder listing and preview of datasets.selectors (descriptor-relative, no symlink followed),
bounded so the editor's node form stays fast: at most MAX_PICKER_FILES files, MAX_PICKER_FOLDERS folders opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from datasets.selectors import DATASET_FOLDER, DatasetError, dataset_preview, datasets_list, format_for

if TYPE_CHECKING:
    from tenants.models import Tenant

MAX_PICKER_FILES = 200
MAX_PICKER_FOLDERS = 50
COLUMN_FORMATS = ("csv",)


def dataset_picker_paths(*, tenant: Tenant) -> list[str]:
    """`dataset/<path>` of the tenant's dataset files (breadth first, folders in name order), capped."""
    paths: list[str] = []
    folders, opened = [""], 0
    while folders and opened < MAX_PICKER_FOLDERS and len(paths) < MAX_PICKER_FILES:
        folder = folders.pop(0)
        opened += 1
        try:
            listing = datasets_list(tenant=tenant, path=folder)
        except DatasetError:
            continue
        for entry in listing["entries"]:
            if entry["type"] == "folder":
                folders.append(entry["path"])
            elif len(paths) < MAX_PICKER_FILES:
                paths.append(f"{DATASET_FOLDER}/{entry['path']}")
    return paths


def dataset_csv_columns(*, tenant: Tenant, path: str) -> list[str]:
    """The header of a CSV dataset given as the operators take it (`dataset/<path>`); [] when the path is not a
    readable CSV in the tenant's datasets."""
    prefix = DATASET_FOLDER + "/"
    if not isinstance(path, str) or not path.startswith(prefix) or format_for(path) not in COLUMN_FORMATS:
        return []
    try:
        preview = dataset_preview(tenant=tenant, path=path[len(prefix) :], rows=1)
    except DatasetError:
        return []
    return [str(c) for c in preview.get("columns") or [] if str(c)]
