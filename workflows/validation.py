"""Validation of a workflow spec against the registry, with errors per node and per field.

Result shape: `{"nodes": {node_id: {field: [messages]}}, "workflow": [messages]}`; fields are `node`, `id`,
`operator`, `execution_mode`, `inputs.<name>`, ... An empty result (`has_errors` false) means deployable.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from croniter import croniter
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from flowui_runtime.contracts import LiteralInput, ParamInput, UpstreamInput
from workflows import graph
from workflows.selectors import operator_versions_for_nodes
from workflows.spec import (
    PARAM_NAME_RE,
    SCHEDULE_PRESETS,
    EdgeSpec,
    SpecError,
    WorkflowSpec,
    add_error,
    empty_errors,
    parse_spec,
)

_PARAM_JSON_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}


# --- JSON Schema helpers ----------------------------------------------------------------------
def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return target if isinstance(target, dict) else {}
    return schema


def json_types(schema: Any, root: dict[str, Any] | None = None) -> set[str] | None:
    """The JSON types a (sub)schema accepts, or None when it accepts anything (no type information)."""
    if not isinstance(schema, dict):
        return None
    root = root if root is not None else schema
    schema = _resolve(schema, root)
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return {t for t in declared if isinstance(t, str)}
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list):
            types: set[str] = set()
            for option in options:
                option_types = json_types(option, root)
                if option_types is None:
                    return None
                types |= option_types
            return types
    values = (
        schema.get("enum")
        if isinstance(schema.get("enum"), list)
        else ([schema["const"]] if "const" in schema else None)
    )
    if values is not None:
        return {_value_type(v) for v in values}
    if "properties" in schema:
        return {"object"}
    if "items" in schema:
        return {"array"}
    return None


def _value_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def types_compatible(source: set[str] | None, target: set[str] | None) -> bool:
    """Can a value of `source` types always go where `target` types are accepted? Unknown is compatible;
    an integer fits a number; a nullable source is judged by its non-null types."""
    if source is None or target is None:
        return True
    widened = set(target) | ({"integer"} if "number" in target else set())
    concrete = (source - {"null"}) or source
    return concrete <= widened


def _properties(schema: Any) -> dict[str, Any]:
    if not isinstance(schema, dict):
        return {}
    props = schema.get("properties")
    return props if isinstance(props, dict) else {}


def _describe(types: set[str] | None) -> str:
    return " or ".join(sorted(types)) if types else "any"


# --- validation -------------------------------------------------------------------------------
def validate_spec(*, tenant, spec_data: Any) -> dict[str, Any]:
    """All problems of a spec, per node and field. Never raises for bad input."""
    try:
        spec = parse_spec(spec_data)
    except SpecError as exc:
        return exc.errors
    errors = empty_errors()
    _check_workflow(spec, errors)
    node_ids = _check_node_ids(spec, errors)
    edges = _check_edges(spec, node_ids, errors)
    ancestors = graph.all_ancestors(node_ids, edges)
    _check_cycles(spec, edges, errors)
    operator_versions = operator_versions_for_nodes(tenant=tenant, nodes=spec.nodes)
    params = {p.name: p for p in spec.params}
    for node in spec.nodes:
        _check_node(spec, node, operator_versions, ancestors, params, errors)
    for edge in spec.edges:
        if edge.when is not None and {edge.source, edge.target} <= node_ids:
            _check_condition(edge, operator_versions, errors)
    return errors


def _check_workflow(spec: WorkflowSpec, errors: dict[str, Any]) -> None:
    schedule = spec.schedule
    if schedule is not None and schedule not in SCHEDULE_PRESETS:
        if schedule.startswith("@") or not croniter.is_valid(schedule):
            add_error(
                errors,
                f"schedule: {schedule!r} is neither a preset ({', '.join(SCHEDULE_PRESETS)}) "
                "nor a valid cron expression such as '0 6 * * *'",
            )
    for tag in spec.tags:
        if re.fullmatch(r"v[0-9]+", tag) or tag.startswith("tenant:"):
            add_error(errors, f"tags: {tag!r} is reserved (FlowUI tags DAGs with vN and tenant:...)")
    seen: set[str] = set()
    for param in spec.params:
        if not PARAM_NAME_RE.match(param.name):
            add_error(errors, f"params: {param.name!r} must be a letter or '_', then letters, digits or '_'")
        if param.name in seen:
            add_error(errors, f"params: {param.name!r} is defined twice")
        seen.add(param.name)
        if param.default is not None and not types_compatible(
            {_value_type(param.default)}, {_PARAM_JSON_TYPES[param.type]}
        ):
            add_error(errors, f"params: the default of {param.name!r} is not a {param.type}")


def _check_node_ids(spec: WorkflowSpec, errors: dict[str, Any]) -> set[str]:
    counts: dict[str, int] = defaultdict(int)
    for node in spec.nodes:
        counts[node.id] += 1
    for node_id, count in counts.items():
        if count > 1:
            add_error(errors, f"the id {node_id!r} is used by {count} nodes; ids must be unique", node_id, "id")
    if not spec.nodes:
        add_error(errors, "The workflow has no nodes.")
    return set(counts)


def _check_edges(spec: WorkflowSpec, node_ids: set[str], errors: dict[str, Any]) -> list[graph.Edge]:
    """The edges between known nodes (each other edge is an error)."""
    edges: list[graph.Edge] = []
    for edge in spec.edges:
        unknown = [n for n in (edge.source, edge.target) if n not in node_ids]
        if unknown:
            add_error(errors, f"edge {edge.source!r} -> {edge.target!r}: unknown node {unknown[0]!r}")
            continue
        if edge.source == edge.target:
            add_error(errors, f"an edge connects {edge.source!r} to itself", edge.source, "edges")
            continue
        edges.append((edge.source, edge.target))
    return edges


def _check_cycles(spec: WorkflowSpec, edges: list[graph.Edge], errors: dict[str, Any]) -> None:
    stuck = graph.cycle_nodes([node.id for node in spec.nodes], edges)
    if stuck:
        add_error(errors, f"The edges form a cycle through: {', '.join(stuck)}.")
        for node_id in stuck:
            add_error(errors, "is part of a cycle", node_id, "edges")


def _check_node(spec, node, operator_versions, ancestors, params, errors) -> None:
    pin = node.operator
    operator_version = operator_versions.get(node.id)
    if operator_version is None:
        add_error(
            errors,
            f"operator {pin.repository}/{pin.name}@{pin.version} is unknown or not synced",
            node.id,
            "operator",
        )
        return
    metadata = operator_version.metadata or {}
    modes = metadata.get("execution_modes") or ["local", "batch", "kubernetes"]
    if node.execution_mode not in modes:
        add_error(
            errors,
            f"{pin.name} supports only {', '.join(modes)} execution",
            node.id,
            "execution_mode",
        )
    input_schema = operator_version.input_schema or {}
    properties = _properties(input_schema)
    required = (
        [r for r in input_schema.get("required", []) if isinstance(r, str)] if isinstance(input_schema, dict) else []
    )

    for name in sorted(node.inputs):
        if properties and name not in properties:
            add_error(errors, f"{pin.name} has no input {name!r}", node.id, f"inputs.{name}")
    for name in required:
        if name not in node.inputs:
            add_error(errors, "is required", node.id, f"inputs.{name}")

    literal_values = {
        name: binding.value
        for name, binding in node.inputs.items()
        if isinstance(binding, LiteralInput) and (not properties or name in properties)
    }
    _check_literals(node.id, input_schema, literal_values, errors)

    for name, binding in sorted(node.inputs.items()):
        target_types = json_types(properties.get(name), input_schema) if name in properties else None
        field = f"inputs.{name}"
        if isinstance(binding, ParamInput):
            param = params.get(binding.param)
            if param is None:
                add_error(errors, f"unknown param {binding.param!r}", node.id, field)
            elif not types_compatible({_PARAM_JSON_TYPES[param.type]}, target_types):
                add_error(
                    errors,
                    f"param {param.name!r} is a {param.type}; this input needs {_describe(target_types)}",
                    node.id,
                    field,
                )
        elif isinstance(binding, UpstreamInput):
            _check_upstream(spec, node, name, binding, target_types, operator_versions, ancestors, errors)


def _check_literals(node_id: str, input_schema: Any, values: dict[str, Any], errors: dict[str, Any]) -> None:
    if not isinstance(input_schema, dict) or not values:
        return
    # Only the literal fields are checked here: required fields may come from upstream or params.
    schema = {k: v for k, v in input_schema.items() if k != "required"}
    try:
        validator = Draft202012Validator(schema)
        problems = list(validator.iter_errors(values))
    except SchemaError as exc:
        add_error(errors, f"the operator's input schema is invalid: {exc.message}", node_id, "operator")
        return
    for problem in problems:
        path = list(problem.absolute_path)
        field = f"inputs.{path[0]}" if path else "inputs"
        add_error(errors, problem.message, node_id, field)


def _check_upstream(spec, node, name, binding, target_types, operator_versions, ancestors, errors) -> None:
    field = f"inputs.{name}"
    source_id = binding.from_node
    if spec.node(source_id) is None:
        add_error(errors, f"refers to unknown node {source_id!r}", node.id, field)
        return
    if source_id not in ancestors.get(node.id, set()):
        add_error(
            errors,
            f"refers to {source_id!r}, which is not upstream of this node (connect it with an edge)",
            node.id,
            field,
        )
        return
    source_version = operator_versions.get(source_id)
    if source_version is None:
        return  # reported on the source node
    output_schema = source_version.output_schema or {}
    outputs = _properties(output_schema)
    if not outputs:
        add_error(errors, f"{source_id!r} declares no output fields", node.id, field)
        return
    if binding.field not in outputs:
        add_error(
            errors,
            f"{source_id!r} has no output field {binding.field!r} (it has: {', '.join(sorted(outputs))})",
            node.id,
            field,
        )
        return
    source_types = json_types(outputs[binding.field], output_schema)
    if not types_compatible(source_types, target_types):
        add_error(
            errors,
            f"{source_id}.{binding.field} is {_describe(source_types)}; this input needs {_describe(target_types)}",
            node.id,
            field,
        )


_ORDERED_TYPES = {"integer", "number", "string"}
_NUMBERS = {"integer", "number"}


def _value_fits(value: Any, field_types: set[str] | None) -> bool:
    """Can a condition compare this value with the field? Numbers compare with numbers (2.5 with an integer)."""
    value_type = _value_type(value)
    if value_type in _NUMBERS and field_types is not None and field_types & _NUMBERS:
        return True
    return types_compatible({value_type}, field_types)


def _check_condition(edge, operator_versions, errors) -> None:
    source_version = operator_versions.get(edge.source)
    if source_version is None:
        return  # reported on the source node
    problem = condition_problem(edge=edge, source_version=source_version)
    if problem:
        add_error(errors, problem, edge.target, "edges")


def condition_problem(*, edge: EdgeSpec, source_version: Any) -> str | None:
    """What is wrong with an edge's branch condition (naming the edge and the field), or None: the field must
    be one of the source operator's outputs and the value must fit the field's type."""
    when = edge.when
    if when is None:
        return None
    prefix = f"edge {edge.source} -> {edge.target}: condition on {when.field!r}"
    output_schema = source_version.output_schema or {}
    outputs = _properties(output_schema)
    if when.field not in outputs:
        known = ", ".join(sorted(outputs)) or "no output fields"
        return f"{prefix}: {edge.source!r} has no output field {when.field!r} (it has: {known})"
    field_types = json_types(outputs[when.field], output_schema)
    problem = None
    if when.op == "truthy":
        if when.value is not None:
            problem = "op 'truthy' takes no value"
    elif when.op == "in":
        if not isinstance(when.value, list) or not when.value:
            problem = "op 'in' needs a non-empty list of values, e.g. [1, 2]"
        else:
            wrong = [v for v in when.value if not _value_fits(v, field_types)]
            if wrong:
                problem = f"{wrong[0]!r} in the list is not a {_describe(field_types)}"
    elif when.value is None and when.op not in ("==", "!="):
        problem = f"op {when.op!r} needs a value"
    elif not _value_fits(when.value, field_types):
        problem = f"the value {when.value!r} is a {_value_type(when.value)}; the field is {_describe(field_types)}"
    elif when.op not in ("==", "!=") and field_types is not None and not (field_types - {"null"}) <= _ORDERED_TYPES:
        problem = f"op {when.op!r} compares numbers or strings; the field is {_describe(field_types)}"
    return f"{prefix}: {problem}" if problem else None
