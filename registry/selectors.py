"""Reads of the operator registry: what a tenant can see, versions, refs for the runtime."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from flowui.inputs import has_nul
from flowui_runtime.contracts import OperatorRef
from registry.models import BatchJobDefinition, OperatorVersion, Repository, SyncRun


def repositories_for_tenant(*, tenant) -> QuerySet[Repository]:
    """Platform-wide repositories and the tenant's private ones."""
    return Repository.objects.filter(Q(tenant__isnull=True) | Q(tenant=tenant)).order_by("tenant_id", "name")


def repository_for_tenant(*, tenant, slug: str) -> Repository | None:
    return repositories_for_tenant(tenant=tenant).filter(slug=slug).first()


def operator_versions_for_tenant(*, tenant) -> QuerySet[OperatorVersion]:
    """Every stored operator version the tenant may use (platform-wide + its private repositories)."""
    return OperatorVersion.objects.filter(
        Q(repository__tenant__isnull=True) | Q(repository__tenant=tenant)
    ).select_related("repository", "dependency_group")


def operator_version_get(*, repository_slug: str, name: str, version: str | None = None) -> OperatorVersion | None:
    """The newest stored row of (repository, name, version); version None -> the newest version."""
    qs = OperatorVersion.objects.filter(repository__slug=repository_slug, name=name).select_related(
        "repository", "dependency_group"
    )
    if version is not None:
        qs = qs.filter(version=version)
    return qs.order_by("-created_at", "-id").first()


def operator_version_for_tenant(*, tenant, repository_slug: str, name: str, version: str | None = None):
    """Like operator_version_get, but only among what the tenant can see (None otherwise)."""
    if has_nul(repository_slug, name, version):
        return None
    qs = operator_versions_for_tenant(tenant=tenant).filter(repository__slug=repository_slug, name=name)
    if version is not None:
        qs = qs.filter(version=version)
    return qs.order_by("-created_at", "-id").first()


def operator_versions_for_pins(*, tenant, pins) -> dict[tuple[str, str, str], OperatorVersion]:
    """The tenant's OperatorVersion for each (repository_slug, name, version) pin, in one query.

    Missing keys are unknown, not synced, or not available to the tenant. Used where a whole workflow's
    nodes are resolved at once (validation, DAG writing), so the query count does not grow with nodes.
    """
    keys = {(p[0], p[1], p[2]) for p in pins if not has_nul(p[0], p[1], p[2])}
    if not keys:
        return {}
    condition = Q()
    for repository_slug, name, version in keys:
        condition |= Q(repository__slug=repository_slug, name=name, version=version)
    found: dict[tuple[str, str, str], OperatorVersion] = {}
    # Oldest first, so the newest stored row of a key wins (as in operator_version_for_tenant).
    for row in operator_versions_for_tenant(tenant=tenant).filter(condition).order_by("created_at", "id"):
        found[(row.repository.slug, row.name, row.version)] = row
    return found


def operator_ref(operator_version: OperatorVersion) -> OperatorRef:
    return OperatorRef(
        repository=operator_version.repository.slug,
        name=operator_version.name,
        version=operator_version.version,
        commit=operator_version.commit,
    )


def _version_key(version: str) -> tuple:
    parts = []
    for part in version.replace("-", ".").replace("+", ".").split("."):
        parts.append((0, int(part), "") if part.isdigit() else (1, 0, part))
    return tuple(parts)


def operator_latest_versions(
    *, tenant, query: str = "", tag: str = "", repository_slug: str = ""
) -> list[OperatorVersion]:
    """One row per (repository, operator name): its highest version (newest commit), filtered by search and tag.

    Operators whose folder was removed from the repository stay listed (their versions stay usable)."""
    qs = operator_versions_for_tenant(tenant=tenant)
    if repository_slug:
        qs = qs.filter(repository__slug=repository_slug)
    latest: dict[tuple[int, str], OperatorVersion] = {}
    for version in qs.order_by("created_at", "id"):
        key = (version.repository_id, version.name)
        current = latest.get(key)
        if current is None or _version_key(version.version) >= _version_key(current.version):
            latest[key] = version
    rows = list(latest.values())
    if query:
        needle = query.lower().strip()
        rows = [
            v
            for v in rows
            if needle in v.name.lower()
            or needle in v.description.lower()
            or needle in v.label.lower()
            or any(needle in t.lower() for t in v.tags)
        ]
    if tag:
        rows = [v for v in rows if tag in v.tags]
    return sorted(rows, key=lambda v: (v.repository.tenant_id is not None, v.repository.name, v.name))


def operator_versions_of(*, tenant, repository_slug: str, name: str) -> list[OperatorVersion]:
    """All stored versions of one operator, highest version first (newest commit first within one version)."""
    if has_nul(name, repository_slug):  # PostgreSQL rejects NUL in text: no such operator
        return []
    rows = list(
        operator_versions_for_tenant(tenant=tenant)
        .filter(repository__slug=repository_slug, name=name)
        .order_by("-created_at", "-id")
    )
    return sorted(rows, key=lambda v: _version_key(v.version), reverse=True)


def operator_tags(*, tenant) -> list[str]:
    tags: set[str] = set()
    for metadata in operator_versions_for_tenant(tenant=tenant).values_list("metadata", flat=True):
        tags.update(metadata.get("tags", []) if isinstance(metadata, dict) else [])
    return sorted(tags)


def sync_runs_for_tenant(*, tenant, repository_slug: str = "") -> QuerySet[SyncRun]:
    """Syncs of the platform's repositories and of this tenant's own, newest first: never another tenant's."""
    queryset = SyncRun.objects.filter(Q(repository__tenant__isnull=True) | Q(repository__tenant=tenant))
    if repository_slug:
        queryset = queryset.filter(repository__slug=repository_slug)
    return queryset.select_related("repository").order_by("-created_at", "-id")


def sync_run_for_tenant(*, tenant, pk: int) -> SyncRun | None:
    return sync_runs_for_tenant(tenant=tenant).filter(pk=pk).first()


def sync_run_latest(*, repository: Repository) -> SyncRun | None:
    return repository.sync_runs.order_by("-created_at", "-id").first()


def operator_sync_error(*, repository: Repository, name: str) -> str | None:
    """The error of this operator in the repository's latest finished sync, if it had one."""
    run = repository.sync_runs.filter(state=SyncRun.State.DONE).order_by("-created_at", "-id").first()
    if run is None:
        return None
    entry = (run.report or {}).get("operators", {}).get(name)
    return entry.get("error") if entry and entry.get("status") == "error" else None


def batch_job_definitions(*, tenant) -> list[tuple[str, str, str]]:
    """(definition name, definition ARN, queue ARN) of each job definition registered for the tenant."""
    rows = (
        BatchJobDefinition.objects.filter(tenant=tenant)
        .select_related("operator_version")
        .order_by("operator_version__name", "operator_version__created_at")
    )
    return [(row.job_definition_name, row.job_definition_arn, row.job_queue_arn) for row in rows]


def operator_version_by_id(*, tenant, pk: int) -> OperatorVersion | None:
    """One operator version by primary key, only if the tenant may use it (the editor's palette posts ids)."""
    return operator_versions_for_tenant(tenant=tenant).filter(pk=pk).first()
