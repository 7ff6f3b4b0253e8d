"""The API's JSON renderer: DRF's JSONRenderer output, written by orjson.

On a list page of 50 workflows, the standard library's encoder (DRF's renderer) took about 0.3 ms of the
request's CPU and orjson 0.02 ms (bench/api_load.py). What DRF writes is kept: compact separators, UTF-8, the
line and paragraph separators escaped (U+2028, U+2029), and every type orjson does not write the way DRF does
(Decimal, lazy strings, dataclasses, anything unknown) goes to DRF's own encoder. Dates, times and datetimes are
written by orjson as DRF's encoder writes them (ISO 8601, `Z` for UTC): that is what lets a serializer hand the
renderer datetime objects (DRF's `format=None`) instead of formatting each one in Python. Anything orjson refuses
(an integer beyond 64 bits, a time with a zone, ...) and a pretty-printed response (`Accept: application/json;
indent=4`) are rendered by DRF's renderer. Two differences: DRF refuses NaN and infinities (a 500) where orjson
writes null; a UTC offset with seconds (local mean time of the 19th century) is written to the minute.
"""

from __future__ import annotations

import orjson
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder

OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z | orjson.OPT_PASSTHROUGH_DATACLASS
_ENCODER = JSONEncoder()


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        stock = (
            self.ensure_ascii
            or not self.compact
            or self.get_indent(accepted_media_type, renderer_context or {}) is not None
        )
        if not stock:
            try:
                written = orjson.dumps(data, default=_ENCODER.default, option=OPTIONS)
            except orjson.JSONEncodeError:
                pass  # DRF's renderer writes it, or raises its own error
            else:
                return written.replace("\u2028".encode(), b"\\u2028").replace("\u2029".encode(), b"\\u2029")
        return super().render(data, accepted_media_type, renderer_context)
