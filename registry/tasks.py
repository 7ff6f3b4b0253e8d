"""Celery tasks of the registry: thin, take ids, call services."""

from __future__ import annotations

from celery import shared_task

from registry import services
from registry.models import DependencyGroup, SyncRun


@shared_task(name="registry.tasks.repository_sync_task")
def repository_sync_task(sync_run_id: int) -> str:
    sync_run = SyncRun.objects.select_related("repository").filter(pk=sync_run_id).first()
    if sync_run is None or sync_run.state != SyncRun.State.PENDING:
        return "skipped"
    return services.repository_sync(sync_run=sync_run).state


@shared_task(name="registry.tasks.registry_sync_dispatch")
def registry_sync_dispatch() -> int:
    return len(services.repositories_due_sync_request())


@shared_task(name="registry.tasks.dependency_venv_task")
def dependency_venv_task(dependency_group_id: int) -> str:
    group = DependencyGroup.objects.filter(pk=dependency_group_id).first()
    if group is None:
        return "missing"
    return str(services.dependency_venv_ensure(group))
