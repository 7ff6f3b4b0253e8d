"""Repositories: create (URL and ref rules), pin, the git cache fetch, and the two the platform's settings name."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError

from flowui.lib import git
from registry import sources
from registry.models import Repository
from tenants.audit import audit_record
from tenants.models import Tenant
from tenants.models_audit import AuditAction

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,59}$")


def url_check(*, url: str, source: str, tenant: Tenant | None = None) -> str:
    """The URL's form for its source, then the transport and host rules of its scope (registry.sources):
    tenant repositories only over https:// (or http:// to FLOWUI_GIT_ALLOWED_HOSTS) to public hosts."""
    url = url.strip()
    if not url:
        raise ValidationError({"url": "Give the repository's URL."})
    if re.match(r"^[a-z+]+://[^/@]+:[^/@]+@", url):
        raise ValidationError({"url": "Do not put credentials in the URL; use the access token field."})
    if source == Repository.Source.GITHUB:
        if not re.match(r"^https://[^/\s]+/[^/\s]+/[^/\s]+?(\.git)?/?$", url):
            raise ValidationError({"url": "A GitHub repository URL looks like https://github.com/org/repo.git"})
    elif tenant is None and not re.match(r"^(https?|ssh|git|file)://\S+$|^/\S+$|^[\w.-]+@[\w.-]+:\S+$", url):
        raise ValidationError(
            {"url": "Use an https://, ssh://, git@host:path or file:// URL, or an absolute local path."}
        )
    try:
        sources.source_check(url=url, tenant_id=getattr(tenant, "pk", None))
    except sources.SourceRefused as exc:
        raise sources.source_validation_error(exc) from None
    return url


def repository_create(
    *,
    slug: str,
    name: str,
    url: str,
    source: str = Repository.Source.GIT,
    ref: str = "main",
    tenant: Tenant | None = None,
    access_token: str = "",
    sync_interval_minutes: int = 60,
) -> Repository:
    """A platform-wide (tenant None) or tenant-private operator repository."""
    if source not in Repository.Source.values:
        raise ValidationError(
            {"source": f"Unknown source {source!r}; expected one of {', '.join(Repository.Source.values)}."}
        )
    if not SLUG_RE.match(slug or ""):
        raise ValidationError({"slug": "Use 2-60 lower-case letters, digits or '-', starting with a letter or digit."})
    if Repository.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": f"A repository {slug!r} exists already."})
    ref = ref_check(ref)
    repository = Repository(
        slug=slug,
        name=name.strip() or slug,
        url=url_check(url=url, source=source, tenant=tenant),
        source=source,
        ref=ref,
        tenant=tenant,
        sync_interval_minutes=sync_interval_minutes,
    )
    repository.access_token = access_token.strip()
    repository.full_clean()
    repository.save()
    repository_audit(repository, AuditAction.REPOSITORY_CREATE, f"{repository.url} @ {repository.ref}")
    return repository


def repository_audit(repository: Repository, action: str, detail: str = "", user=None) -> None:
    """One audit event about the repository, in its tenant's log (the platform's for platform repositories)."""
    audit_record(
        tenant=repository.tenant,
        action=action,
        object_type="repository",
        object_id=repository.slug,
        object_repr=repository.name,
        detail=detail,
        user=user,
    )


def ref_check(ref: str) -> str:
    """The ref stripped, or a ValidationError naming what a ref may not contain."""
    ref = (ref or "").strip()
    if not ref or any(c in ref for c in " ~^:?*[\\") or ref.startswith("-") or ".." in ref:
        raise ValidationError({"ref": "Give a tag, branch or commit (no spaces, '..' or ~^:?*[ characters)."})
    return ref


def repository_pin(*, repository: Repository, ref: str) -> Repository:
    """Pin the repository to another tag, branch or commit (the next sync reads it)."""
    repository.ref = ref_check(ref)
    repository.save(update_fields=["ref"])
    repository_audit(repository, AuditAction.REPOSITORY_PIN, f"ref {repository.ref}")
    return repository


def _remote(repository: Repository) -> git.Remote:
    """The remote to fetch, after the source rules of the repository's scope are checked again (a URL stored
    before the rules, or written around them, is refused here: sources.SourceRefused, nothing is fetched)."""
    url = repository.url
    checked = sources.source_check(url=url, tenant_id=repository.tenant_id)
    if checked is not None:
        return git.Remote(
            url=checked.url, token=repository.access_token, protocols=checked.protocols, resolve=checked.resolve
        )
    if url.startswith("/"):
        url = f"file://{url}"
    return git.Remote(url=url, token=repository.access_token)


def repository_cache_key(repository: Repository) -> str:
    return f"repository-{repository.pk}"


def repository_cache_fetch(*, repository: Repository) -> Path:
    return git.fetch(
        cache_dir=settings.FLOWUI_GIT_CACHE_DIR,
        key=repository_cache_key(repository),
        remote=_remote(repository),
        timeout_s=settings.FLOWUI_GIT_TIMEOUT_S,
    )


def configured_repository_ensure() -> Repository | None:
    """The platform-wide repository the design's settings name: CODE_REPOSITORY_SOURCE=github with
    GITHUB_REPOSITORY_NAME (owner/name) and GITHUB_ACCESS_TOKEN. None when not configured."""
    name = settings.GITHUB_REPOSITORY_NAME.strip().strip("/")
    if settings.CODE_REPOSITORY_SOURCE != "github" or not name:
        return None
    if not re.match(r"^[\w.-]+/[\w.-]+$", name):
        raise ValidationError({"GITHUB_REPOSITORY_NAME": f"expected owner/name, got {name!r}"})
    slug = re.sub(r"[^a-z0-9-]+", "-", name.lower().removesuffix(".git")).strip("-")[:60]
    repository = Repository.objects.filter(slug=slug).first()
    if repository is None:
        return repository_create(
            slug=slug,
            name=name,
            url=f"https://github.com/{name.removesuffix('.git')}.git",
            source=Repository.Source.GITHUB,
            ref="main",
            access_token=settings.GITHUB_ACCESS_TOKEN,
        )
    if repository.access_token != settings.GITHUB_ACCESS_TOKEN:
        repository.access_token = settings.GITHUB_ACCESS_TOKEN
        repository.save(update_fields=["access_token_encrypted"])
    return repository


def bundled_repository_ensure() -> Repository:
    """The platform-wide repository of the bundled operators (settings.FLOWUI_BUNDLED_OPERATORS_URL)."""
    repository = Repository.objects.filter(slug="flowui-bundled").first()
    url = settings.FLOWUI_BUNDLED_OPERATORS_URL
    if repository is None:
        return repository_create(
            slug="flowui-bundled",
            name="FlowUI bundled operators",
            url=url,
            source=Repository.Source.GIT,
            ref=settings.FLOWUI_BUNDLED_OPERATORS_REF,
            tenant=None,
        )
    if repository.url != url:
        Repository.objects.filter(pk=repository.pk).update(url=url)
        repository.refresh_from_db()
    return repository
