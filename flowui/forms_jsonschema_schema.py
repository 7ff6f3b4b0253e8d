"""JSON Schema helpers of the form renderer (flowui.forms_jsonschema): `$ref`s, field kinds, field order, the
roles of fields (dataset files, CSV columns), and the bindings a freshly dropped node starts with.

Schemas are tenant code's output (Pydantic's `model_json_schema()` run in the sandbox): every key read here is
checked for its type before use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

SCALAR_TYPES = ("string", "integer", "number", "boolean")
MAX_ARRAY_ITEMS = 200
# Field roles (see field_role): where the form offers the tenant's datasets, or the columns of the chosen CSV.
ROLE_DATASET = "dataset"
ROLE_COLUMN = "column"
_DATASET_NAME = re.compile(r"^(?:.+_)?(?:path|file)$")
_COLUMN_NAME = re.compile(r"^(?:.+_)?columns?$")


@dataclass(frozen=True)
class UpstreamField:
    """One output field of a node upstream of the edited node."""

    node_id: str
    node_label: str
    field: str
    type: str  # "string", "integer", "number", "boolean", "array", "object", "enum" or "any"

    @property
    def ref(self) -> str:
        return f"{self.node_id}.{self.field}"


@dataclass(frozen=True)
class ParamRef:
    name: str
    type: str


# --- schema helpers ---------------------------------------------------------------------------
def resolve(schema: dict, root: dict) -> tuple[dict, bool]:
    """The schema with `$ref`s and single-`allOf`s followed, and whether it accepts null."""
    nullable = False
    seen = 0
    while isinstance(schema, dict) and seen < 20:
        seen += 1
        if "$ref" in schema:
            target = _follow_ref(schema["$ref"], root)
            merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            schema = merged
            continue
        if "allOf" in schema and len(schema["allOf"]) == 1:
            inner = schema["allOf"][0]
            schema = {**_follow(inner, root), **{k: v for k, v in schema.items() if k != "allOf"}}
            continue
        options = schema.get("anyOf") or schema.get("oneOf")
        if options:
            not_null = [o for o in options if o.get("type") != "null"]
            if len(not_null) < len(options):
                nullable = True
            if len(not_null) == 1:
                rest = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
                schema = {**_follow(not_null[0], root), **rest}
                continue
        break
    if isinstance(schema.get("type"), list):
        types = [t for t in schema["type"] if t != "null"]
        nullable = nullable or len(types) < len(schema["type"])
        schema = {**schema, "type": types[0] if len(types) == 1 else types}
    return schema, nullable


def _follow(schema: dict, root: dict) -> dict:
    return _follow_ref(schema["$ref"], root) if "$ref" in schema else schema


def _follow_ref(ref: str, root: dict) -> dict:
    if not ref.startswith("#/"):
        return {}
    node: Any = root
    for part in ref[2:].split("/"):
        node = node.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(node, dict) else {}
    return node if isinstance(node, dict) else {}


def field_type(schema: dict, root: dict | None = None) -> str:
    """One word for the kind of value a (resolved) schema describes."""
    schema, _ = resolve(schema, root or schema)
    if "enum" in schema or "const" in schema:
        return "enum"
    kind = schema.get("type")
    if kind in SCALAR_TYPES or kind in ("array", "object"):
        return kind
    return "any"


def compatible(target: str, source: str) -> bool:
    """May a value of type `source` feed a field of type `target`?"""
    if "any" in (target, source):
        return True
    if target == source:
        return True
    if target == "number" and source == "integer":
        return True
    return target == "string" and source == "enum"


def output_fields(schema: dict | None) -> list[tuple[str, str]]:
    """(field, type) of an operator's output schema, in schema order."""
    if not schema:
        return []
    return [(name, field_type(prop, schema)) for name, prop in (schema.get("properties") or {}).items()]


def ordered_properties(schema: dict) -> list[tuple[str, dict]]:
    """Properties in the model's declaration order. The keys of `properties` do not survive PostgreSQL's jsonb
    (it sorts them by length, then alphabetically), so the registry's schema extraction records the order as a
    list, `x-order` (flowui_runtime.inspect.with_field_order). Names it lacks (and schemas without it: older
    syncs, hand-written schemas) follow: the required ones in `required` order, then the others in key order."""
    properties = schema.get("properties") or {}
    if not isinstance(properties, dict):
        return []
    order = schema.get("x-order")
    named = [n for n in order if isinstance(n, str) and n in properties] if isinstance(order, list) else []
    named = list(dict.fromkeys(named))
    required = [n for n in schema.get("required") or [] if isinstance(n, str) and n in properties and n not in named]
    first = [*named, *dict.fromkeys(required)]
    return [(name, properties[name]) for name in first] + [
        (name, prop) for name, prop in properties.items() if name not in first
    ]


def field_role(name: str, schema: dict) -> str:
    """ROLE_DATASET for a file input, ROLE_COLUMN for a column name (or list of names), "" otherwise.

    The rule, in this order: an explicit hint `"x-flowui": "dataset"|"column"` (or `"widget"` with the same
    values) in the field's schema; `"format": "path"`; then the field's name: `path`, `file` or ending in
    `_path`/`_file` is a file, `column`, `columns` or ending in `_column`/`_columns` is a column."""
    for key in ("x-flowui", "widget"):
        hint = schema.get(key)
        if hint in (ROLE_DATASET, ROLE_COLUMN):
            return hint
    if schema.get("format") == "path":
        return ROLE_DATASET
    if _DATASET_NAME.match(name):
        return ROLE_DATASET
    if _COLUMN_NAME.match(name):
        return ROLE_COLUMN
    return ""


def label_of(name: str, schema: dict) -> str:
    return schema.get("title") or name.replace("_", " ").capitalize()


def widget_of(schema: dict) -> str:
    hint = schema.get("widget") or schema.get("x-widget") or ""
    if hint in ("textarea", "code"):
        return hint
    if schema.get("format") in ("textarea", "code", "multiline"):
        return "code" if schema["format"] == "code" else "textarea"
    return ""


def dom_id(name: str) -> str:
    return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def fmt_number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def is_number(value: Any) -> bool:
    """A JSON number (a schema's bound or length), not a string or boolean posing as one."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def join_html(parts) -> SafeString:
    """Concatenate HTML fragments; anything not already marked safe is escaped."""
    return mark_safe("".join(str(conditional_escape(part)) for part in parts))


UNION_TYPES = ("text", "number", "boolean", "json")
_UNION_OF_KIND = {"string": "text", "enum": "text", "integer": "number", "number": "number", "boolean": "boolean"}


def union_types(schema: dict, root: dict) -> list[str]:
    """The value types a field of kind "any" (a union, or no type at all) offers, from UNION_TYPES in that
    order: a union of `str | int` offers text and number; a field without any type offers all four."""
    options = schema.get("anyOf") or schema.get("oneOf")
    kinds: list[str] = []
    if isinstance(options, list):
        kinds = [field_type(o, root) for o in options if isinstance(o, dict) and o.get("type") != "null"]
    elif isinstance(schema.get("type"), list):
        kinds = [t for t in schema["type"] if t != "null"]
    if not kinds or "any" in kinds:
        return list(UNION_TYPES)
    found = {_UNION_OF_KIND.get(k, "json") for k in kinds}
    return [t for t in UNION_TYPES if t in found]


def union_type_of(value: Any, allowed: list[str]) -> str:
    """The type a stored value is shown as (text unless the value says otherwise)."""
    if isinstance(value, bool):
        kind = "boolean"
    elif isinstance(value, (int, float)):
        kind = "number"
    elif isinstance(value, (list, dict)):
        kind = "json"
    else:
        kind = "text"
    return kind if kind in allowed else allowed[0]


def default_inputs(schema: dict | None) -> dict:
    """Literal bindings for the schema's defaults (what a freshly dropped node starts with)."""
    schema = schema or {}
    inputs = {}
    for name, prop in (schema.get("properties") or {}).items():
        resolved, _ = resolve(prop, schema)
        if "default" in resolved and resolved["default"] is not None:
            inputs[name] = {"value": resolved["default"]}
    return inputs
