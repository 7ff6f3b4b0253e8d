"""Materialisation for execution: an operator version's folder exported at its commit into the tenant's storage."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from django.conf import settings

from flowui.lib import git
from flowui_runtime.contracts import operator_code_dir
from registry.layouts import repository_layout
from registry.models import OperatorVersion
from registry.selectors import operator_ref
from registry.services.repositories import repository_cache_fetch, repository_cache_key
from tenants.models import Tenant
from tenants.selectors import tenant_storage_root


def operator_code_materialize(*, tenant: Tenant, operator_version: OperatorVersion) -> Path:
    """Export the operator's folder at its commit into the tenant's storage (idempotent); returns the folder.

    Its dependency group's venv is not built here (see dependency_groups_unbuilt)."""
    target = operator_code_dir(tenant_storage_root(tenant=tenant), operator_ref(operator_version))
    marker = target / ".flowui-tree"
    if marker.exists() and marker.read_text().strip() == operator_version.tree_hash:
        return target
    repository = operator_version.repository
    cache = git.cache_path(settings.FLOWUI_GIT_CACHE_DIR, repository_cache_key(repository))
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
