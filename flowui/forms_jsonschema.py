"""An HTML form from an operator's input JSON Schema, and the node inputs back from the posted form.

Pure functions (no database): the editor views hand in the schema, the node's current input bindings, the
validation errors, the type-compatible upstream output fields, and optionally the tenant's dataset paths and
the columns of the chosen CSV (suggestion lists); they get HTML back. On submit `parse_form`
(flowui.forms_jsonschema_parse) gives the bindings (the spec's `{"value": X} | {"from": node, "field": f} |
{"param": name}`) and per-field errors.

Schemas come from Pydantic (`InputModel.model_json_schema()`), so `$ref`/`$defs`, `allOf: [{$ref}]` and
`anyOf: [{...}, {"type": "null"}]` (optional fields) are resolved; fields come in the model's declaration order
(`x-order`, see ordered_properties). A property may carry a `"widget"` hint: `"textarea"` or `"code"` (with an
optional `"language"`). Unions and untyped fields get a type picker (text, number, true/false, JSON; text by
default); free-form dicts are edited as JSON. Lists show their items and an "Add item" button (no empty row
until asked for one: `adding`).

Posted names: `<prefix>.<field>` holds a literal, `<prefix>.<field>.mode` is `value|from|param`,
`<prefix>.<field>.from` is `node_id.output_field`, `<prefix>.<field>.param` a run parameter name,
`<prefix>.<field>.type` the picked type of a union. Nested object fields and list items extend the path:
`<prefix>.<field>.<sub>`, `<prefix>.<field>.<index>[.<sub>]`. `_form_action` is `add:<path>` or
`remove:<path>.<index>` (the list buttons, set by static/js/editor.js).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from flowui.forms_jsonschema_parse import convert_scalar, parse_form  # noqa: F401 - the module's public API
from flowui.forms_jsonschema_schema import (  # noqa: F401 - the module's public API
    MAX_ARRAY_ITEMS,
    ROLE_COLUMN,
    ROLE_DATASET,
    SCALAR_TYPES,
    ParamRef,
    UpstreamField,
    compatible,
    default_inputs,
    dom_id,
    field_role,
    field_type,
    join_html,
    label_of,
    ordered_properties,
    output_fields,
    resolve,
)
from flowui.forms_jsonschema_widgets import (
    boolean_control,
    datalists_html,
    enum_control,
    number_control,
    text_control,
    union_control,
)


@dataclass
class _Ctx:
    errors: dict
    shown: set = field(default_factory=set)
    lists: dict = field(default_factory=dict)  # role -> suggestions
    adding: frozenset = frozenset()  # list paths that show an empty new row


# --- rendering --------------------------------------------------------------------------------
def render_form(
    schema: dict | None,
    *,
    inputs: dict | None = None,
    errors: dict | None = None,
    upstream: list[UpstreamField] | None = None,
    params: list[ParamRef] | None = None,
    prefix: str = "in",
    datasets: list[str] | None = None,
    columns: list[str] | None = None,
    adding: set[str] | frozenset | None = None,
) -> SafeString:
    """HTML for the fields of `schema` (the surrounding <form> is the caller's)."""
    schema = schema or {}
    inputs = inputs or {}
    ctx = _Ctx(
        errors={str(k): (v if isinstance(v, list) else [str(v)]) for k, v in (errors or {}).items()},
        lists={ROLE_DATASET: list(datasets or []), ROLE_COLUMN: list(columns or [])},
        adding=frozenset(adding or ()),
    )
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    parts: list[str] = []
    for name, prop in ordered_properties(schema):
        parts.append(
            _render_top_field(
                name,
                prop,
                schema,
                binding=inputs.get(name),
                ctx=ctx,
                required=name in required,
                upstream=upstream or [],
                params=params or [],
                prefix=prefix,
            )
        )
    leftover = [(k, msgs) for k, msgs in ctx.errors.items() if k not in ctx.shown]
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
    return join_html([head, *parts, datalists_html(ctx.lists)])


def _errors_html(path: str, ctx: _Ctx) -> tuple[str, str]:
    messages = ctx.errors.get(path) or []
    if not messages:
        return "", ""
    ctx.shown.add(path)
    error_id = dom_id("err-" + path)
    html = format_html(
        '<ul class="errorlist" id="{}" role="alert">{}</ul>',
        error_id,
        format_html_join("", "<li>{}</li>", ((m,) for m in messages)),
    )
    return html, error_id


def _select(path_name: str, described: str, pairs, current) -> SafeString:
    return format_html(
        '<select id="{}" name="{}" aria-describedby="{}">{}</select>',
        dom_id(path_name.rsplit(".", 1)[0]),
        path_name,
        described,
        format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((v, mark_safe(" selected") if v == current else "", t) for v, t in pairs),
        ),
    )


def _render_top_field(name, prop, root, *, binding, ctx, required, upstream, params, prefix) -> str:
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
    error_html, error_id = _errors_html(name, ctx)
    label = label_of(name, resolved)
    help_id = dom_id("help-" + path)
    description = resolved.get("description") or prop.get("description") or ""
    role = field_role(name, resolved)
    modes = [("value", "Value")]
    if choices_up:
        modes.append(("from", "Upstream file" if role == ROLE_DATASET else "From upstream"))
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
        pairs = ((u.ref, f"{u.node_label} → {u.field}") for u in choices_up)
        control = _select(f"{path}.from", described, pairs, current_ref)
    elif mode == "param":
        pairs = ((p.name, f"params.{p.name}") for p in choices_param)
        control = _select(f"{path}.param", described, pairs, binding.get("param", ""))
    else:
        value = binding.get("value") if binding and "value" in binding else resolved.get("default", prop.get("default"))
        control = _render_value(
            path,
            name,
            resolved,
            root,
            value=value,
            ctx=ctx,
            described=described,
            required=required and not nullable,
            role=role,
        )
    classes = "field" + (" invalid" if error_html else "") + f" kind-{kind}" + (f" role-{role}" if role else "")
    required_mark = mark_safe('<span class="req" aria-hidden="true">*</span>') if required else ""
    label_html = (
        format_html('<span class="label">{}{}</span>', label, required_mark)
        if kind in ("object", "array") and mode == "value"
        else format_html('<label for="{}">{}{}</label>', dom_id(path), label, required_mark)
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


def _render_value(path, rel, schema, root, *, value, ctx, described, required, role="") -> str:
    kind = field_type(schema, root)
    invalid = mark_safe(' aria-invalid="true"') if ctx.errors.get(rel) else ""
    req = mark_safe(" required") if required else ""
    if kind == "enum":
        return enum_control(path, schema, value=value, described=described, invalid=invalid, req=req)
    if kind == "boolean":
        return boolean_control(path, value=value, described=described, invalid=invalid)
    if kind in ("integer", "number"):
        return number_control(path, kind, schema, value=value, described=described, invalid=invalid, req=req)
    if kind == "string":
        lists = frozenset(r for r, values in ctx.lists.items() if values)
        return text_control(
            path, schema, value=value, described=described, invalid=invalid, req=req, role=role, lists=lists
        )
    if kind == "any":
        return union_control(path, schema, root, value=value, described=described, invalid=invalid)
    if kind == "object" and schema.get("properties"):
        value = value if isinstance(value, dict) else {}
        sub_required = set(schema.get("required") or [])
        rows = []
        for sub, sub_prop in ordered_properties(schema):
            sub_schema, sub_nullable = resolve(sub_prop, root)
            rows.append(
                _render_plain_field(
                    f"{path}.{sub}",
                    f"{rel}.{sub}",
                    sub,
                    sub_schema,
                    root,
                    value=value.get(sub, sub_schema.get("default")),
                    ctx=ctx,
                    required=sub in sub_required and not sub_nullable,
                    role=field_role(sub, sub_schema),
                )
            )
        return format_html('<fieldset class="nested" id="{}">{}</fieldset>', dom_id(path), join_html(rows))
    if kind == "array":
        items_schema, _ = resolve(schema.get("items") or {}, root)
        item_kind = field_type(items_schema, root)
        if item_kind in (*SCALAR_TYPES, "enum") or (item_kind == "object" and items_schema.get("properties")):
            return _render_list(path, rel, items_schema, root, value=value, ctx=ctx, role=role)
    # Free-form: edit as JSON.
    text = "" if value is None else json.dumps(value, indent=2)
    return format_html(
        '<textarea id="{}" name="{}.json" rows="6" class="widget-code" data-language="json" spellcheck="false" '
        'aria-describedby="{}"{}>{}</textarea>',
        dom_id(path),
        path,
        described,
        invalid,
        text,
    )


def _render_list(path, rel, items_schema, root, *, value, ctx, role) -> str:
    """The list's items (no empty row unless the user asked for one with "Add item"), each with a remove button."""
    items = list(value) if isinstance(value, list) else []
    if path in ctx.adding and len(items) < MAX_ARRAY_ITEMS:
        items.append(None)
    rows = []
    for index, item in enumerate(items[:MAX_ARRAY_ITEMS]):
        item_path, item_rel = f"{path}.{index}", f"{rel}.{index}"
        title = f"Item {index + 1}"
        remove = format_html(
            '<button type="button" class="link remove-item" data-form-action="remove:{}" aria-label="Remove {}">{}</button>',
            item_path,
            title.lower(),
            "Remove",
        )
        rows.append(
            _render_plain_field(
                item_path,
                item_rel,
                title,
                {**items_schema, "title": title},
                root,
                value=item,
                ctx=ctx,
                required=False,
                css="item",
                role=role,
                after=remove,
            )
        )
    add = format_html('<button type="button" class="add-item" data-form-action="add:{}">{}</button>', path, "Add item")
    return format_html('<div class="array" id="{}">{}{}</div>', dom_id(path), join_html(rows), add)


def _render_plain_field(path, rel, name, schema, root, *, value, ctx, required, css="", role="", after="") -> str:
    kind = field_type(schema, root)
    error_html, error_id = _errors_html(rel, ctx)
    description = schema.get("description") or ""
    help_id = dom_id("help-" + path)
    described = " ".join(x for x in (help_id if description else "", error_id) if x)
    control = _render_value(
        path, rel, schema, root, value=value, ctx=ctx, described=described, required=required, role=role
    )
    label = label_of(name, schema)
    label_html = (
        format_html('<span class="label">{}</span>', label)
        if kind in ("object", "array")
        else format_html('<label for="{}">{}</label>', dom_id(path), label)
    )
    help_html = format_html('<p class="help" id="{}">{}</p>', help_id, description) if description else ""
    classes = " ".join(c for c in ("field", css, "invalid" if error_html else "", f"kind-{kind}") if c)
    return format_html('<div class="{}">{}{}{}{}{}</div>', classes, label_html, control, after, help_html, error_html)
