"""Node inputs back from the posted node form (the other half of flowui.forms_jsonschema): the spec's bindings
and per-field errors. Posted data is hostile: every value is converted and checked against the (resolved)
schema; an unknown name is ignored.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flowui.forms_jsonschema_schema import (
    MAX_ARRAY_ITEMS,
    SCALAR_TYPES,
    ParamRef,
    UpstreamField,
    compatible,
    field_type,
    fmt_number,
    is_number,
    resolve,
    union_types,
)

FORM_ACTION = "_form_action"  # "add:<list path>" or "remove:<list path>.<index>" (the list buttons)


class _Missing:
    pass


MISSING = _Missing()


def parse_form(
    schema: dict | None,
    data,
    *,
    prefix: str = "in",
    upstream: list[UpstreamField] | None = None,
    params: list[ParamRef] | None = None,
) -> tuple[dict, dict[str, list[str]]]:
    """(inputs bindings, errors by field path) from posted form data (a QueryDict or a plain dict)."""
    schema = schema or {}
    getlist = (
        data.getlist
        if hasattr(data, "getlist")
        else (lambda key: (data[key] if isinstance(data.get(key), list) else [data[key]]) if key in data else [])
    )
    keys = set(data.keys())
    action = str((getlist(FORM_ACTION) or [""])[-1])
    if action.startswith("remove:"):  # the removed item's fields are left out, as if they had not been posted
        removed = action[len("remove:") :]
        keys = {k for k in keys if k != removed and not k.startswith(removed + ".")}
    upstream_refs = {u.ref: u for u in (upstream or [])}
    param_names = {p.name for p in (params or [])}
    required = set(schema.get("required") or [])
    inputs: dict = {}
    errors: dict[str, list[str]] = {}
    for name, prop in (schema.get("properties") or {}).items():
        resolved, nullable = resolve(prop, schema)
        path = f"{prefix}.{name}"
        mode = (getlist(f"{path}.mode") or ["value"])[-1]
        kind = field_type(resolved, schema)
        if mode == "from":
            ref = (getlist(f"{path}.from") or [""])[-1]
            if not ref:  # just switched to "from upstream": start with the first field that fits
                ref = next((u.ref for u in upstream or [] if compatible(kind, u.type)), "")
            if ref not in upstream_refs and "." not in ref:
                errors[name] = ["Choose an upstream field."]
                continue
            node_id, _, out_field = ref.rpartition(".")
            inputs[name] = {"from": node_id, "field": out_field}
            continue
        if mode == "param":
            param = (getlist(f"{path}.param") or [""])[-1]
            if not param:
                param = next((p.name for p in params or [] if compatible(kind, p.type)), "")
            if param not in param_names:
                errors[name] = [f"Unknown run parameter {param!r}." if param else "Choose a run parameter."]
                continue
            inputs[name] = {"param": param}
            continue
        value = _parse_value(path, name, resolved, schema, getlist, keys, errors)
        if value is MISSING:
            if name in required and not nullable and "default" not in resolved and name not in errors:
                errors[name] = ["This field is required."]
            continue
        inputs[name] = {"value": value}
    return inputs, errors


def _parse_value(path, rel, schema, root, getlist, keys, errors):
    kind = field_type(schema, root)
    if kind == "object" and schema.get("properties"):
        result = {}
        sub_required = set(schema.get("required") or [])
        for sub, sub_prop in schema["properties"].items():
            sub_schema, sub_nullable = resolve(sub_prop, root)
            value = _parse_value(f"{path}.{sub}", f"{rel}.{sub}", sub_schema, root, getlist, keys, errors)
            if value is MISSING:
                if sub in sub_required and not sub_nullable and "default" not in sub_schema:
                    errors.setdefault(f"{rel}.{sub}", ["This field is required."])
                continue
            result[sub] = value
        return result if result else MISSING
    if kind == "array":
        items_schema, _ = resolve(schema.get("items") or {}, root)
        item_kind = field_type(items_schema, root)
        if (
            item_kind in SCALAR_TYPES
            or item_kind == "enum"
            or (item_kind == "object" and items_schema.get("properties"))
        ):
            indexes = sorted(
                {
                    int(m.group(1))
                    for k in keys
                    if (m := re.match(re.escape(path) + r"\.(\d+)(?:\.|$)", k)) and int(m.group(1)) < MAX_ARRAY_ITEMS
                }
            )
            items = []
            for index in indexes:
                if item_kind == "object" and not _typed_anything(f"{path}.{index}", items_schema, root, getlist):
                    continue  # the empty "new item" row: its selects and checkboxes alone do not make an item
                value = _parse_value(f"{path}.{index}", f"{rel}.{index}", items_schema, root, getlist, keys, errors)
                if value is not MISSING:
                    items.append(value)
            if f"{path}.present" not in keys and not indexes:
                return MISSING
            return _check_array(items, schema, rel, errors)
    if kind == "any":
        return _parse_union(path, rel, schema, root, getlist, keys, errors)
    if kind in ("array", "object") and f"{path}.json" in keys:
        text = (getlist(f"{path}.json") or [""])[-1].strip()
        if not text:
            return MISSING
        try:
            value = json.loads(text)
        except ValueError as exc:
            errors[rel] = [f"Enter valid JSON ({exc.msg} at line {exc.lineno})."]
            return MISSING
        if kind == "array" and not isinstance(value, list):
            errors[rel] = ["Enter a JSON list, e.g. [1, 2]."]
            return MISSING
        if kind == "object" and not isinstance(value, dict):
            errors[rel] = ['Enter a JSON object, e.g. {"key": "value"}.']
            return MISSING
        return value
    raw_values = getlist(path)
    if not raw_values:
        return MISSING
    raw = raw_values[-1]
    if kind == "boolean":
        return str(raw).lower() in ("true", "on", "1", "yes")
    raw = str(raw)
    if raw.strip() == "" and kind != "string":
        return MISSING
    if kind == "string" and raw == "":
        return MISSING
    return convert_scalar(raw, schema, rel, errors)


def _typed_anything(path: str, schema: dict, root: dict, getlist) -> bool:
    """Did the user type into any text or number field of this object (nested ones included)?"""
    for sub, sub_prop in (schema.get("properties") or {}).items():
        sub_schema, _ = resolve(sub_prop, root)
        kind = field_type(sub_schema, root)
        sub_path = f"{path}.{sub}"
        if kind in ("string", "integer", "number") and any(str(v).strip() for v in getlist(sub_path)):
            return True
        if kind in ("array", "object", "any") and any(str(v).strip() for v in getlist(f"{sub_path}.json")):
            return True
        if kind == "any" and any(str(v).strip() for v in getlist(sub_path)):
            return True
        if kind == "object" and _typed_anything(sub_path, sub_schema, root, getlist):
            return True
    return False


def _parse_union(path, rel, schema, root, getlist, keys, errors):
    """A union / any field: the value as the picked type. Text stays text (never parsed as JSON); switching a
    value to JSON keeps text that is not JSON as a JSON string; JSON is parsed only when JSON is picked."""
    allowed = union_types(schema, root)
    from_json = f"{path}.json" in keys
    picked = str((getlist(f"{path}.type") or [""])[-1])
    kind = picked if picked in allowed else ("json" if from_json and "json" in allowed else allowed[0])
    raw_values = getlist(f"{path}.json") if from_json else (getlist(path) if path in keys else [])
    if not raw_values:
        return MISSING
    raw = str(raw_values[-1])
    if raw.strip() == "":
        return MISSING
    decoded: Any = MISSING
    if from_json:
        try:
            decoded = json.loads(raw)
        except ValueError:
            decoded = MISSING
    if kind == "json":
        if from_json and decoded is MISSING:
            try:
                json.loads(raw)
            except ValueError as exc:
                errors[rel] = [f"Enter valid JSON ({exc.msg} at line {exc.lineno}), or pick Text."]
            return MISSING
        if from_json:
            return decoded
        try:  # just switched to JSON: the typed text, as JSON when it is, else as a JSON string
            return json.loads(raw)
        except ValueError:
            return raw
    if kind == "number":
        text = fmt_number(decoded) if is_number(decoded) else raw.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            errors[rel] = ["Enter a number, or pick Text."]
            return MISSING
        if number != number or number in (float("inf"), float("-inf")):
            errors[rel] = ["Enter a finite number."]
            return MISSING
        return number
    if kind == "boolean":
        return (decoded if isinstance(decoded, bool) else raw.strip().lower()) in (True, "true", "on", "1", "yes")
    if from_json and isinstance(decoded, str):
        return decoded  # switched from JSON to text: a JSON string becomes its text
    return raw


def _check_array(items, schema, rel, errors):
    if "minItems" in schema and len(items) < schema["minItems"]:
        errors.setdefault(rel, []).append(f"Add at least {schema['minItems']} item(s).")
    if "maxItems" in schema and len(items) > schema["maxItems"]:
        errors.setdefault(rel, []).append(f"Use at most {schema['maxItems']} item(s).")
    return items


def convert_scalar(raw: str, schema: dict, rel: str, errors: dict):
    """Convert and check one literal against its (resolved) schema; on a problem record it under `rel`."""
    kind = field_type(schema)
    problems: list[str] = []
    value: Any = raw
    if kind == "enum":
        options = schema.get("enum") or [schema.get("const")]
        match = [o for o in options if (o if isinstance(o, str) else json.dumps(o)) == raw]
        if not match:
            problems.append(f"Choose one of: {', '.join(str(o) for o in options)}.")
        else:
            value = match[0]
    elif kind == "integer":
        try:
            value = int(raw.strip())
        except ValueError:
            try:
                as_float = float(raw.strip())
            except ValueError:
                as_float = None
            if as_float is not None and as_float.is_integer():
                value = int(as_float)
            else:
                errors[rel] = ["Enter a whole number."]
                return MISSING
    elif kind == "number":
        try:
            value = float(raw.strip())
        except ValueError:
            errors[rel] = ["Enter a number."]
            return MISSING
        if value != value or value in (float("inf"), float("-inf")):
            errors[rel] = ["Enter a finite number."]
            return MISSING
        if value.is_integer() and "." not in raw and "e" not in raw.lower():
            value = int(value)

    # Bounds come from the operator's schema (tenant code): a bound that is not a number is ignored.
    def bound(key: str):
        return schema[key] if is_number(schema.get(key)) else None

    if kind in ("integer", "number"):
        if bound("minimum") is not None and value < bound("minimum"):
            problems.append(f"Must be at least {fmt_number(bound('minimum'))}.")
        if bound("maximum") is not None and value > bound("maximum"):
            problems.append(f"Must be at most {fmt_number(bound('maximum'))}.")
        if bound("exclusiveMinimum") is not None and value <= bound("exclusiveMinimum"):
            problems.append(f"Must be greater than {fmt_number(bound('exclusiveMinimum'))}.")
        if bound("exclusiveMaximum") is not None and value >= bound("exclusiveMaximum"):
            problems.append(f"Must be less than {fmt_number(bound('exclusiveMaximum'))}.")
        if bound("multipleOf") and (value / bound("multipleOf")) % 1:
            problems.append(f"Must be a multiple of {fmt_number(bound('multipleOf'))}.")
    if kind == "string":
        if bound("minLength") is not None and len(value) < bound("minLength"):
            problems.append(f"Use at least {bound('minLength')} characters.")
        if bound("maxLength") is not None and len(value) > bound("maxLength"):
            problems.append(f"Use at most {bound('maxLength')} characters.")
        if isinstance(schema.get("pattern"), str) and schema["pattern"]:
            try:
                if not re.search(schema["pattern"], value):
                    problems.append(f"Must match the pattern {schema['pattern']}.")
            except re.error:
                pass
    if problems:
        errors[rel] = problems
        return MISSING
    return value
