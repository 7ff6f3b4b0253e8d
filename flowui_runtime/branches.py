"""Conditional branches at run time: which tasks run, evaluated from their upstream tasks' outputs (XCom).

Semantics (the DAG builder sets the trigger rules, FlowUIOperator.execute asks `skip_reason` first):
- an edge may carry a condition (contracts.Condition) on its source's output; a task with conditional incoming
  edges runs only if at least one of them holds (a skipped source's edge never holds), else it is skipped;
- every task from a conditional edge's target downwards has the trigger rule `none_failed_min_one_success`:
  it runs when at least one upstream task succeeded and none failed, so a join after two branches runs with
  whichever branch ran, and a task whose every route was skipped is skipped too (Airflow decides that);
- such a task whose input is bound to a skipped task's output is skipped as well (there is no value to give).

Imports nothing from Django or Airflow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flowui_runtime import contracts, graph

BRANCH_TRIGGER_RULE = "none_failed_min_one_success"


class ConditionError(ValueError):
    """A condition cannot be evaluated on the output it got (missing field, values that do not compare)."""


def condition_holds(when: contracts.Condition, output: dict[str, Any]) -> bool:
    if when.field not in output:
        raise ConditionError(f"the output has no field {when.field!r} (it has: {', '.join(sorted(output)) or 'none'})")
    actual = output[when.field]
    if when.op == "truthy":
        return bool(actual)
    if when.op == "in":
        if not isinstance(when.value, list):
            raise ConditionError("op 'in' needs a list of values")
        return actual in when.value
    if when.op == "==":
        return actual == when.value
    if when.op == "!=":
        return actual != when.value
    try:
        if when.op == ">":
            return actual > when.value
        if when.op == ">=":
            return actual >= when.value
        if when.op == "<":
            return actual < when.value
        return actual <= when.value
    except TypeError:
        raise ConditionError(f"{when.field} = {actual!r} cannot be compared with {when.value!r} ({when.op})") from None


def branch_tasks(tasks: list[contracts.TaskSpec]) -> set[str]:
    """The tasks that need BRANCH_TRIGGER_RULE: the targets of conditional edges and everything below them."""
    edges = [(upstream, task.task_id) for task in tasks for upstream in task.upstream]
    edges += [(c.source, task.task_id) for task in tasks for c in task.conditions]
    result: set[str] = set()
    for task in tasks:
        if task.conditions:
            result.add(task.task_id)
            result.update(graph.descendants(edges, task.task_id))
    return result


def skip_reason(spec: contracts.TaskSpec, output_of: Callable[[str], Any], *, branch_aware: bool) -> str | None:
    """Why this task must be skipped, or None to run it. `output_of(task_id)` is that task's output (its XCom
    return value), None when it did not run. Raises ConditionError when a condition cannot be evaluated."""
    if spec.conditions:
        held = []
        for condition in spec.conditions:
            output = output_of(condition.source)
            if not isinstance(output, dict):
                continue  # the source was skipped: its edge does not hold
            try:
                if condition_holds(condition.when, output):
                    held.append(condition.source)
            except ConditionError as exc:
                raise ConditionError(f"condition on edge {condition.source} -> {spec.task_id}: {exc}") from None
        if not held:
            described = ", ".join(
                f"{c.source}.{c.when.field} {c.when.op}" + ("" if c.when.op == "truthy" else f" {c.when.value!r}")
                for c in spec.conditions
            )
            return f"no branch condition holds ({described})"
    if branch_aware:
        for name, binding in spec.inputs.items():
            if isinstance(binding, contracts.UpstreamInput) and output_of(binding.from_node) is None:
                return f"input {name!r} is bound to {binding.from_node!r}, which was skipped"
    return None
