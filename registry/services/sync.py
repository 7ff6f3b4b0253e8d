"""Repository syncs: queue one (or the due ones), one at a time per repository, run it, end it with the reason.

The sync's own steps (git tree -> checks -> schema extraction -> OperatorVersion) are in `sync_steps`."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from flowui.lib import git
from registry import sources
from registry.models import Repository, SyncRun
from registry.services.repositories import repository_audit
from registry.services.sync_steps import ProgressCallback, sync_steps_run
from tenants.models_audit import AuditAction

logger = logging.getLogger(__name__)

LOCK_NAMESPACE = 4_404_001  # pg advisory lock namespace of repository syncs
STALE_PENDING_MINUTES = 15
PERIODIC_SYNC_TASK_NAME = "registry: sync repositories whose interval elapsed"


# --- queueing and locking -------------------------------------------------------------------
def repository_sync_request(*, repository: Repository, user=None, trigger: str = "manual") -> SyncRun:
    """Queue a sync (a Celery task after commit). An already queued or running sync is returned instead."""
    from registry.tasks import repository_sync_task  # cycle: registry.tasks imports registry.services

    _stale_sync_runs_fail(repository=repository)
    active = repository.sync_runs.filter(
        state__in=[SyncRun.State.PENDING, SyncRun.State.RUNNING],
        created_at__gte=timezone.now() - timedelta(hours=1),
    ).first()
    if active is not None:
        return active
    sync_run = SyncRun.objects.create(
        repository=repository, trigger=trigger, requested_by=user if user and user.is_authenticated else None
    )
    transaction.on_commit(lambda: repository_sync_task.delay(sync_run.pk))
    if trigger != "periodic":  # scheduled syncs are the platform's, not someone's action
        repository_audit(repository, AuditAction.REPOSITORY_SYNC, f"sync run {sync_run.pk}", user=user)
    return sync_run


def _repository_lock_held(repository: Repository) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND objid = %s"
            " AND objsubid = 2 AND granted)",
            [LOCK_NAMESPACE, repository.pk],
        )
        return bool(cursor.fetchone()[0])


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
        state=SyncRun.State.PENDING, created_at__lt=now - timedelta(minutes=STALE_PENDING_MINUTES)
    ).update(
        state=SyncRun.State.FAILED,
        finished_at=now,
        error=f"Never started: no Celery worker picked it up within {STALE_PENDING_MINUTES} minutes.",
    )


@contextlib.contextmanager
def _repository_lock(repository: Repository) -> Iterator[bool]:
    """One sync per repository at a time, across workers (a PostgreSQL session advisory lock)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, repository.pk])
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, repository.pk])


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


def repository_sync(*, sync_run: SyncRun, on_progress: ProgressCallback | None = None, full: bool = False) -> SyncRun:
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
            return sync_steps_run(sync_run, on_progress=on_progress, full=full)
        except sources.SourceRefused as exc:
            return _sync_fail(sync_run, f"Repository URL refused, nothing was fetched: {exc}.")
        except git.GitError as exc:
            return _sync_fail(sync_run, f"Repository unreachable or ref missing: {exc}")
        except ValueError as exc:  # among them: no operator folder at the ref
            return _sync_fail(sync_run, str(exc))
        except Exception as exc:
            logger.exception("sync #%s crashed", sync_run.pk)
            return _sync_fail(sync_run, f"Unexpected error during the sync: {type(exc).__name__}: {exc}")


def repository_sync_now(
    *,
    repository: Repository,
    trigger: str = "command",
    user=None,
    on_progress: ProgressCallback | None = None,
    full: bool = False,
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
            now - repository.last_synced_at >= timedelta(minutes=repository.sync_interval_minutes)
        )
        if due:
            queued.append(repository_sync_request(repository=repository, trigger="periodic"))
    return queued


def registry_sync_schedule_ensure(*, every_minutes: int = 5) -> PeriodicTask:
    """The beat entry of the periodic sync dispatcher (also created by a migration; idempotent)."""
    schedule, _ = IntervalSchedule.objects.get_or_create(every=every_minutes, period=IntervalSchedule.MINUTES)
    task, _ = PeriodicTask.objects.get_or_create(
        name=PERIODIC_SYNC_TASK_NAME, defaults={"interval": schedule, "task": "registry.tasks.registry_sync_dispatch"}
    )
    return task
