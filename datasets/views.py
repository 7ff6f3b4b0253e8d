"""The Data page (/data/): browse the tenant's dataset folders, upload (with a progress bar through
static/js/datasets.js, a plain form without JavaScript), preview the first rows, download, delete with a
confirmation. Viewers browse, preview and download; editors upload and delete. `request.htmx` gets the partial.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from datasets import selectors, services
from datasets.uploads import upload_too_large
from tenants.permissions import require_role

PANEL = "datasets/partials/panel.html"
BROWSER = "datasets/partials/browser.html"


def _status(request, status: int) -> int:
    """htmx (2.x) swaps only 2xx answers: a partial carrying an error message is sent as 200 to it."""
    return 200 if request.htmx else status


def _data_url(path: str) -> str:
    return f"/data/?{urlencode({'path': path})}" if path else "/data/"


def _crumbs(path: str) -> list[dict[str, str]]:
    parts = path.split("/") if path else []
    return [{"name": part, "path": "/".join(parts[: i + 1])} for i, part in enumerate(parts)]


def _browser_context(request, path: str) -> dict:
    listing = selectors.datasets_list(tenant=request.tenant, path=path)
    for entry in listing["entries"]:
        entry["query"] = urlencode({"path": entry["path"]})
        entry["modified_display"] = entry["modified"][:16].replace("T", " ") + " UTC"
    return {
        "listing": listing,
        "crumbs": _crumbs(listing["path"]),
        "max_mb": services.upload_max_bytes() // (1024 * 1024),
        "max_bytes": services.upload_max_bytes(),
    }


def _render_browser(
    request, path: str, *, status: int = 200, message: str = "", level: str = "success", panel: dict | None = None
):
    """The page (or, for htmx, the browser partial) of folder `path`; a missing folder falls back to the top."""
    try:
        context = _browser_context(request, path)
    except (selectors.DatasetPathInvalid, selectors.DatasetNotFound) as exc:
        context = _browser_context(request, "")
        message, level, status = str(exc), "error", 404 if isinstance(exc, selectors.DatasetNotFound) else 400
    context.update({"message": message, "level": level, "panel": panel or {}, "oob_panel": request.htmx})
    template = BROWSER if request.htmx else "datasets/browser.html"
    return render(request, template, context, status=_status(request, status))


def data_browser(request):
    return _render_browser(request, request.GET.get("path", ""))


def data_preview(request):
    path = request.GET.get("path", "")
    panel: dict = {"kind": "preview", "path": path}
    status = 200
    try:
        panel["preview"] = selectors.dataset_preview(tenant=request.tenant, path=path)
    except selectors.DatasetNotFound as exc:
        panel["error"], status = str(exc), 404
    except (selectors.DatasetPathInvalid, selectors.DatasetPreviewUnavailable) as exc:
        panel["error"], status = str(exc), 400
    except OSError as exc:
        panel["error"], status = f"The file cannot be read: {exc.strerror or exc.__class__.__name__}.", 503
    panel["download_query"] = urlencode({"path": path})
    if request.htmx:
        return render(request, PANEL, {"panel": panel}, status=_status(request, status))
    return _render_browser(request, path.rsplit("/", 1)[0] if "/" in path else "", status=status, panel=panel)


def data_download(request):
    try:
        opened = selectors.dataset_open(tenant=request.tenant, path=request.GET.get("path", ""))
    except (selectors.DatasetPathInvalid, selectors.DatasetNotFound):
        raise Http404("No such dataset file.") from None
    response = FileResponse(opened.file)
    for header, value in selectors.download_headers(opened.name).items():
        response[header] = value
    response["Content-Length"] = str(opened.size)
    return response


@require_POST
@require_role("editor")
def data_upload(request):
    """Multipart form: file, path (folder), overwrite. Capped while streaming (datasets.uploads)."""
    files = request.FILES
    folder = request.POST.get("path", "")
    upload = files.get("file")
    status, level = 201, "success"
    if upload_too_large(request):
        message, status = str(services.DatasetTooLarge(services.upload_max_bytes())), 413
    elif upload is None:
        message, status = "Choose a file to upload.", 400
    else:
        try:
            with upload:
                entry = services.dataset_upload(
                    tenant=request.tenant,
                    folder=folder,
                    name=upload.name,
                    source=upload,
                    overwrite=request.POST.get("overwrite") in ("1", "on", "true"),
                )
            message = f"Uploaded {entry['path']} ({entry['size']} bytes)."
        except services.DatasetTooLarge as exc:
            message, status = str(exc), 413
        except (selectors.DatasetPathInvalid, services.DatasetConflict, selectors.DatasetNotFound) as exc:
            message, status = str(exc), 409 if isinstance(exc, services.DatasetConflict) else 400
        except OSError as exc:  # the storage failed (full, read-only): said, not a server error page
            message, status = f"The dataset storage failed: {exc.strerror or exc.__class__.__name__}.", 503
    if status >= 400:
        level = "error"
    if request.htmx:
        return _render_browser(request, folder, status=status, message=message, level=level)
    (messages.success if level == "success" else messages.error)(request, message)
    try:
        selectors.dataset_parts(folder, allow_root=True)
    except selectors.DatasetPathInvalid:
        folder = ""
    return redirect(_data_url(folder))


@require_http_methods(["GET", "POST"])
@require_role("editor")
def data_delete(request):
    """GET: what would be deleted, and a confirmation form. POST: delete (a folder with content only when the
    form confirms it with recursive=1)."""
    path = request.POST.get("path", "") if request.method == "POST" else request.GET.get("path", "")
    parent = path.rsplit("/", 1)[0] if "/" in path.rstrip("/") else ""
    if request.method == "GET":
        panel: dict = {"kind": "delete", "path": path, "parent_url": _data_url(parent)}
        status = 200
        try:
            panel["type"] = selectors.dataset_kind(tenant=request.tenant, path=path)
            if panel["type"] == "folder":
                panel["summary"] = selectors.folder_summary(tenant=request.tenant, path=path)
        except selectors.DatasetNotFound as exc:
            panel["error"], status = str(exc), 404
        except selectors.DatasetPathInvalid as exc:
            panel["error"], status = str(exc), 400
        if request.htmx:
            return render(request, PANEL, {"panel": panel}, status=_status(request, status))
        return _render_browser(request, parent, status=status, panel=panel)
    status, level = 200, "success"
    try:
        done = services.dataset_delete(tenant=request.tenant, path=path, recursive=request.POST.get("recursive") == "1")
        message = f"Deleted the {done['type']} {done['path']}."
    except services.DatasetNotEmpty as exc:
        message, status, level = str(exc), 409, "error"
    except selectors.DatasetNotFound as exc:
        message, status, level = str(exc), 404, "error"
    except selectors.DatasetPathInvalid as exc:
        message, status, level = str(exc), 400, "error"
    except OSError as exc:
        message, status, level = f"The dataset storage failed: {exc.strerror or exc.__class__.__name__}.", 503, "error"
    if request.htmx:
        return _render_browser(request, parent, status=status, message=message, level=level)
    (messages.success if level == "success" else messages.error)(request, message)
    return redirect(_data_url(parent if status != 400 else ""))
