"""Schemathesis against the registry API, in-process (WSGI), with a tenant host and an admin token: no 5xx."""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings

from registry import services
from tenants.services import api_token_create
from tests.test_registry_sync import good_metadata, operator_files

pytestmark = pytest.mark.timeout(900)
EXAMPLES_PER_OPERATION = 30
REGISTRY_PATHS = ("/api/operators", "/api/operator-versions", "/api/repositories", "/api/sync-runs")


def test_it_answers_generated_registry_requests_without_server_errors(
    tenant_a, make_user, git_repo, tmp_path, db, settings
):
    import yaml
    from django.core.wsgi import get_wsgi_application

    settings.FLOWUI_GIT_TIMEOUT_S = 5
    path, _ = git_repo(operator_files("fuzzed", metadata=good_metadata("fuzzed")))
    private = services.repository_create(slug="fuzz-ops", name="Fuzz", url=f"file://{path}", tenant=tenant_a)
    sync_run = services.repository_sync_now(repository=private)
    version_id = private.operator_versions.get().pk
    user = make_user("fuzz-admin", tenant=tenant_a, role="admin")
    _, key = api_token_create(user=user, tenant=tenant_a)

    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(out))
    raw = yaml.safe_load(out.read_text())
    raw["paths"] = {p: v for p, v in raw["paths"].items() if p.startswith(REGISTRY_PATHS)}
    schema = schemathesis.openapi.from_dict(json.loads(json.dumps(raw, default=str)))
    schema.app = get_wsgi_application()
    headers = {"Authorization": f"Bearer {key}", "Host": "acme.localhost"}
    known = {"slug": "fuzz-ops", "repository": "fuzz-ops", "name": "fuzzed", "pk": None}

    failures: list[str] = []
    calls = [0]

    def fuzz(operation):
        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
            phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
        )
        def check(case):
            if calls[0] % 2 == 0:  # reach the code behind existing objects too
                for param in list(case.path_parameters or {}):
                    if param == "pk":
                        case.path_parameters[param] = version_id if "operator-versions" in case.path else sync_run.pk
                    elif param in known:
                        case.path_parameters[param] = known[param]
            calls[0] += 1
            response = case.call(headers=headers, base_url="http://acme.localhost")
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} {case.query} {case.body!r:.200} -> "
                    f"{response.status_code}: {response.text[:300]}"
                )

        check()

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        for result in schema.get_all_operations():
            fuzz(result.ok())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    assert calls[0] > 100
    assert not failures, "\n".join(failures[:20])
