"""The operator catalog on a tenant's domain (HTMX): operators by repository, operator pages, sync progress."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from flowui.forms_jsonschema import default_inputs, field_type, parse_form, render_form
from flowui.inputs import without_nul
from registry import selectors, services
from tenants.permissions import require_role


def _schema_fields(schema: dict | None) -> list[dict]:
    """Rows for a field table: name, type, required, default, description."""
    if not schema:
        return []
    required = set(schema.get("required") or [])
    rows = []
    for name, prop in (schema.get("properties") or {}).items():
        kind = field_type(prop, schema)
        rows.append(
            {
                "name": name,
                "title": prop.get("title", name),
                "type": kind,
                "required": name in required,
                "default": json.dumps(prop["default"]) if "default" in prop else "",
                "description": prop.get("description", ""),
            }
        )
    return rows


def catalog(request):
    query = without_nul(request.GET.get("q"))
    tag = without_nul(request.GET.get("tag"))
    rows = selectors.operator_latest_versions(tenant=request.tenant, query=query, tag=tag)
    groups: dict = {}
    for version in rows:
        groups.setdefault(version.repository, []).append(version)
    context = {
        "groups": list(groups.items()),
        "query": query,
        "tag": tag,
        "tags": [(t, "?" + urlencode({"tag": t})) for t in selectors.operator_tags(tenant=request.tenant)],
        "count": len(rows),
        "repositories": [
            (repository, selectors.sync_run_latest(repository=repository))
            for repository in selectors.repositories_for_tenant(tenant=request.tenant)
        ],
    }
    if request.htmx and request.htmx.target == "operator-results":
        return render(request, "registry/partials/operator_results.html", context)
    return render(request, "registry/catalog.html", context)


def _operator_or_404(request, repository: str, name: str):
    versions = selectors.operator_versions_of(tenant=request.tenant, repository_slug=repository, name=name)
    if not versions:
        raise Http404("No such operator.")
    return versions


def operator_detail(request, repository: str, name: str):
    versions = _operator_or_404(request, repository, name)
    wanted = request.GET.get("version")
    selected = next((v for v in versions if str(v.pk) == wanted or v.version == wanted), versions[0])
    form_html = render_form(selected.input_schema, inputs=default_inputs(selected.input_schema), prefix="preview")
    context = {
        "operator": selected,
        "versions": versions,
        "input_fields": _schema_fields(selected.input_schema),
        "output_fields": _schema_fields(selected.output_schema),
        "secret_fields": _schema_fields(selected.secrets_schema),
        "sync_error": selectors.operator_sync_error(repository=selected.repository, name=name),
        "form_html": form_html,
        "input_schema_json": json.dumps(selected.input_schema, indent=2),
    }
    return render(request, "registry/operator.html", context)


@require_POST
def operator_form_preview(request, repository: str, name: str):
    """The live preview: what the generated form's current values become (the node's inputs), or its errors."""
    versions = _operator_or_404(request, repository, name)
    selected = next((v for v in versions if str(v.pk) == request.POST.get("version_id")), versions[0])
    inputs, errors = parse_form(selected.input_schema, request.POST, prefix="preview")
    values = {key: binding.get("value") for key, binding in inputs.items()}
    return render(
        request,
        "registry/partials/form_preview.html",
        {"values_json": json.dumps(values, indent=2, default=str), "errors": errors},
    )


def sync_run_status(request, pk: int):
    """A sync's report: the live status partial for htmx polling, the full report page otherwise."""
    sync_run = selectors.sync_run_for_tenant(tenant=request.tenant, pk=pk)
    if sync_run is None:
        raise Http404("No such sync in this tenant's repositories.")
    context = {"sync": sync_run, "repository": sync_run.repository}
    return render(request, "registry/partials/sync_run.html" if request.htmx else "registry/sync_report.html", context)


SYNC_PAGE = 50


def sync_runs(request):
    """The sync reports of the repositories this tenant sees (its own and the platform's), newest first."""
    slug = request.GET.get("repository", "").strip()
    runs = list(selectors.sync_runs_for_tenant(tenant=request.tenant, repository_slug=slug)[:SYNC_PAGE])
    return render(request, "registry/sync_reports.html", {"runs": runs, "repository_slug": slug})


@require_POST
@require_role("admin")
def repository_sync(request, slug: str):
    repository = selectors.repository_for_tenant(tenant=request.tenant, slug=slug)
    if repository is None:
        raise Http404("No such repository.")
    if repository.tenant_id is None:
        raise PermissionDenied("Platform-wide repositories are synced by the platform's staff.")
    sync_run = services.repository_sync_request(repository=repository, user=request.user, trigger="portal")
    if request.htmx:
        return render(request, "registry/partials/sync_run.html", {"sync": sync_run, "repository": repository})
    return redirect("registry:catalog")
