"""`{% workflow_schedule workflow as s %}`: what the deployed schedule of a workflow will do next, for the
workflow header shown on every workflow page (no query: the deployed version is select_related)."""

from __future__ import annotations

from django import template

from workflows.schedules import next_fire_times

register = template.Library()


@register.simple_tag
def workflow_schedule(workflow, count: int = 1) -> dict:
    version = workflow.deployed_version if workflow.deployed_version_id else None
    if version is None:
        return {"kind": "not_deployed", "text": "", "times": []}
    spec = version.spec or {}
    return next_fire_times(schedule=spec.get("schedule"), start_date=spec.get("start_date"), count=count)
