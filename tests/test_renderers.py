"""flowui.renderers.JSONRenderer writes what DRF's JSONRenderer writes (as JSON values; floats may be spelled
differently but parse equal)."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import json
import uuid
import zoneinfo

import pytest
from django.utils.translation import gettext_lazy
from rest_framework import renderers

from flowui.renderers import JSONRenderer


@dataclasses.dataclass
class Point:
    x: int


def test_it_writes_what_drf_writes():
    moment = datetime.datetime(2026, 12, 2, 20, 1, 2, 345678, tzinfo=datetime.UTC)
    data = {
        "text": 'ünïcode \u2028 line \u2029 para \x00 \n "quoted"',
        "numbers": [0, -1, 2**63 - 1, 1.5, 1e16, decimal.Decimal("2.50")],
        "when": [moment, moment.date(), datetime.time(1, 2, 3), datetime.timedelta(seconds=90)],
        "id": uuid.UUID(int=7),
        "lazy": gettext_lazy("Workflows"),
        "nested": {"empty": {}, "none": None, "true": True, "tuple": (1, 2)},
        3: "int key",
    }
    ours, drf = JSONRenderer().render(data), renderers.JSONRenderer().render(data)
    assert json.loads(ours) == json.loads(drf)
    assert b"\\u2028" in ours and "\u2028".encode() not in ours  # still a JavaScript subset
    assert b'"2026-12-02T20:01:02.345678Z"' in ours


def test_it_writes_dates_and_times_as_drfs_encoder_does():
    zones = [datetime.UTC, zoneinfo.ZoneInfo("UTC"), zoneinfo.ZoneInfo("Europe/London"), None]
    zones += [zoneinfo.ZoneInfo("Asia/Kathmandu"), datetime.timezone(datetime.timedelta(hours=-3, minutes=-30))]
    base = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    moments = [
        base + datetime.timedelta(days=37 * i, seconds=7919 * i, microseconds=(i % 3) * 123457) for i in range(60)
    ]
    values = [moment.astimezone(zone) if zone else moment.replace(tzinfo=None) for moment in moments for zone in zones]
    values += [moment.date() for moment in moments] + [datetime.time(23, 59, 59, 999999), datetime.time(0, 0)]
    values += [datetime.datetime(1, 1, 1, tzinfo=datetime.UTC), datetime.datetime(9999, 12, 31, 23, 59, 59, 999999)]
    assert JSONRenderer().render(values) == renderers.JSONRenderer().render(values)
    with pytest.raises(ValueError, match="timezone-aware times"):  # DRF's error, through DRF's renderer
        JSONRenderer().render([datetime.time(1, tzinfo=datetime.UTC)])


def test_it_falls_back_to_drf_for_what_orjson_refuses_and_for_indent():
    big = {"big": 2**70}
    assert JSONRenderer().render(big) == renderers.JSONRenderer().render(big)
    indented = JSONRenderer().render({"a": [1]}, "application/json; indent=2")
    assert indented == renderers.JSONRenderer().render({"a": [1]}, "application/json; indent=2")
    assert JSONRenderer().render(None) == b""
    for renderer in (JSONRenderer(), renderers.JSONRenderer()):  # neither writes an unknown object
        with pytest.raises(TypeError):
            renderer.render({"point": Point(1)})
