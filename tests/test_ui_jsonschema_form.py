"""The editor's node form: HTML from an operator's input JSON Schema and node inputs back from the post."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from django.http import QueryDict
from pydantic import BaseModel, Field

from flowui.forms_jsonschema import (
    ParamRef,
    UpstreamField,
    compatible,
    default_inputs,
    field_type,
    parse_form,
    render_form,
)


class Colour(StrEnum):
    red = "red"
    blue = "blue"


class Window(BaseModel):
    start: int = Field(default=0, ge=0, description="First row.")
    label: str = "window"


class InputModel(BaseModel):
    title: str = Field(description="Shown above the chart.")
    bins: int = Field(default=10, ge=1, le=100, description="Number of histogram bins.")
    scale: float = Field(default=1.0, gt=0)
    normalise: bool = False
    colour: Colour = Colour.red
    kind: Literal["bar", "line"] = "bar"
    query: str = Field(default="select 1", json_schema_extra={"widget": "code", "language": "sql"})
    notes: str | None = Field(default=None, json_schema_extra={"widget": "textarea"})
    columns: list[str] = Field(default_factory=list)
    window: Window = Field(default_factory=Window)
    extra: dict = Field(default_factory=dict)


SCHEMA = InputModel.model_json_schema()


def qd(pairs: list[tuple[str, str]]) -> QueryDict:
    data = QueryDict(mutable=True)
    for key, value in pairs:
        data.appendlist(key, value)
    return data


def test_it_renders_each_kind_of_field_with_its_widget():
    html = render_form(SCHEMA, inputs={})
    assert 'type="number" id="f-in-bins" name="in.bins" value="10" step="1" min="1" max="100"' in html
    assert 'name="in.scale"' in html and 'step="any"' in html
    assert 'type="checkbox" id="f-in-normalise"' in html
    assert '<select id="f-in-colour" name="in.colour"' in html and '<option value="red" selected>red</option>' in html
    assert '<option value="line">line</option>' in html
    assert 'class="widget-code" data-language="sql"' in html and ">select 1</textarea>" in html
    assert 'class="widget-textarea"' in html
    # No phantom empty row under a list: an "Add item" button asks for one.
    assert 'name="in.columns.0"' not in html and 'data-form-action="add:in.columns"' in html
    assert 'name="in.window.start"' in html and 'name="in.window.label" value="window"' in html
    assert 'name="in.extra.json"' in html
    assert "Number of histogram bins." in html  # descriptions are help text
    assert 'id="f-in-title"' in html and " required" in html


def test_it_escapes_values_and_descriptions():
    html = render_form(
        {"properties": {"t": {"type": "string", "description": "<b>x</b>"}}}, inputs={"t": {"value": '"><script>'}}
    )
    assert "<script>" not in html and "&lt;b&gt;" in html


HOSTILE = '1" onmouseover="alert(1)'
SCRIPT = "<script>alert(1)</script>"


def hostile_schema() -> dict:
    """An operator's input schema written by an attacker: every value the form shows is a payload."""
    return {
        "title": SCRIPT,
        "required": ["n"],
        "properties": {
            "n": {
                "type": "integer",
                "minimum": HOSTILE,
                "maximum": HOSTILE,
                "exclusiveMinimum": HOSTILE,
                "multipleOf": HOSTILE,
                "title": SCRIPT,
                "description": SCRIPT,
                "default": HOSTILE,
            },
            "x": {"type": "number", "minimum": 1, "maximum": HOSTILE, "title": HOSTILE},
            "s": {
                "type": "string",
                "maxLength": HOSTILE,
                "minLength": HOSTILE,
                "pattern": SCRIPT,
                "placeholder": HOSTILE,
                "title": f"{SCRIPT}{HOSTILE}",
                "default": SCRIPT,
                "format": HOSTILE,
            },
            "code": {"type": "string", "widget": "code", "language": HOSTILE, "default": SCRIPT},
            "e": {"enum": [SCRIPT, HOSTILE, 1], "title": SCRIPT, "default": SCRIPT, "description": HOSTILE},
            "c": {"const": SCRIPT},
            "obj": {
                "type": "object",
                "title": SCRIPT,
                "description": SCRIPT,
                "properties": {
                    SCRIPT: {"type": "integer", "minimum": HOSTILE, "title": HOSTILE},
                    "inner": {"type": "string", "description": SCRIPT, "default": HOSTILE},
                },
            },
            "arr": {
                "type": "array",
                "items": {"type": "string", "title": SCRIPT, "maxLength": HOSTILE},
                "default": [SCRIPT, HOSTILE],
            },
            "free": {"title": SCRIPT, "default": {"k": SCRIPT}},
            f"{HOSTILE}{SCRIPT}": {"type": "boolean", "title": HOSTILE},
        },
    }


def assert_no_payload(html: str) -> None:
    assert "<script" not in html.lower()
    assert 'onmouseover="' not in html and "onmouseover='" not in html
    # Every attribute value is quoted and the payload's quote is escaped, so no attribute can start inside one.
    assert '" onmouseover' not in html


def test_it_escapes_every_schema_provided_value():
    schema = hostile_schema()
    html = str(render_form(schema, inputs={}, errors={"n": [SCRIPT], "__all__": [HOSTILE], SCRIPT: [SCRIPT]}))
    assert_no_payload(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # titles, enum labels, defaults: shown as text
    assert "&quot; onmouseover=&quot;alert(1)" in html
    assert 'min="1"' in html  # a numeric bound still renders; the string ones are dropped
    assert 'min="1&quot;' not in html and 'maxlength="1' not in html

    # Posting values back (and failing validation) does not reflect a payload nor crash on string bounds.
    inputs, errors = parse_form(
        schema,
        qd(
            [
                ("in.n", "5"),
                ("in.x", "2"),
                ("in.s", SCRIPT),
                ("in.e", SCRIPT),
                ("in.code", SCRIPT),
                ("in.arr.0", SCRIPT),
            ]
        ),
    )
    assert inputs["n"] == {"value": 5} and inputs["e"] == {"value": SCRIPT}
    rendered = str(render_form(schema, inputs=inputs, errors=errors))
    assert_no_payload(rendered)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;</textarea>" in rendered


def test_it_parses_literals_with_types_and_reports_bad_values_per_field():
    inputs, errors = parse_form(
        SCHEMA,
        qd(
            [
                ("in.title", "Sales"),
                ("in.bins", "500"),
                ("in.scale", "2.5"),
                ("in.normalise", "false"),
                ("in.normalise", "true"),
                ("in.colour", "blue"),
                ("in.kind", "line"),
                ("in.columns.0", "a"),
                ("in.columns.1", ""),
                ("in.window.start", "3"),
                ("in.window.label", "w"),
                ("in.extra.json", '{"k": 1}'),
            ]
        ),
    )
    assert errors == {"bins": ["Must be at most 100."]}
    assert inputs["title"] == {"value": "Sales"}
    assert inputs["scale"] == {"value": 2.5}
    assert inputs["normalise"] == {"value": True}
    assert inputs["colour"] == {"value": "blue"}
    assert inputs["columns"] == {"value": ["a"]}
    assert inputs["window"] == {"value": {"start": 3, "label": "w"}}
    assert inputs["extra"] == {"value": {"k": 1}}
    assert "bins" not in inputs


def test_it_requires_required_fields_and_rejects_non_numbers_and_bad_json():
    _, errors = parse_form(SCHEMA, qd([("in.bins", "ten"), ("in.extra.json", "{oops")]))
    assert errors["title"] == ["This field is required."]
    assert errors["bins"] == ["Enter a whole number."]
    assert errors["extra"][0].startswith("Enter valid JSON")


def test_it_shows_errors_inline_next_to_their_field():
    html = render_form(SCHEMA, inputs={"bins": {"value": 500}}, errors={"bins": ["Must be at most 100."]})
    assert 'class="field invalid kind-integer" data-field="bins"' in html
    assert 'aria-invalid="true"' in html and "Must be at most 100." in html


def test_it_offers_only_type_compatible_upstream_fields_and_params():
    upstream = [
        UpstreamField("n1", "Load CSV", "row_count", "integer"),
        UpstreamField("n1", "Load CSV", "path", "string"),
    ]
    params = [ParamRef("limit", "integer"), ParamRef("name", "string")]
    html = render_form(SCHEMA, inputs={"bins": {"from": "n1", "field": "row_count"}}, upstream=upstream, params=params)
    bins = html.split('data-field="bins"')[1].split('data-field="scale"')[0]
    assert '<option value="n1.row_count" selected>Load CSV → row_count</option>' in bins
    assert "n1.path" not in bins
    title = html.split('data-field="title"')[1].split('data-field="bins"')[0]
    assert "From upstream" in title and "Run parameter" in title
    normalise = html.split('data-field="normalise"')[1].split('data-field="colour"')[0]
    assert "From upstream" not in normalise  # no boolean output upstream

    inputs, errors = parse_form(
        SCHEMA,
        qd(
            [
                ("in.title.mode", "param"),
                ("in.title.param", "name"),
                ("in.bins.mode", "from"),
                ("in.bins.from", "n1.row_count"),
            ]
        ),
        upstream=upstream,
        params=params,
    )
    assert errors == {}
    assert inputs["title"] == {"param": "name"}
    assert inputs["bins"] == {"from": "n1", "field": "row_count"}


def test_it_knows_types_and_compatibility():
    assert field_type(SCHEMA["properties"]["colour"], SCHEMA) == "enum"
    assert field_type(SCHEMA["properties"]["notes"], SCHEMA) == "string"
    assert compatible("number", "integer") and not compatible("integer", "number")
    assert compatible("string", "enum") and not compatible("boolean", "string")


def test_it_starts_a_node_from_the_defaults():
    inputs = default_inputs(SCHEMA)
    assert inputs["bins"] == {"value": 10}
    assert inputs["colour"] == {"value": "red"}
    assert "title" not in inputs and "notes" not in inputs


def test_it_round_trips_rendered_values():
    import re

    values = {
        "title": {"value": "T"},
        "bins": {"value": 7},
        "columns": {"value": ["x", "y"]},
        "window": {"value": {"start": 2, "label": "z"}},
    }
    html = str(render_form(SCHEMA, inputs=values))
    pairs = re.findall(r'<input type="(?:text|number|hidden)"[^>]* name="([^"]+)"[^>]* value="([^"]*)"', html)
    pairs = [(n, v) for n, v in pairs] + [
        (n, v) for v, n in re.findall(r'value="([^"]*)"[^>]*name="([^"]+)"', html) if n.endswith(".normalise")
    ]
    inputs, errors = parse_form(SCHEMA, qd(pairs))
    assert errors == {}
    assert inputs["columns"] == {"value": ["x", "y"]}
    assert inputs["window"] == {"value": {"start": 2, "label": "z"}}
    assert inputs["bins"] == {"value": 7}


def test_it_binds_the_first_compatible_upstream_field_when_switched_to_upstream():
    upstream = [UpstreamField("n1", "Load", "path", "string"), UpstreamField("n1", "Load", "rows", "integer")]
    params = [ParamRef("limit", "integer")]
    inputs, errors = parse_form(
        SCHEMA,
        qd([("in.title", "x"), ("in.bins.mode", "from"), ("in.scale.mode", "param")]),
        upstream=upstream,
        params=params,
    )
    assert errors == {}
    assert inputs["bins"] == {"from": "n1", "field": "rows"}
    assert inputs["scale"] == {"param": "limit"}


def test_it_ignores_the_empty_new_row_of_a_list_of_objects():
    class Condition(BaseModel):
        column: str
        op: Literal["==", ">"] = "=="
        strict: bool = False

    class Filter(BaseModel):
        conditions: list[Condition] = Field(default_factory=list)

    schema = Filter.model_json_schema()
    html = render_form(schema, inputs={}, adding={"in.conditions"})  # after "Add item"
    assert 'name="in.conditions.0.column"' in html and 'name="in.conditions.0.op"' in html
    inputs, errors = parse_form(
        schema, qd([("in.conditions.0.column", ""), ("in.conditions.0.op", "=="), ("in.conditions.0.strict", "false")])
    )
    assert errors == {} and inputs["conditions"] == {"value": []}
    inputs, errors = parse_form(
        schema,
        qd(
            [
                ("in.conditions.0.column", "amount"),
                ("in.conditions.0.op", ">"),
                ("in.conditions.0.strict", "false"),
                ("in.conditions.1.column", ""),
                ("in.conditions.1.op", "=="),
            ]
        ),
    )
    assert errors == {}
    assert inputs["conditions"] == {"value": [{"column": "amount", "op": ">", "strict": False}]}
