"""A sync queued on demand runs in a real Celery worker, with its progress visible while it runs."""

from __future__ import annotations

import time

import pytest

from registry import services
from registry.models import OperatorVersion, Repository, SyncRun
from tests.test_registry_sync import GOOD_MODEL, operator_files

pytestmark = pytest.mark.airflow  # the session's worker fixture comes with the session's Airflow


def test_it_syncs_in_a_real_worker_and_shows_progress_while_running(transactional_db, celery_worker, git_repo):
    files = {}
    for n in range(6):
        files |= operator_files(f"slow{n}", model="import time\ntime.sleep(0.7)\n" + GOOD_MODEL)
    path, commit = git_repo(files)
    repository = services.repository_create(slug="worker-ops", name="Worker ops", url=f"file://{path}")
    try:
        sync_run = services.repository_sync_request(repository=repository, trigger="api")  # autocommit: queued now
        seen = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            row = SyncRun.objects.get(pk=sync_run.pk)
            seen.append((row.state, row.progress_done, row.progress_total))
            if row.state in (SyncRun.State.DONE, SyncRun.State.FAILED):
                break
            time.sleep(0.1)
        assert seen[-1] == (SyncRun.State.DONE, 6, 6), (seen[-1], SyncRun.objects.get(pk=sync_run.pk).error)
        assert any(state == SyncRun.State.RUNNING and 0 < done < 6 for state, done, _ in seen), seen
        assert OperatorVersion.objects.filter(repository=repository, commit=commit).count() == 6
    finally:
        Repository.objects.filter(pk=repository.pk).delete()
