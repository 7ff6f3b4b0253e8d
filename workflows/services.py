"""Writes about workflows: create, edit, save versions (with conflict detection), restore, validate.

All functions run in the current tenant schema and take the tenant explicitly (for storage and Airflow).
Deploy, deploy watching and delete are in `workflows.services_deploy`, run supervision (trigger, clear, cancel,
pause) in `workflows.supervision`; both are re-exported here so callers find every write in one place.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.db import transaction
from django.utils.text import slugify

from tenants.audit import audit_record
from tenants.models_audit import AuditAction
from workflows.exceptions import (  # noqa: F401  (re-exported)
    WorkflowConflict,
    WorkflowDeployFailed,
    WorkflowInvalid,
    WorkflowNotDeployable,
)
from workflows.models import Workflow, WorkflowVersion
from workflows.selectors import version_get, workflow_audit_target
from workflows.services_deploy import (  # noqa: F401  (re-exported for callers that look here for writes)
    DEPLOY_POLL_INTERVAL_S,
    DEPLOY_WAIT_TIMEOUT_S,
    DagNotStaleYet,
    airflow_dag_delete,
    dag_files_restore,
    workflow_delete,
    workflow_deploy,
    workflow_deploy_build,
    workflow_deploy_check,
    workflow_deploy_wait,
)
from workflows.spec import SpecError, parse_spec
from workflows.supervision import (  # noqa: F401  (re-exported for callers that look here for writes)
    run_cancel,
    run_clear,
    run_trigger,
    task_clear,
    workflow_pause_set,
)
from workflows.validation import validate_spec

logger = logging.getLogger(__name__)

EMPTY_SPEC: dict[str, Any] = {"nodes": [], "edges": [], "schedule": None, "tags": [], "params": []}


def _user_fields(user) -> dict[str, Any]:
    if user is None or not getattr(user, "is_authenticated", False):
        return {"author_id": None, "author_name": ""}
    return {"author_id": user.pk, "author_name": user.get_username()}


def _normalised_spec(spec: Any) -> dict[str, Any]:
    """The spec in canonical JSON form; raises WorkflowInvalid for a structurally broken spec."""
    try:
        return parse_spec(spec).to_data()
    except SpecError as exc:
        raise WorkflowInvalid(exc.errors, "The workflow spec is not well-formed.") from None


SLUG_RULE = "use lower-case letters, digits, '-' or '_', starting with a letter, without '__'"
# DAG ids are `<tenant schema>__<slug>`: a slug with "__" would make them ambiguous (tenant `a` with slug
# `b__c` and tenant `a__b` with slug `c`), so neither schema names nor slugs may contain it.
DAG_ID_SEPARATOR = "__"


def slug_problem(slug: str) -> str:
    """Why `slug` cannot name a workflow (its DAG), or "" when it can."""
    if not slug or slugify(slug) != slug or not slug[0].isalpha() or len(slug) > 60:
        return f"slug: {SLUG_RULE}."
    if DAG_ID_SEPARATOR in slug:
        return f"slug: '__' is not allowed (it separates the tenant from the slug in the DAG id); {SLUG_RULE}."
    return ""


def _unique_slug(base: str) -> str:
    base = (slugify(base)[:60].strip("-_") or "workflow").replace("-", "_")
    if not base[0].isalpha():
        base = f"wf_{base}"[:60]
    base = re.sub(r"_{2,}", "_", base).rstrip("_") or "workflow"
    slug, n = base, 2
    while Workflow.objects.filter(slug=slug).exists():
        slug, n = f"{base}_{n}", n + 1
    return slug


# --- create / edit ----------------------------------------------------------------------------
@transaction.atomic
def workflow_create(
    *, name: str, user, description: str = "", spec: dict[str, Any] | None = None, slug: str = ""
) -> Workflow:
    name = (name or "").strip()
    if not name:
        raise WorkflowInvalid({"nodes": {}, "workflow": ["name: give the workflow a name."]}, "A name is required.")
    if slug:
        if problem := slug_problem(slug):
            raise WorkflowInvalid({"nodes": {}, "workflow": [problem]}, "The slug is not valid.")
        if Workflow.objects.filter(slug=slug).exists():
            raise WorkflowInvalid({"nodes": {}, "workflow": [f"slug: {slug!r} is taken."]}, "The slug is taken.")
    data = _normalised_spec(spec if spec is not None else EMPTY_SPEC)
    workflow = Workflow.objects.create(
        name=name[:200],
        slug=slug or _unique_slug(name),
        description=description or "",
        created_by_id=_user_fields(user)["author_id"],
    )
    version = WorkflowVersion.objects.create(
        workflow=workflow, number=1, spec=data, message="Created", **_user_fields(user)
    )
    workflow.current_version = version
    workflow.save(update_fields=["current_version", "updated_at"])
    audit_record(action=AuditAction.WORKFLOW_CREATE, user=user, **workflow_audit_target(workflow))
    return workflow


def workflow_update(*, workflow: Workflow, name: str | None = None, description: str | None = None) -> Workflow:
    """Name and description only; the slug (and so the DAG id) never changes."""
    if name is not None:
        if not name.strip():
            raise WorkflowInvalid({"nodes": {}, "workflow": ["name: give the workflow a name."]}, "A name is required.")
        workflow.name = name.strip()[:200]
    if description is not None:
        workflow.description = description
    workflow.save(update_fields=["name", "description", "updated_at"])
    return workflow


@transaction.atomic
def workflow_save_version(
    *, workflow: Workflow, spec: dict[str, Any], base_version: int | None, user, message: str = ""
) -> WorkflowVersion:
    """Save `spec` as the next version. `base_version` is the version number the editor started from:
    if another save happened meanwhile, WorkflowConflict is raised and nothing is written.
    A spec with validation problems is saved (work is never lost); only a malformed one is refused."""
    data = _normalised_spec(spec)
    locked = Workflow.objects.select_for_update().get(pk=workflow.pk)
    current = locked.current_version.number if locked.current_version else None
    if base_version != current:
        raise WorkflowConflict(base_version=base_version, current_version=current)
    version = WorkflowVersion.objects.create(
        workflow=locked, number=(current or 0) + 1, spec=data, message=(message or "")[:500], **_user_fields(user)
    )
    locked.current_version = version
    locked.save(update_fields=["current_version", "updated_at"])
    workflow.current_version = version
    audit_record(
        action=AuditAction.WORKFLOW_SAVE_VERSION,
        user=user,
        detail=f"version {version.number}" + (f": {version.message}" if version.message else ""),
        **workflow_audit_target(workflow),
    )
    return version


def workflow_restore_version(
    *, workflow: Workflow, number: int, user, base_version: int | None = None
) -> WorkflowVersion:
    """Save an old version's spec as a new version (history is never rewritten)."""
    old = version_get(workflow=workflow, number=number)
    current = workflow.current_version.number if workflow.current_version else None
    return workflow_save_version(
        workflow=workflow,
        spec=old.spec,
        base_version=current if base_version is None else base_version,
        user=user,
        message=f"Restored version {number}",
    )


def workflow_validate(*, tenant, spec: dict[str, Any]) -> dict[str, Any]:
    """Per-node, per-field problems of a spec (see workflows.validation)."""
    return validate_spec(tenant=tenant, spec_data=spec)
