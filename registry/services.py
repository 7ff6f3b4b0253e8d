"""Writes of the operator registry: repositories, syncs, dependency venvs, code materialisation, Batch definitions."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from flowui.lib import git
from flowui_runtime import sandbox
from flowui_runtime.checks import (
    DEPENDENCIES_MAP_PATH,
    OperatorCheck,
    dependency_group_errors,
    duplicate_names_mark,
    operator_dir_check,
    output_path_warnings,
    requirements_errors,
    requirements_hash,
)
from flowui_runtime.contracts import VENV_READY_MARKER, batch_job_names, operator_code_dir
from flowui_runtime.dockerfiles import group_image
from flowui_runtime.inspect import InspectJob, extract_schemas
from registry import sources
from registry.layouts import repository_layout
from registry.models import BatchJobDefinition, DependencyGroup, OperatorVersion, Repository, SyncRun
from tenants.models_audit import AuditAction

logger = logging.getLogger(__name__)

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,59}$")
DEFAULT_GROUP = "default"
_LOCK_NAMESPACE = 4_404_001  # pg advisory lock namespace of repository syncs
_PROGRESS_EVERY_S = 0.3
STALE_PENDING_MINUTES = 15


class DependencyVenvError(Exception):
    """A dependency group's virtualenv could not be built."""


# --- repositories ---------------------------------------------------------------------------
def _url_check(*, url: str, source: str, tenant=None) -> str:
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
    tenant=None,
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
    ref = _ref_check(ref)
    repository = Repository(
        slug=slug,
        name=name.strip() or slug,
        url=_url_check(url=url, source=source, tenant=tenant),
        source=source,
        ref=ref,
        tenant=tenant,
        sync_interval_minutes=sync_interval_minutes,
    )
    repository.access_token = access_token.strip()
    repository.full_clean()
    repository.save()
    _audit(repository, AuditAction.REPOSITORY_CREATE, f"{repository.url} @ {repository.ref}")
    return repository


def _audit(repository: Repository, action: str, detail: str = "", user=None) -> None:
    from tenants.audit import audit_record

    audit_record(
        tenant=repository.tenant,
        action=action,
        object_type="repository",
        object_id=repository.slug,
        object_repr=repository.name,
        detail=detail,
        user=user,
    )


def _ref_check(ref: str) -> str:
    ref = (ref or "").strip()
    if not ref or any(c in ref for c in " ~^:?*[\\") or ref.startswith("-") or ".." in ref:
        raise ValidationError({"ref": "Give a tag, branch or commit (no spaces, '..' or ~^:?*[ characters)."})
    return ref


def repository_pin(*, repository: Repository, ref: str) -> Repository:
    """Pin the repository to another tag, branch or commit (the next sync reads it)."""
    repository.ref = _ref_check(ref)
    repository.save(update_fields=["ref"])
    _audit(repository, AuditAction.REPOSITORY_PIN, f"ref {repository.ref}")
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


def _cache_key(repository: Repository) -> str:
    return f"repository-{repository.pk}"


def repository_cache_fetch(*, repository: Repository) -> Path:
    return git.fetch(
        cache_dir=settings.FLOWUI_GIT_CACHE_DIR,
        key=_cache_key(repository),
        remote=_remote(repository),
        timeout_s=settings.FLOWUI_GIT_TIMEOUT_S,
    )


# --- syncs ----------------------------------------------------------------------------------
def repository_sync_request(*, repository: Repository, user=None, trigger: str = "manual") -> SyncRun:
    """Queue a sync (a Celery task after commit). An already queued or running sync is returned instead."""
    from registry.tasks import repository_sync_task

    _stale_sync_runs_fail(repository=repository)
    active = repository.sync_runs.filter(
        state__in=[SyncRun.State.PENDING, SyncRun.State.RUNNING],
        created_at__gte=timezone.now() - timezone.timedelta(hours=1),
    ).first()
    if active is not None:
        return active
    sync_run = SyncRun.objects.create(
        repository=repository, trigger=trigger, requested_by=user if user and user.is_authenticated else None
    )
    transaction.on_commit(lambda: repository_sync_task.delay(sync_run.pk))
    if trigger != "periodic":  # scheduled syncs are the platform's, not someone's action
        _audit(repository, AuditAction.REPOSITORY_SYNC, f"sync run {sync_run.pk}", user=user)
    return sync_run


def _repository_lock_held(repository: Repository) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND objid = %s"
            " AND objsubid = 2 AND granted)",
            [_LOCK_NAMESPACE, repository.pk],
        )
        return cursor.fetchone()[0]


def _stale_sync_runs_fail(*, repository: Repository) -> None:
    """A run left `running` by a worker that stopped (nobody holds the repository's lock) or `pending` that no
    worker picked up in time would block new syncs: end them with the reason."""
    now = timezone.now()
    running = repository.sync_runs.filter(state=SyncRun.State.RUNNING)
    if running.exists() and not _repository_lock_held(repository):
        running.update(
            state=SyncRun.State.FAILED,
            finished_at=now,
            error="Interrupted: the worker running this sync stopped before it finished.",
        )
    repository.sync_runs.filter(
        state=SyncRun.State.PENDING, created_at__lt=now - timezone.timedelta(minutes=STALE_PENDING_MINUTES)
    ).update(
        state=SyncRun.State.FAILED,
        finished_at=now,
        error=f"Never started: no Celery worker picked it up within {STALE_PENDING_MINUTES} minutes.",
    )


@contextlib.contextmanager
def _repository_lock(repository: Repository):
    """One sync per repository at a time, across workers (a PostgreSQL session advisory lock)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_NAMESPACE, repository.pk])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_NAMESPACE, repository.pk])


def _sync_fail(sync_run: SyncRun, reason: str, *, repository_state: bool = True) -> SyncRun:
    now = timezone.now()
    sync_run.state = SyncRun.State.FAILED
    sync_run.error = reason
    sync_run.finished_at = now
    sync_run.save(update_fields=["state", "error", "finished_at", "report", "commit", "progress_total"])
    if repository_state:
        Repository.objects.filter(pk=sync_run.repository_id).update(
            last_sync_state=Repository.SyncState.FAILED, last_sync_error=reason, last_synced_at=now
        )
    logger.warning("sync #%s of %s failed: %s", sync_run.pk, sync_run.repository.slug, reason)
    return sync_run


def repository_sync(*, sync_run: SyncRun, on_progress=None, full: bool = False) -> SyncRun:
    """Run one sync (the Celery task's body; also called directly by commands and the bench).

    Never raises for a repository problem: the SyncRun ends `failed` with the reason, and nothing stored
    before is deleted."""
    repository = sync_run.repository
    with _repository_lock(repository) as acquired:
        if not acquired:
            return _sync_fail(
                sync_run, "Another sync of this repository is running; try again when it ends.", repository_state=False
            )
        sync_run.state = SyncRun.State.RUNNING
        sync_run.started_at = timezone.now()
        sync_run.save(update_fields=["state", "started_at"])
        Repository.objects.filter(pk=repository.pk).update(last_sync_state=Repository.SyncState.RUNNING)
        try:
            return _sync(sync_run, on_progress=on_progress, full=full)
        except sources.SourceRefused as exc:
            return _sync_fail(sync_run, f"Repository URL refused, nothing was fetched: {exc}.")
        except git.GitError as exc:
            return _sync_fail(sync_run, f"Repository unreachable or ref missing: {exc}")
        except ValueError as exc:
            return _sync_fail(sync_run, str(exc))
        except Exception as exc:
            logger.exception("sync #%s crashed", sync_run.pk)
            return _sync_fail(sync_run, f"Unexpected error during the sync: {type(exc).__name__}: {exc}")


def _groups_ensure(*, repository: Repository, deps_map) -> tuple[dict[str, DependencyGroup], dict[str, str]]:
    """The DependencyGroup rows of the map as it is now (new rows for new or changed groups), and the groups
    refused because a requirement line is not a plain pin ({name: error naming the line}; no row for them)."""
    errors = dependency_group_errors(deps_map)
    definitions = {name: (group.requirements, group.image) for name, group in deps_map.groups.items()}
    definitions.setdefault(DEFAULT_GROUP, ([], ""))
    groups = {}
    for name, (requirements, image) in definitions.items():
        if name in errors:
            continue
        requirements = [line.strip() for line in requirements if line.strip()]
        req_hash = requirements_hash(requirements)
        image = group_image(name, image)  # the image builder's naming (flowui_runtime.dockerfiles)
        group = DependencyGroup.objects.filter(
            repository=repository, name=name, requirements_hash=req_hash, image=image
        ).first()
        if group is None:
            group = DependencyGroup.objects.create(
                repository=repository, name=name, requirements=requirements, requirements_hash=req_hash, image=image
            )
        groups[name] = group
    return groups, errors


def dependency_venv_python(group: DependencyGroup | None) -> str:
    """The group's venv python when it is built, else the platform's python (extraction then needs only pydantic)."""
    if group is not None and group.requirements:
        path = Path(settings.FLOWUI_VENVS_DIR) / group.requirements_hash
        if (path / VENV_READY_MARKER).exists():
            return str(path / "bin" / "python")
    return sys.executable


def _sync(sync_run: SyncRun, on_progress=None, full: bool = False) -> SyncRun:
    repository = sync_run.repository
    started = time.monotonic()
    cache = repository_cache_fetch(repository=repository)
    commit = git.resolve(repo=cache, ref=repository.ref)
    tags = git.tags(repo=cache)
    layout = repository_layout(repo=cache, commit=commit)  # FlowUI's operators/ or a Domino pieces/ repository
    folders = layout.folders
    sync_run.commit = commit
    if not folders:
        return _sync_fail(
            sync_run,
            f"No operator folders: operators/{{name}}/ is empty or missing at {repository.ref} ({commit[:8]}).",
        )
    deps_map = layout.deps_map
    groups, group_errors = _groups_ensure(repository=repository, deps_map=deps_map)

    report: dict = {"operators": {}, "warnings": [], "extracted": 0}
    if group_errors:
        report["group_errors"] = group_errors
    sync_run.progress_total = len(folders)
    sync_run.report = report
    sync_run.save(update_fields=["commit", "progress_total", "report"])

    latest: dict[tuple[str, str], OperatorVersion] = {}
    for version in OperatorVersion.objects.filter(repository=repository, name__in=list(folders)).order_by("created_at"):
        latest[(version.name, version.tree_hash)] = version

    # A broken operator whose files, the dependencies map, the set of operators and the built venvs are all
    # as in the last finished sync keeps its error without being extracted again (a hang costs its timeout once).
    map_blob = layout.map_id
    ready_venvs = sorted(g.requirements_hash for g in groups.values() if dependency_venv_python(g) != sys.executable)
    fingerprint = requirements_hash([f"map={map_blob}", f"venvs={ready_venvs}", f"operators={sorted(folders)}"])
    report["fingerprint"] = fingerprint
    previous = repository.sync_runs.filter(state=SyncRun.State.DONE).exclude(pk=sync_run.pk).order_by("-id").first()
    previous_errors = {}
    if previous is not None and not full and (previous.report or {}).get("fingerprint") == fingerprint:
        previous_errors = {
            name: entry
            for name, entry in previous.report.get("operators", {}).items()
            if entry.get("status") == "error" and entry.get("tree_hash")
        }

    changed: list[str] = []
    for name, tree_hash in folders.items():
        known = latest.get((name, tree_hash))
        group = (
            groups.get(deps_map.group_of(name, known.metadata.get("dependency_group", DEFAULT_GROUP)))
            if known
            else None
        )
        failed_before = previous_errors.get(name)
        if known is not None and group is not None and group.pk == known.dependency_group_id:
            report["operators"][name] = {
                "status": "unchanged",
                "version": known.version,
                "operator_version_id": known.pk,
            }
        elif failed_before is not None and failed_before["tree_hash"] == tree_hash:
            report["operators"][name] = {
                "status": "error",
                "error": failed_before["error"],
                "tree_hash": tree_hash,
                "unchanged_since": previous.pk,
            }
        else:
            changed.append(name)

    progress = {"done": len(folders) - len(changed), "saved_at": 0.0}

    def advance(force: bool = False) -> None:
        progress["done"] += 0 if force else 1
        if on_progress is not None:
            on_progress(progress["done"], len(folders))
        if force or time.monotonic() - progress["saved_at"] > _PROGRESS_EVERY_S:
            SyncRun.objects.filter(pk=sync_run.pk).update(progress_done=progress["done"])
            progress["saved_at"] = time.monotonic()

    advance(force=True)
    with tempfile.TemporaryDirectory(prefix="flowui-sync-") as workdir:
        export_root = Path(workdir)
        export_warnings = layout.export(names=changed, destination=export_root)
        checks: dict[str, OperatorCheck] = {
            name: operator_dir_check(export_root / "operators" / name, folder=name) for name in changed
        }
        for name, warnings in export_warnings.items():
            checks[name].warnings[:0] = warnings
        # Unchanged operators still claim their names (a changed folder may not take one of them).
        all_checks = {name: OperatorCheck(folder=name) for name in folders} | checks
        duplicate_names_mark(all_checks)

        jobs: list[InspectJob] = []
        job_groups: dict[str, DependencyGroup] = {}
        for name in changed:
            check = checks[name]
            if check.ok:
                group_name = deps_map.group_of(name, check.metadata.dependency_group)
                if group_name in group_errors:
                    check.errors.append(group_errors[group_name])
                elif group_name not in groups:
                    check.errors.append(f"dependency group {group_name!r} is not defined in {DEPENDENCIES_MAP_PATH}")
                elif (
                    check.metadata.version
                    and OperatorVersion.objects.filter(
                        repository=repository, name=name, version=check.metadata.version, commit=commit
                    ).exists()
                ):
                    report["operators"][name] = {"status": "unchanged", "version": check.metadata.version}
                    advance()
                    continue
                else:
                    job_groups[name] = groups[group_name]
                    jobs.append(
                        InspectJob(
                            key=name,
                            operator_dir=export_root / "operators" / name,
                            python=dependency_venv_python(groups[group_name]),
                        )
                    )
                    continue
            report["operators"][name] = {
                "status": "error",
                "error": "; ".join(check.errors),
                "tree_hash": folders[name],
            }
            advance()

        for result in extract_schemas(
            jobs,
            timeout_s=settings.FLOWUI_INSPECT_TIMEOUT_S,
            memory_mb=settings.FLOWUI_INSPECT_MEMORY_MB,
            workers=settings.FLOWUI_INSPECT_WORKERS,
        ):
            report["extracted"] += 1
            name = result.key
            if not result.ok:
                report["operators"][name] = {
                    "status": "error",
                    "error": result.error or "schema extraction failed",
                    "tree_hash": folders[name],
                }
                advance()
                continue
            metadata = checks[name].metadata
            group = job_groups[name]
            try:
                with transaction.atomic():
                    stored = OperatorVersion.objects.create(
                        repository=repository,
                        name=name,
                        version=metadata.version,
                        commit=commit,
                        tree_hash=folders[name],
                        input_schema=result.input_schema or {},
                        output_schema=result.output_schema,
                        secrets_schema=result.secrets_schema,
                        metadata=metadata.model_dump(mode="json") | {"dependency_group": group.name},
                        dependency_group=group,
                        image=group.image,
                    )
            except IntegrityError:
                report["operators"][name] = {"status": "unchanged", "version": metadata.version}
                advance()
                continue
            older = [v for (n, _), v in latest.items() if n == name and v.version == metadata.version]
            if older:
                report["warnings"].append(
                    f"{name}: files changed but version {metadata.version} was not bumped; "
                    f"the newest commit ({commit[:8]}) now serves {metadata.version}"
                )
            warnings = checks[name].warnings + output_path_warnings(result.output_schema)
            report["warnings"] += [f"{name}: {warning}" for warning in warnings]
            report["operators"][name] = {
                "status": "synced",
                "version": metadata.version,
                "operator_version_id": stored.pk,
                "extract_s": result.duration_s,
                "warnings": warnings,
            }
            advance()

    counts = {status: 0 for status in ("synced", "unchanged", "error")}
    for entry in report["operators"].values():
        counts[entry["status"]] += 1
    report["counts"] = counts
    report["duration_s"] = round(time.monotonic() - started, 3)
    now = timezone.now()
    sync_run.report = report
    sync_run.progress_done = len(folders)
    sync_run.state = SyncRun.State.DONE
    sync_run.finished_at = now
    sync_run.save(update_fields=["report", "progress_done", "state", "finished_at"])
    Repository.objects.filter(pk=repository.pk).update(
        last_sync_state=Repository.SyncState.PARTIAL if counts["error"] else Repository.SyncState.OK,
        last_sync_error=f"{counts['error']} operator(s) have errors; see sync #{sync_run.pk}"
        if counts["error"]
        else "",
        last_synced_at=now,
        last_synced_commit=commit,
        available_tags=tags,
    )
    if settings.FLOWUI_VENVS_AUTOBUILD and settings.FLOWUI_DEPLOY_MODE == "local":
        from registry.tasks import dependency_venv_task

        def enqueue(pk: int) -> None:
            try:
                dependency_venv_task.delay(pk)
            except Exception as exc:  # a broker outage must not fail a finished sync
                logger.warning("could not queue the venv build of dependency group %s: %s", pk, exc)

        for group in {g.pk: g for g in job_groups.values() if g.requirements}.values():
            transaction.on_commit(lambda pk=group.pk: enqueue(pk))
    return sync_run


def repository_sync_now(
    *, repository: Repository, trigger: str = "command", user=None, on_progress=None, full: bool = False
) -> SyncRun:
    """Synchronous sync (management commands, the bench): create the SyncRun and run it here.

    on_progress(done, total) is called as operators are processed; full=True re-checks operators that failed
    before even when nothing changed."""
    sync_run = SyncRun.objects.create(repository=repository, trigger=trigger, requested_by=user)
    return repository_sync(sync_run=sync_run, on_progress=on_progress, full=full)


def repositories_due_sync_request() -> list[SyncRun]:
    """The periodic dispatcher: queue a sync of each repository whose interval has elapsed."""
    now = timezone.now()
    queued = []
    for repository in Repository.objects.filter(sync_interval_minutes__gt=0):
        due = repository.last_synced_at is None or (
            now - repository.last_synced_at >= timezone.timedelta(minutes=repository.sync_interval_minutes)
        )
        if due:
            queued.append(repository_sync_request(repository=repository, trigger="periodic"))
    return queued


PERIODIC_SYNC_TASK_NAME = "registry: sync repositories whose interval elapsed"


def registry_sync_schedule_ensure(*, every_minutes: int = 5):
    """The beat entry of the periodic sync dispatcher (also created by a migration; idempotent)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    schedule, _ = IntervalSchedule.objects.get_or_create(every=every_minutes, period=IntervalSchedule.MINUTES)
    task, _ = PeriodicTask.objects.get_or_create(
        name=PERIODIC_SYNC_TASK_NAME, defaults={"interval": schedule, "task": "registry.tasks.registry_sync_dispatch"}
    )
    return task


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


# --- dependency venvs -----------------------------------------------------------------------
def _platform_pydantic_requirement() -> str:
    import pydantic

    return f"pydantic=={pydantic.VERSION}"


def _build_env() -> dict[str, str]:
    """The environment of a venv build: what pip/uv need to find and cache packages, nothing of the platform's
    (no database URL, secret key, cloud credentials)."""
    keep = {
        "PATH",
        "HOME",
        "LANG",
        "TMPDIR",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "XDG_CACHE_HOME",
    }
    return {key: value for key, value in os.environ.items() if key in keep or key.startswith(("PIP_", "UV_"))} | {
        "LANG": "C.UTF-8"
    }


def dependency_venv_ensure(group: DependencyGroup) -> Path:
    """Build (once, cached by requirements hash) the virtualenv of a dependency group; returns its folder.

    FLOWUI_VENVS_DIR/<requirements_hash>/bin/python is what the local runtime runs the group's operators with.
    Pydantic (the platform's version) is always installed: model.py and the runtime need it."""
    problems = requirements_errors(list(group.requirements))
    if problems:  # rows stored before the rule, or written around it, are never handed to pip
        raise DependencyVenvError(f"dependency group {group.name!r}: " + "; ".join(problems))
    venvs = Path(settings.FLOWUI_VENVS_DIR)
    venvs.mkdir(parents=True, exist_ok=True)
    path = venvs / group.requirements_hash
    ready = path / VENV_READY_MARKER
    if ready.exists():
        return path
    with open(venvs / f"{group.requirements_hash}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be building the same venv: wait for it
        if ready.exists():
            return path
        # Built aside and renamed when complete: the runtime uses <hash>/bin/python as soon as it exists.
        building = venvs / f".{group.requirements_hash}.building"
        shutil.rmtree(building, ignore_errors=True)
        shutil.rmtree(path, ignore_errors=True)
        requirements = list(group.requirements)
        if not any(re.match(r"^pydantic\b", line, re.IGNORECASE) for line in requirements):
            requirements.append(_platform_pydantic_requirement())
        try:
            subprocess.run(
                [sys.executable, "-m", "venv", str(building)],
                check=True,
                capture_output=True,
                timeout=300,
                env=_build_env(),
            )
            _venv_install(building, requirements)
        except subprocess.CalledProcessError as exc:
            shutil.rmtree(building, ignore_errors=True)
            tail = _text(exc.stderr or exc.stdout).strip().splitlines()[-3:]
            raise DependencyVenvError(
                f"dependency group {group.name!r}: building its virtualenv failed: {' / '.join(tail) or exc}"
            )
        except subprocess.TimeoutExpired:
            shutil.rmtree(building, ignore_errors=True)
            raise DependencyVenvError(f"dependency group {group.name!r}: pip install did not finish in time")
        except (sandbox.SandboxUnavailable, sandbox.SandboxError) as exc:
            shutil.rmtree(building, ignore_errors=True)
            raise DependencyVenvError(f"dependency group {group.name!r}: {exc}")
        (building / VENV_READY_MARKER).write_text("\n".join(requirements) + "\n")
        building.rename(path)
    return path


def _text(value: bytes | str | None) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else (value or "")


def _venv_install(venv: Path, requirements: list[str]) -> None:
    """Install the group's pinned requirements into `venv` inside the sandbox: wheels only (no package's
    build code runs), none of the platform's environment, network for the package index, the venv mounted
    where local tasks will see it (so its scripts name that path). uv shares the platform's download cache;
    wheels-only keeps anything built by a tenant out of it."""
    uv = Path(sys.executable).parent / "uv"  # installed by `make setup`: seconds where pip takes minutes
    if not sandbox.enabled():  # development only: the same wheels-only install, bare
        logger.warning("%s (venv build of %s)", sandbox.OFF_WARNING, venv.name)
        python = str(venv / "bin" / "python")
        bare = (
            [str(uv), "pip", "install", "-q", "--no-build", "--python", python]
            if uv.exists()
            else [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--only-binary=:all:"]
        )
        subprocess.run([*bare, *requirements], check=True, capture_output=True, timeout=1800, env=_build_env())
        return
    inside_python = f"{sandbox.INSIDE_VENV}/bin/python"
    env = {"PATH": f"{sandbox.INSIDE_VENV}/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8"}
    ro: list[tuple[str, str]] = []
    rw = [(str(venv), sandbox.INSIDE_VENV)]
    if uv.exists():
        cache = Path(settings.FLOWUI_UV_CACHE_DIR)
        cache.mkdir(parents=True, exist_ok=True)
        ro.append((str(uv.resolve()), "/flowui/bin/uv"))
        rw.append((str(cache), "/flowui/uv-cache"))
        env["UV_CACHE_DIR"] = "/flowui/uv-cache"
        env["UV_NATIVE_TLS"] = "true"  # the host's CA store (/etc/ssl is bound read-only), like pip
        command = ["/flowui/bin/uv", "pip", "install", "-q", "--no-build", "--python", inside_python]
    else:
        command = [inside_python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--only-binary=:all:"]
        if Path("/opt/wheels").is_dir():
            ro.append(("/opt/wheels", "/opt/wheels"))
            command += ["--find-links", "/opt/wheels"]
    box = sandbox.Sandbox(
        env=env, ro=ro, rw=rw, network=True, python_home=sandbox.python_home(str(venv / "bin" / "python")),
        limits=sandbox.Limits(memory_mb=4096, processes=512, file_size_mb=2048),
    )  # fmt: skip
    process = box.popen([*command, *requirements], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT)  # fmt: skip
    try:
        output, _ = process.communicate(timeout=1800)
    except subprocess.TimeoutExpired:
        process.kill_all()
        raise
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, command, output=output)


# --- materialisation for execution ----------------------------------------------------------
def operator_code_materialize(*, tenant, operator_version: OperatorVersion) -> Path:
    """Export the operator's folder at its commit into the tenant's storage (idempotent); returns the folder.

    Its dependency group's venv is not built here (see dependency_groups_unbuilt)."""
    from registry.selectors import operator_ref
    from tenants.selectors import tenant_storage_root

    target = operator_code_dir(tenant_storage_root(tenant=tenant), operator_ref(operator_version))
    marker = target / ".flowui-tree"
    if marker.exists() and marker.read_text().strip() == operator_version.tree_hash:
        return target
    repository = operator_version.repository
    cache = git.cache_path(settings.FLOWUI_GIT_CACHE_DIR, _cache_key(repository))
    try:
        git.resolve(repo=cache, ref=operator_version.commit)
    except git.GitError:
        cache = repository_cache_fetch(repository=repository)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}"
    try:
        repository_layout(repo=cache, commit=operator_version.commit).export(
            names=[operator_version.name], destination=staging
        )
        exported = staging / "operators" / operator_version.name
        (exported / ".flowui-tree").write_text(operator_version.tree_hash + "\n")
        if target.exists():
            shutil.rmtree(target)
        exported.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def dependency_venv_ready(group: DependencyGroup) -> bool:
    """True when the group needs no venv (no requirements) or its venv is built (the ready marker exists)."""
    if not group.requirements:
        return True
    return (Path(settings.FLOWUI_VENVS_DIR) / group.requirements_hash / VENV_READY_MARKER).exists()


def dependency_groups_unbuilt(operator_versions) -> list[DependencyGroup]:
    """The dependency groups of these operator versions whose venv a local run needs and is not built yet
    (none outside local mode: Batch and Kubernetes run the group's image). Builds are never done by the
    caller's request: a deploy waits for them in a Celery task (workflows.tasks.workflow_deploy_build)."""
    if settings.FLOWUI_DEPLOY_MODE != "local":
        return []
    groups = {v.dependency_group_id: v.dependency_group for v in operator_versions if v.dependency_group_id}
    return [group for _, group in sorted(groups.items()) if not dependency_venv_ready(group)]


# --- AWS Batch (aws mode) ---------------------------------------------------------------------
def batch_definition_ensure(
    *,
    tenant,
    operator_version: OperatorVersion,
    job_role_arn: str,
    efs_access_point_id: str,
    compute_environment: str = "",
    efs_file_system_id: str = "",
) -> BatchJobDefinition:
    """The tenant's Batch job definition of one operator version (group image, vcpu/memory from metadata, the
    tenant's EFS access point and job role) and the tenant's job queue; idempotent, ARNs stored.

    The access point (rooted at the tenant's folder) is mounted at the tenant's storage root as Airflow sees it,
    so run folders and materialised code have the same paths in the job as in Airflow.

    Each secret the operator declares is a `secrets` entry whose value comes from the tenant's own Secrets
    Manager secret (`<arn>:<name>::`, tenants.services_secrets), resolved by ECS with the tenant's role (also
    the execution role); the operator gets exactly its declared names, from its tenant only."""
    from flowui.lib import aws
    from tenants.selectors import tenant_storage_root
    from tenants.services_secrets import operator_secret_ensure

    existing = BatchJobDefinition.objects.filter(operator_version=operator_version, tenant=tenant).first()
    if existing is not None:
        return existing
    compute_environment = compute_environment or settings.FLOWUI_BATCH_COMPUTE_ENVIRONMENT
    efs_file_system_id = efs_file_system_id or settings.FLOWUI_EFS_FILE_SYSTEM_ID
    missing = [
        label
        for label, value in (
            ("job role ARN", job_role_arn),
            ("EFS access point", efs_access_point_id),
            ("compute environment (FLOWUI_BATCH_COMPUTE_ENVIRONMENT)", compute_environment),
            ("EFS file system (FLOWUI_EFS_FILE_SYSTEM_ID)", efs_file_system_id),
        )
        if not value
    ]
    if missing:
        raise ValidationError(f"Cannot define Batch jobs for {tenant.schema_name}: missing {', '.join(missing)}.")
    resources = operator_version.metadata.get("resources", {})
    definition_name, queue_name = batch_job_names(
        project=settings.PROJECT_NAME, tenant=tenant.schema_name,
        operator_name=operator_version.name, operator_version=operator_version.version,
    )  # fmt: skip
    queue_arn = aws.batch_job_queue_ensure(name=queue_name, compute_environment=compute_environment)
    declared = list(dict.fromkeys(operator_version.metadata.get("secrets", [])))
    secret_arn = operator_secret_ensure(tenant=tenant) if declared else ""
    definition_arn = aws.batch_job_definition_register(
        name=definition_name,
        image=operator_version.image,
        vcpus=float(resources.get("cpu", 1.0)),
        memory_mb=int(resources.get("memory_mb", 1024)),
        gpus=int(resources.get("gpu", 0)),
        job_role_arn=job_role_arn,
        efs_file_system_id=efs_file_system_id,
        efs_access_point_id=efs_access_point_id,
        container_path=str(tenant_storage_root(tenant=tenant)),
        environment={"FLOWUI_STORAGE_ROOT": str(tenant_storage_root(tenant=tenant))},
        secrets={name: f"{secret_arn}:{name}::" for name in declared},
        execution_role_arn=job_role_arn if declared else "",
        tags={
            "flowui:tenant": tenant.schema_name,
            "flowui:operator": f"{operator_version.repository.slug}/{operator_version.name}",
            "flowui:version": operator_version.version,
        },
    )
    try:
        with transaction.atomic():
            return BatchJobDefinition.objects.create(
                operator_version=operator_version,
                tenant=tenant,
                job_definition_name=definition_name,
                job_definition_arn=definition_arn,
                job_queue_arn=queue_arn,
            )
    except IntegrityError:
        return BatchJobDefinition.objects.get(operator_version=operator_version, tenant=tenant)


def batch_definitions_ensure_for_deploy(*, tenant, operator_versions: list[OperatorVersion]) -> None:
    """Deploy in aws mode: the tenant's job definitions (and queue) for the operator versions its batch nodes
    run, with the tenant's provisioned role and access point; idempotent. ValidationError when the tenant has
    no provisioned role or access point yet."""
    resources = getattr(tenant, "resources", None)
    for operator_version in operator_versions:
        batch_definition_ensure(
            tenant=tenant, operator_version=operator_version,
            job_role_arn=getattr(resources, "role_arn", "") or "",
            efs_access_point_id=getattr(resources, "access_point_id", "") or "",
            efs_file_system_id=getattr(resources, "efs_file_system_id", "") or "",
        )  # fmt: skip


def batch_definitions_ensure_for_tenant(
    *,
    tenant,
    job_role_arn: str,
    efs_access_point_id: str,
    compute_environment: str = "",
    efs_file_system_id: str = "",
) -> list[BatchJobDefinition]:
    """Job definitions for every operator version the tenant can use that allows the batch execution mode."""
    from registry.selectors import operator_versions_for_tenant

    rows = []
    for version in operator_versions_for_tenant(tenant=tenant).order_by("repository__slug", "name", "created_at"):
        if "batch" not in version.metadata.get("execution_modes", ["batch"]):
            continue
        rows.append(
            batch_definition_ensure(
                tenant=tenant,
                operator_version=version,
                job_role_arn=job_role_arn,
                efs_access_point_id=efs_access_point_id,
                compute_environment=compute_environment,
                efs_file_system_id=efs_file_system_id,
            )
        )
    return rows
