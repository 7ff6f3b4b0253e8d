"""An HTML form from an operator's input JSON Schema, and the node inputs back from the posted form.

Pure functions (no database): the editor views hand in the schema, the node's current input bindings, the
validation errors and the type-compatible upstream output fields, and get HTML back; on submit they get
the bindings (the spec's `{"value": X} | {"from": node, "field": f} | {"param": name}`) and per-field errors.

Schemas come from Pydantic (`InputModel.model_json_schema()`), so `$ref`/`$defs`, `allOf: [{$ref}]` and
`anyOf: [{...}, {"type": "null"}]` (optional fields) are resolved. A property may carry a `"widget"` hint:
`"textarea"` or `"code"` (with an optional `"language"`). Anything the form cannot express field by field
(free-form dicts, unions) is edited as JSON in a code box.

Posted names: `<prefix>.<field>` holds a literal, `<prefix>.<field>.mode` is `value|from|param`,
`<prefix>.<field>.from` is `node_id.output_field`, `<prefix>.<field>.param` a run parameter name. Nested object
fields and array items extend the path: `<prefix>.<field>.<sub>`, `<prefix>.<field>.<index>[.<sub>]`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

SCALAR_TYPES = ("string", "integer", "number", "boolean")
MAX_ARRAY_ITEMS = 200


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
    """Properties with the required ones first, in `required` order (a list keeps its order everywhere;
    the keys of `properties` do not survive PostgreSQL's jsonb), then the others in key order."""
    properties = schema.get("properties") or {}
    required = [name for name in schema.get("required") or [] if name in properties]
    return [(name, properties[name]) for name in required] + [
        (name, prop) for name, prop in properties.items() if name not in required
    ]


def _label(name: str, schema: dict) -> str:
    return schema.get("title") or name.replace("_", " ").capitalize()


def _widget(schema: dict) -> str:
    hint = schema.get("widget") or schema.get("x-widget") or ""
    if hint in ("textarea", "code"):
        return hint
    if schema.get("format") in ("textarea", "code", "multiline"):
        return "code" if schema["format"] == "code" else "textarea"
    return ""


def _dom_id(name: str) -> str:
    return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def _fmt_number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _is_number(value: Any) -> bool:
    """A JSON number (a schema's bound or length), not a string or boolean posing as one."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def _join(parts) -> SafeString:
    """Concatenate HTML fragments; anything not already marked safe is escaped."""
    return mark_safe("".join(str(conditional_escape(part)) for part in parts))


# --- rendering --------------------------------------------------------------------------------
def render_form(
    schema: dict | None,
    *,
    inputs: dict | None = None,
    errors: dict | None = None,
    upstream: list[UpstreamField] | None = None,
    params: list[ParamRef] | None = None,
    prefix: str = "in",
) -> SafeString:
    """HTML for the fields of `schema` (the surrounding <form> is the caller's)."""
    schema = schema or {}
    inputs = inputs or {}
    errors = {str(k): (v if isinstance(v, list) else [str(v)]) for k, v in (errors or {}).items()}
    upstream = upstream or []
    params = params or []
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    parts: list[str] = []
    shown_errors: set[str] = set()
    for name, prop in ordered_properties(schema):
        parts.append(
            _render_top_field(
                name,
                prop,
                schema,
                binding=inputs.get(name),
                errors=errors,
                shown=shown_errors,
                required=name in required,
                upstream=upstream,
                params=params,
                prefix=prefix,
            )
        )
    leftover = [(k, msgs) for k, msgs in errors.items() if k not in shown_errors]
    head = ""
    if leftover:
        head = format_html(
            '<div class="form-errors" role="alert"><ul>{}</ul></div>',
            format_html_join(
                "",
                "<li>{}</li>",
                ((f"{k}: {m}" if k not in ("", "__all__") else m,) for k, msgs in leftover for m in msgs),
            ),
        )
    if not properties:
        parts.append(format_html('<p class="help">{}</p>', "This operator takes no inputs."))
    return _join([head, *parts])


def _errors_html(path: str, errors: dict, shown: set) -> tuple[str, str]:
    messages = errors.get(path) or []
    if not messages:
        return "", ""
    shown.add(path)
    error_id = _dom_id("err-" + path)
    html = format_html(
        '<ul class="errorlist" id="{}" role="alert">{}</ul>',
        error_id,
        format_html_join("", "<li>{}</li>", ((m,) for m in messages)),
    )
    return html, error_id


def _render_top_field(name, prop, root, *, binding, errors, shown, required, upstream, params, prefix) -> str:
    resolved, nullable = resolve(prop, root)
    kind = field_type(resolved, root)
    path = f"{prefix}.{name}"
    binding = binding if isinstance(binding, dict) else None
    mode = "value"
    if binding and "from" in binding:
        mode = "from"
    elif binding and "param" in binding:
        mode = "param"
    choices_up = [u for u in upstream if compatible(kind, u.type)]
    choices_param = [p for p in params if compatible(kind, p.type)]
    current_ref = f"{binding['from']}.{binding.get('field', '')}" if mode == "from" else ""
    if mode == "from" and all(u.ref != current_ref for u in choices_up):
        # Keep a binding the form can no longer offer visible, so saving does not silently drop it.
        choices_up = [*choices_up, UpstreamField(binding["from"], binding["from"], binding.get("field", ""), kind)]
    error_html, error_id = _errors_html(name, errors, shown)
    label = _label(name, resolved)
    help_id = _dom_id("help-" + path)
    description = resolved.get("description") or prop.get("description") or ""
    modes = [("value", "Value")]
    if choices_up:
        modes.append(("from", "From upstream"))
    if choices_param:
        modes.append(("param", "Run parameter"))
    mode_html = ""
    if len(modes) > 1:
        mode_html = format_html(
            '<select class="mode" name="{}.mode" aria-label="{}: source of the value">{}</select>',
            path,
            label,
            format_html_join(
                "",
                '<option value="{}"{}>{}</option>',
                ((v, mark_safe(" selected") if v == mode else "", t) for v, t in modes),
            ),
        )
    described = " ".join(x for x in (help_id if description else "", error_id) if x)
    if mode == "from":
        control = format_html(
            '<select id="{}" name="{}.from" aria-describedby="{}">{}</select>',
            _dom_id(path),
            path,
            described,
            format_html_join(
                "",
                '<option value="{}"{}>{}</option>',
                (
                    (u.ref, mark_safe(" selected") if u.ref == current_ref else "", f"{u.node_label} → {u.field}")
                    for u in choices_up
                ),
            ),
        )
    elif mode == "param":
        current = binding.get("param", "")
        control = format_html(
            '<select id="{}" name="{}.param" aria-describedby="{}">{}</select>',
            _dom_id(path),
            path,
            described,
            format_html_join(
                "",
                '<option value="{}"{}>{}</option>',
                (
                    (p.name, mark_safe(" selected") if p.name == current else "", f"params.{p.name}")
                    for p in choices_param
                ),
            ),
        )
    else:
        value = binding.get("value") if binding and "value" in binding else resolved.get("default", prop.get("default"))
        control = _render_value(
            path,
            name,
            resolved,
            root,
            value=value,
            errors=errors,
            shown=shown,
            described=described,
            required=required and not nullable,
        )
    classes = "field" + (" invalid" if error_html else "") + f" kind-{kind}"
    required_mark = mark_safe('<span class="req" aria-hidden="true">*</span>') if required else ""
    label_html = (
        format_html('<span class="label">{}{}</span>', label, required_mark)
        if kind in ("object", "array") and mode == "value"
        else format_html('<label for="{}">{}{}</label>', _dom_id(path), label, required_mark)
    )
    help_html = format_html('<p class="help" id="{}">{}</p>', help_id, description) if description else ""
    return format_html(
        '<div class="{}" data-field="{}"><div class="field-head">{}{}</div>{}{}{}</div>',
        classes,
        name,
        label_html,
        mode_html,
        control,
        help_html,
        error_html,
    )


def _render_value(path, rel, schema, root, *, value, errors, shown, described, required) -> str:
    kind = field_type(schema, root)
    dom_id = _dom_id(path)
    invalid = mark_safe(' aria-invalid="true"') if errors.get(rel) else ""
    req = mark_safe(" required") if required else ""
    if kind == "enum":
        options = schema.get("enum") or [schema.get("const")]
        blank = "" if required else format_html('<option value="">{}</option>', "—")
        return format_html(
            '<select id="{}" name="{}" aria-describedby="{}"{}{}>{}{}</select>',
            dom_id,
            path,
            described,
            invalid,
            req,
            blank,
            format_html_join(
                "",
                '<option value="{}"{}>{}</option>',
                (
                    (json.dumps(o) if not isinstance(o, str) else o, mark_safe(" selected") if o == value else "", o)
                    for o in options
                ),
            ),
        )
    if kind == "boolean":
        return format_html(
            '<input type="hidden" name="{}" value="false">'
            '<input type="checkbox" id="{}" name="{}" value="true" aria-describedby="{}"{}{}>',
            path,
            dom_id,
            path,
            described,
            invalid,
            mark_safe(" checked") if value is True else "",
        )
    if kind in ("integer", "number"):
        # Bounds come from the operator's schema (tenant code): only real numbers, always escaped.
        attrs = format_html_join(
            "",
            ' {}="{}"',
            (
                (attr, _fmt_number(schema[key]))
                for key, attr in (("minimum", "min"), ("maximum", "max"))
                if _is_number(schema.get(key))
            ),
        )
        step = "1" if kind == "integer" else "any"
        shown_value = "" if value is None else _fmt_number(value)
        return format_html(
            '<input type="number" id="{}" name="{}" value="{}" step="{}"{} aria-describedby="{}"{}{}>',
            dom_id,
            path,
            shown_value,
            step,
            attrs,
            described,
            invalid,
            req,
        )
    if kind == "string":
        widget = _widget(schema)
        shown_value = "" if value is None else str(value)
        if widget:
            language = schema.get("language", "")
            return format_html(
                '<textarea id="{}" name="{}" rows="{}" class="{}" data-language="{}" spellcheck="{}" '
                'aria-describedby="{}"{}{}>{}</textarea>',
                dom_id,
                path,
                8 if widget == "code" else 4,
                f"widget-{widget}",
                language,
                "false" if widget == "code" else "true",
                described,
                invalid,
                req,
                shown_value,
            )
        input_type = {
            "email": "email",
            "uri": "url",
            "date": "date",
            "date-time": "datetime-local",
            "password": "password",
        }.get(schema.get("format", ""), "text")
        extra = ""
        if _is_number(schema.get("maxLength")) and schema["maxLength"] >= 0:
            extra = format_html(' maxlength="{}"', int(schema["maxLength"]))
        return format_html(
            '<input type="{}" id="{}" name="{}" value="{}"{} aria-describedby="{}"{}{}>',
            input_type,
            dom_id,
            path,
            shown_value,
            extra,
            described,
            invalid,
            req,
        )
    if kind == "object" and schema.get("properties"):
        value = value if isinstance(value, dict) else {}
        sub_required = set(schema.get("required") or [])
        rows = []
        for sub, sub_prop in ordered_properties(schema):
            sub_schema, sub_nullable = resolve(sub_prop, root)
            sub_path, sub_rel = f"{path}.{sub}", f"{rel}.{sub}"
            rows.append(
                _render_plain_field(
                    sub_path,
                    sub_rel,
                    sub,
                    sub_schema,
                    root,
                    value=value.get(sub, sub_schema.get("default")),
                    errors=errors,
                    shown=shown,
                    required=sub in sub_required and not sub_nullable,
                )
            )
        return format_html('<fieldset class="nested" id="{}">{}</fieldset>', dom_id, _join(rows))
    if kind == "array":
        items_schema, _ = resolve(schema.get("items") or {}, root)
        item_kind = field_type(items_schema, root)
        if (
            item_kind in SCALAR_TYPES
            or item_kind == "enum"
            or (item_kind == "object" and items_schema.get("properties"))
        ):
            items = list(value) if isinstance(value, list) else []
            rows = []
            for index, item in enumerate([*items, None][:MAX_ARRAY_ITEMS]):
                item_path, item_rel = f"{path}.{index}", f"{rel}.{index}"
                title = f"Item {index + 1}" if index < len(items) else "New item"
                rows.append(
                    _render_plain_field(
                        item_path,
                        item_rel,
                        title,
                        {**items_schema, "title": title},
                        root,
                        value=item,
                        errors=errors,
                        shown=shown,
                        required=False,
                        css="item",
                    )
                )
            hint = format_html('<p class="help">{}</p>', "Fill the empty row to add an item; clear one to remove it.")
            return format_html('<div class="array" id="{}">{}{}</div>', dom_id, _join(rows), hint)
    # Free-form: edit as JSON.
    text = "" if value is None else json.dumps(value, indent=2)
    return format_html(
        '<textarea id="{}" name="{}.json" rows="6" class="widget-code" data-language="json" spellcheck="false" '
        'aria-describedby="{}"{}>{}</textarea>',
        dom_id,
        path,
        described,
        invalid,
        text,
    )


def _render_plain_field(path, rel, name, schema, root, *, value, errors, shown, required, css="") -> str:
    kind = field_type(schema, root)
    error_html, error_id = _errors_html(rel, errors, shown)
    description = schema.get("description") or ""
    help_id = _dom_id("help-" + path)
    described = " ".join(x for x in (help_id if description else "", error_id) if x)
    control = _render_value(
        path, rel, schema, root, value=value, errors=errors, shown=shown, described=described, required=required
    )
    label = _label(name, schema)
    label_html = (
        format_html('<span class="label">{}</span>', label)
        if kind in ("object", "array")
        else format_html('<label for="{}">{}</label>', _dom_id(path), label)
    )
    help_html = format_html('<p class="help" id="{}">{}</p>', help_id, description) if description else ""
    classes = " ".join(c for c in ("field", css, "invalid" if error_html else "", f"kind-{kind}") if c)
    return format_html('<div class="{}">{}{}{}{}</div>', classes, label_html, control, help_html, error_html)


# --- parsing ----------------------------------------------------------------------------------
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
    if kind in ("array", "object", "any") and f"{path}.json" in keys:
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
        if kind == "object" and _typed_anything(sub_path, sub_schema, root, getlist):
            return True
    return False


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
        return schema[key] if _is_number(schema.get(key)) else None

    if kind in ("integer", "number"):
        if bound("minimum") is not None and value < bound("minimum"):
            problems.append(f"Must be at least {_fmt_number(bound('minimum'))}.")
        if bound("maximum") is not None and value > bound("maximum"):
            problems.append(f"Must be at most {_fmt_number(bound('maximum'))}.")
        if bound("exclusiveMinimum") is not None and value <= bound("exclusiveMinimum"):
            problems.append(f"Must be greater than {_fmt_number(bound('exclusiveMinimum'))}.")
        if bound("exclusiveMaximum") is not None and value >= bound("exclusiveMaximum"):
            problems.append(f"Must be less than {_fmt_number(bound('exclusiveMaximum'))}.")
        if bound("multipleOf") and (value / bound("multipleOf")) % 1:
            problems.append(f"Must be a multiple of {_fmt_number(bound('multipleOf'))}.")
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


def default_inputs(schema: dict | None) -> dict:
    """Literal bindings for the schema's defaults (what a freshly dropped node starts with)."""
    schema = schema or {}
    inputs = {}
    for name, prop in (schema.get("properties") or {}).items():
        resolved, _ = resolve(prop, schema)
        if "default" in resolved and resolved["default"] is not None:
            inputs[name] = {"value": resolved["default"]}
    return inputs
