"""The controls of one value in the generated node form: enum, boolean, number, text (with a dataset or column
list when the field has that role), and the typed widget of union / any fields. Every value is escaped
(format_html); bounds and lengths from the schema (tenant code) are used only when they are real numbers.

A union / any field posts `<path>.type` (one of UNION_TYPES) and its value in `<path>` (text, number, boolean)
or `<path>.json` (JSON, only when the user picked JSON): text typed there is text, never parsed as JSON.
"""

from __future__ import annotations

import json
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from flowui.forms_jsonschema_schema import (
    ROLE_COLUMN,
    ROLE_DATASET,
    dom_id,
    fmt_number,
    is_number,
    union_type_of,
    union_types,
    widget_of,
)

DATALIST_IDS = {ROLE_DATASET: "dl-datasets", ROLE_COLUMN: "dl-columns"}
UNION_LABELS = {"text": "Text", "number": "Number", "boolean": "True/false", "json": "JSON"}


def _options(pairs, current) -> Any:
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((v, mark_safe(" selected") if v == current else "", t) for v, t in pairs),
    )


def enum_control(path, schema, *, value, described, invalid, req) -> str:
    options = schema.get("enum") or [schema.get("const")]
    blank = "" if req else format_html('<option value="">{}</option>', "—")
    return format_html(
        '<select id="{}" name="{}" aria-describedby="{}"{}{}>{}{}</select>',
        dom_id(path),
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


def boolean_control(path, *, value, described, invalid) -> str:
    return format_html(
        '<input type="hidden" name="{}" value="false">'
        '<input type="checkbox" id="{}" name="{}" value="true" aria-describedby="{}"{}{}>',
        path,
        dom_id(path),
        path,
        described,
        invalid,
        mark_safe(" checked") if value is True else "",
    )


def number_control(path, kind, schema, *, value, described, invalid, req) -> str:
    # Bounds come from the operator's schema (tenant code): only real numbers, always escaped.
    attrs = format_html_join(
        "",
        ' {}="{}"',
        (
            (attr, fmt_number(schema[key]))
            for key, attr in (("minimum", "min"), ("maximum", "max"))
            if is_number(schema.get(key))
        ),
    )
    return format_html(
        '<input type="number" id="{}" name="{}" value="{}" step="{}"{} aria-describedby="{}"{}{}>',
        dom_id(path),
        path,
        "" if value is None else fmt_number(value),
        "1" if kind == "integer" else "any",
        attrs,
        described,
        invalid,
        req,
    )


def text_control(path, schema, *, value, described, invalid, req, role="", lists=frozenset()) -> str:
    widget = widget_of(schema)
    shown_value = "" if value is None else str(value)
    if widget:
        return format_html(
            '<textarea id="{}" name="{}" rows="{}" class="{}" data-language="{}" spellcheck="{}" '
            'aria-describedby="{}"{}{}>{}</textarea>',
            dom_id(path),
            path,
            8 if widget == "code" else 4,
            f"widget-{widget}",
            schema.get("language", "") if isinstance(schema.get("language", ""), str) else "",
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
    }.get(schema.get("format", "") if isinstance(schema.get("format"), str) else "", "text")
    extra = ""
    if is_number(schema.get("maxLength")) and schema["maxLength"] >= 0:
        extra = format_html(' maxlength="{}"', int(schema["maxLength"]))
    if role in lists and input_type == "text":
        # A suggestion list (the tenant's datasets, the chosen CSV's columns): anything else may still be typed.
        extra = format_html('{} list="{}" autocomplete="off"', extra, DATALIST_IDS[role])
    return format_html(
        '<input type="{}" id="{}" name="{}" value="{}"{} aria-describedby="{}"{}{}>',
        input_type,
        dom_id(path),
        path,
        shown_value,
        extra,
        described,
        invalid,
        req,
    )


def union_control(path, schema, root, *, value, described, invalid, chosen: str = "") -> str:
    """A type picker and the control of the chosen type (a re-render after a change of the picker shows the
    other control; the form posts on change)."""
    allowed = union_types(schema, root)
    kind = chosen if chosen in allowed else union_type_of(value, allowed)
    picker = format_html(
        '<select class="union-type" name="{}.type" aria-label="Type of the value">{}</select>',
        path,
        _options(((t, UNION_LABELS[t]) for t in allowed), kind),
    )
    if kind == "json":
        text = "" if value is None else json.dumps(value, indent=2)
        control = format_html(
            '<textarea id="{}" name="{}.json" rows="4" class="widget-code" data-language="json" spellcheck="false" '
            'aria-describedby="{}"{}>{}</textarea>',
            dom_id(path),
            path,
            described,
            invalid,
            text,
        )
    elif kind == "boolean":
        control = format_html(
            '<select id="{}" name="{}" aria-describedby="{}"{}>{}</select>',
            dom_id(path),
            path,
            described,
            invalid,
            _options((("true", "true"), ("false", "false")), "true" if value is True else "false"),
        )
    else:
        shown = "" if value is None or isinstance(value, (list, dict)) else value
        shown = fmt_number(shown) if kind == "number" and is_number(shown) else str(shown)
        control = format_html(
            '<input type="{}" id="{}" name="{}" value="{}"{} aria-describedby="{}"{}>',
            "number" if kind == "number" else "text",
            dom_id(path),
            path,
            shown,
            mark_safe(' step="any"') if kind == "number" else "",
            described,
            invalid,
        )
    return format_html('<div class="union">{}{}</div>', picker, control)


def datalists_html(lists: dict[str, list[str]]) -> Any:
    """The <datalist>s the text controls refer to (once per form)."""
    return format_html_join(
        "",
        '<datalist id="{}">{}</datalist>',
        (
            (DATALIST_IDS[role], format_html_join("", '<option value="{}"></option>', ((v,) for v in values)))
            for role, values in lists.items()
            if values
        ),
    )
