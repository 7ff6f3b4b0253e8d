"""Writes of the operator registry, by concern; the public names are importable from here, as callers do.

- `repositories`: create (URL and ref rules), pin, the git cache fetch, the configured and bundled repositories
- `sync`, `sync_steps`: queueing and running a sync, and its named steps
- `venvs`: the dependency groups' virtualenvs
- `materialize`: an operator version's code in the tenant's storage
- `batch`: AWS Batch job definitions (aws mode)
"""

from registry.services.batch import (
    batch_definition_ensure,
    batch_definitions_ensure_for_deploy,
    batch_definitions_ensure_for_tenant,
)
from registry.services.materialize import operator_code_materialize
from registry.services.repositories import (
    SLUG_RE,
    bundled_repository_ensure,
    configured_repository_ensure,
    ref_check,
    repository_cache_fetch,
    repository_create,
    repository_pin,
    url_check,
)
from registry.services.sync import (
    LOCK_NAMESPACE,
    PERIODIC_SYNC_TASK_NAME,
    registry_sync_schedule_ensure,
    repositories_due_sync_request,
    repository_sync,
    repository_sync_now,
    repository_sync_request,
)
from registry.services.venvs import (
    DependencyVenvError,
    dependency_groups_unbuilt,
    dependency_venv_ensure,
    dependency_venv_python,
    dependency_venv_ready,
)

__all__ = [
    "LOCK_NAMESPACE",
    "PERIODIC_SYNC_TASK_NAME",
    "SLUG_RE",
    "DependencyVenvError",
    "batch_definition_ensure",
    "batch_definitions_ensure_for_deploy",
    "batch_definitions_ensure_for_tenant",
    "bundled_repository_ensure",
    "configured_repository_ensure",
    "dependency_groups_unbuilt",
    "dependency_venv_ensure",
    "dependency_venv_python",
    "dependency_venv_ready",
    "operator_code_materialize",
    "ref_check",
    "registry_sync_schedule_ensure",
    "repositories_due_sync_request",
    "repository_cache_fetch",
    "repository_create",
    "repository_pin",
    "repository_sync",
    "repository_sync_now",
    "repository_sync_request",
    "url_check",
]
