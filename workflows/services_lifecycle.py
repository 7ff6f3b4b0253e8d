"""Writes about a workflow as a whole besides create/save/deploy: duplicate (pause is
`workflows.supervision.workflow_pause_set`, delete `workflows.services.workflow_delete`)."""

from __future__ import annotations

from workflows.models import Workflow
from workflows.services import WorkflowInvalid, workflow_create

SLUG_MAX_LENGTH = 60  # services.slug_problem's limit


def _copy_slug(slug: str) -> str:
    """`<slug>-copy`, then `<slug>-copy-2`, ...: the first one free, within the slug length limit."""
    n = 1
    while True:
        suffix = "-copy" if n == 1 else f"-copy-{n}"
        candidate = slug[: SLUG_MAX_LENGTH - len(suffix)].rstrip("-_") + suffix
        if not Workflow.objects.filter(slug=candidate).exists():
            return candidate
        n += 1


def workflow_duplicate(*, workflow: Workflow, user) -> Workflow:
    """A new workflow named "<name> (copy)" with the slug `<slug>-copy` and the latest saved version's spec
    as its version 1. Not deployed (and so never scheduled) until someone deploys it."""
    current = workflow.current_version
    if current is None:
        raise WorkflowInvalid({"nodes": {}, "workflow": ["This workflow has no saved version to copy."]})
    return workflow_create(
        name=f"{workflow.name} (copy)",
        user=user,
        description=workflow.description,
        spec=current.spec,
        slug=_copy_slug(workflow.slug),
    )
