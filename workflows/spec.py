"""The workflow spec stored in a WorkflowVersion, as Pydantic models.

A spec is JSON: nodes (each a pinned operator version with its input bindings), edges, schedule, start
date, tags and run params. The input bindings and params reuse the runtime's contracts
(`flowui_runtime.contracts.LiteralInput`, `UpstreamInput`, `ParamInput`, `ParamSpec`), so what the editor saves
is what the generated DAG hands to the runtime.

`parse_spec(data)` gives the model or raises `SpecError` whose `errors` use the validation error shape
`{"nodes": {node_id: {field: [messages]}}, "workflow": [messages]}`.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_serializer

from flowui.inputs import has_nul
from flowui_runtime.contracts import Condition, ExecutionMode, InputBinding, ParamSpec

# Airflow task ids allow letters, digits, '-', '_' and '.'; we keep '.' out (it is used for task groups).
NODE_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
PARAM_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
SCHEDULE_PRESETS = ("@once", "@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@continuous")
DEFAULT_START_DATE = "2024-01-01T00:00:00+00:00"
MAX_NODES = 200
MAX_SPEC_BYTES = 1_000_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OperatorPin(_Strict):
    """Which operator version a node runs: pinned, so a later sync never changes a saved workflow."""

    repository: str = Field(min_length=1, max_length=100, description="Repository slug in the registry.")
    name: str = Field(min_length=1, max_length=80)
    version: str = Field(min_length=1, max_length=40)


class Position(_Strict):
    x: float = 0.0
    y: float = 0.0


class NodeSpec(_Strict):
    id: str = Field(description="Task id in Airflow: a letter, then letters, digits, '-' or '_' (max 64).")
    label: str = Field(default="", max_length=200)
    operator: OperatorPin
    position: Position = Field(default_factory=Position)
    inputs: dict[str, InputBinding] = Field(
        default_factory=dict,
        description='Per input field: {"value": X} (literal), {"from": node_id, "field": f} (upstream output) '
        'or {"param": name} (run parameter).',
    )
    execution_mode: ExecutionMode = "local"
    retries: int = Field(default=0, ge=0, le=10)
    timeout_s: int = Field(default=3600, gt=0, le=7 * 24 * 3600)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not NODE_ID_RE.match(value):
            raise ValueError("must start with a letter and hold only letters, digits, '-' or '_' (max 64)")
        return value


class EdgeSpec(_Strict):
    source: str
    target: str
    when: Condition | None = Field(
        default=None,
        description='A branch condition on the source\'s output, e.g. {"field": "rows", "op": ">", "value": 5}: '
        "the target runs only if one of its conditional edges holds.",
    )

    @model_serializer(mode="wrap")
    def _without_empty_when(self, handler: Any) -> dict[str, Any]:
        # Edges without a condition keep their old form ({source, target}) in saved specs and the API.
        data = handler(self)
        if data.get("when") is None:
            data.pop("when", None)
        return data


class WorkflowSpec(_Strict):
    nodes: list[NodeSpec] = Field(default_factory=list, max_length=MAX_NODES)
    edges: list[EdgeSpec] = Field(default_factory=list)
    schedule: str | None = Field(default=None, description="null, a preset such as @daily, or a cron expression.")
    start_date: str = Field(default=DEFAULT_START_DATE, description="ISO 8601 date-time (UTC if no offset).")
    tags: list[str] = Field(default_factory=list, max_length=20)
    params: list[ParamSpec] = Field(default_factory=list, max_length=50)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        for tag in value:
            if not tag.strip() or len(tag) > 60:
                raise ValueError("each tag must be 1-60 characters")
        return value

    @field_validator("start_date")
    @classmethod
    def _start_date(cls, value: str) -> str:
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("must be an ISO 8601 date-time such as 2024-01-01T00:00:00+00:00") from None
        return value

    def node(self, node_id: str) -> NodeSpec | None:
        return next((node for node in self.nodes if node.id == node_id), None)

    def to_data(self) -> dict[str, Any]:
        """Plain JSON data, with the input bindings in their wire form (`from`, not `from_node`)."""
        return self.model_dump(mode="json", by_alias=True)


class SpecError(Exception):
    """The spec cannot be read at all (wrong structure); `errors` is in the validation error shape."""

    def __init__(self, errors: dict[str, Any]):
        super().__init__("The workflow spec is not valid.")
        self.errors = errors


def empty_errors() -> dict[str, Any]:
    return {"nodes": {}, "workflow": []}


def add_error(errors: dict[str, Any], message: str, node_id: str | None = None, field: str = "node") -> None:
    if node_id is None:
        if message not in errors["workflow"]:
            errors["workflow"].append(message)
        return
    messages = errors["nodes"].setdefault(node_id, {}).setdefault(field, [])
    if message not in messages:
        messages.append(message)


def has_errors(errors: dict[str, Any]) -> bool:
    return bool(errors["workflow"] or errors["nodes"])


def _loc_text(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "spec"


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return has_nul(value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def parse_spec(data: Any) -> WorkflowSpec:
    """The spec as a model, or SpecError naming each structural problem (per node where possible)."""
    if not isinstance(data, dict):
        raise SpecError({"nodes": {}, "workflow": ["The spec must be a JSON object."]})
    try:
        size = len(json.dumps(data, allow_nan=False))
        has_nul = _has_nul(data)
    except (TypeError, ValueError, RecursionError):
        raise SpecError({"nodes": {}, "workflow": ["The spec must be plain JSON (no NaN or Infinity)."]}) from None
    if has_nul:
        # PostgreSQL's jsonb cannot store NUL characters.
        raise SpecError({"nodes": {}, "workflow": ["The spec must not contain NUL (\\u0000) characters."]})
    if size > MAX_SPEC_BYTES:
        raise SpecError({"nodes": {}, "workflow": [f"The spec is larger than {MAX_SPEC_BYTES} bytes."]})
    try:
        return WorkflowSpec.model_validate(data)
    except ValidationError as exc:
        errors = empty_errors()
        raw_nodes = data.get("nodes") if isinstance(data.get("nodes"), list) else []
        raw_edges = data.get("edges") if isinstance(data.get("edges"), list) else []
        for error in exc.errors(include_url=False):
            loc = tuple(error["loc"])
            message = error["msg"]
            if len(loc) >= 2 and loc[0] == "nodes" and isinstance(loc[1], int):
                raw = raw_nodes[loc[1]] if loc[1] < len(raw_nodes) else None
                raw_id = raw.get("id") if isinstance(raw, dict) else None
                node_key = raw_id if isinstance(raw_id, str) and raw_id else f"#{loc[1]}"
                rest = loc[2:]
                if rest and rest[0] == "inputs" and len(rest) >= 2:
                    field = f"inputs.{rest[1]}"
                    # A binding fails all three union members; say what is expected once.
                    message = 'expected {"value": X}, {"from": node_id, "field": name} or {"param": name}'
                else:
                    field = _loc_text(rest) if rest else "node"
                add_error(errors, message, node_key, field)
            elif len(loc) >= 3 and loc[0] == "edges" and isinstance(loc[1], int) and loc[1] < len(raw_edges):
                raw = raw_edges[loc[1]] if isinstance(raw_edges[loc[1]], dict) else {}
                name = f"edge {raw.get('source')!r} -> {raw.get('target')!r}"
                add_error(errors, f"{name}: {_loc_text(loc[2:])}: {message}")
            else:
                add_error(errors, f"{_loc_text(loc)}: {message}")
        raise SpecError(errors) from None
