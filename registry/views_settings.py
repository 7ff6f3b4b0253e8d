"""The tenant admins' settings pages of operator repositories (/settings/repositories/): list, add, sync, pin."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from flowui.inputs import validation_error_text
from registry import selectors, services
from registry.models import Repository
from tenants.permissions import require_role

ADMIN = "admin"


def _tenant_repository(request, slug: str) -> Repository:
    repository = selectors.repository_for_tenant(tenant=request.tenant, slug=slug)
    if repository is None:
        raise Http404("No such repository.")
    return repository


@require_role(ADMIN)
def repositories(request):
    errors = []
    form = {"slug": "", "name": "", "url": "", "ref": "main", "source": Repository.Source.GIT}
    if request.method == "POST":
        form = {key: request.POST.get(key, default).strip() for key, default in form.items()}
        try:
            repository = services.repository_create(
                slug=form["slug"],
                name=form["name"],
                url=form["url"],
                source=form["source"],
                ref=form["ref"] or "main",
                tenant=request.tenant,
                access_token=request.POST.get("access_token", ""),
            )
        except ValidationError as exc:
            errors.append(validation_error_text(exc))
        else:
            services.repository_sync_request(repository=repository, user=request.user)
            messages.success(request, f"Added {repository.name}; the first sync has started.")
            return redirect("tenant_repositories")
    context = {
        "repositories": list(selectors.repositories_for_tenant(tenant=request.tenant)),
        "errors": errors,
        "form": form,
        "sources": Repository.Source.choices,
        "section": "repositories",
    }
    return render(request, "registry/settings_repositories.html", context, status=400 if errors else 200)


@require_role(ADMIN)
def repository_status(request, slug: str):
    repository = _tenant_repository(request, slug)
    return render(
        request,
        "registry/partials/repository_status.html",
        {"repository": repository, "sync": selectors.sync_run_latest(repository=repository)},
    )


@require_POST
@require_role(ADMIN)
def repository_sync(request, slug: str):
    repository = _tenant_repository(request, slug)
    if repository.tenant_id != request.tenant.pk:
        raise PermissionDenied("Platform repositories are synced by the platform's staff.")
    services.repository_sync_request(repository=repository, user=request.user)
    messages.success(request, f"Sync of {repository.name} requested.")
    return redirect("tenant_repositories")


@require_POST
@require_role(ADMIN)
def repository_pin(request, slug: str):
    repository = _tenant_repository(request, slug)
    if repository.tenant_id != request.tenant.pk:
        raise PermissionDenied("Platform repositories are pinned by the platform's staff.")
    ref = request.POST.get("ref", "").strip()
    try:
        services.repository_pin(repository=repository, ref=ref)
    except ValidationError as exc:
        messages.error(request, validation_error_text(exc))
        return redirect("tenant_repositories")
    services.repository_sync_request(repository=repository, user=request.user)
    messages.success(request, f"{repository.name} is pinned to {ref}; syncing it.")
    return redirect("tenant_repositories")
