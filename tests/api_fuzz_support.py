"""Schemathesis in-process against the tenant API: the shared harness of the API fuzz tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings


def api_schema(tmp_path: Path, path_prefixes: tuple[str, ...]):
    """The OpenAPI schema of the tenant API, limited to paths under `path_prefixes`, bound to the WSGI app."""
    import yaml

    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(out))
    raw = yaml.safe_load(out.read_text())
    raw["paths"] = {p: v for p, v in raw["paths"].items() if p.startswith(path_prefixes)}
    schema = schemathesis.openapi.from_dict(json.loads(json.dumps(raw, default=str)))
    schema.app = get_wsgi_application()
    return schema


def fuzz_api(
    schema, *, headers: dict[str, str], examples: int, prepare: Callable | None = None
) -> tuple[int, list[str]]:
    """Send generated requests for every operation; returns (calls made, descriptions of 5xx answers).

    `prepare(case, call_number)` may point path parameters at existing objects so the code behind them runs.
    """
    failures: list[str] = []
    calls = [0]

    def fuzz(operation):
        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            if prepare is not None:
                prepare(case, calls[0])
            calls[0] += 1
            response = case.call(headers=headers, base_url="http://acme.localhost")
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} {case.query} {case.body!r:.200} -> "
                    f"{response.status_code}: {response.text[:300]}"
                )

        check()

    # As Django's test client does: keep the test's connection (and its transaction) across requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        for result in schema.get_all_operations():
            fuzz(result.ok())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return calls[0], failures
