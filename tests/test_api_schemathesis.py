"""Schemathesis against the workflows API, in-process (WSGI), with a tenant host and a token: no 5xx."""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, Phase, given, settings

from tenants.services import api_token_create
from tests.workflows_support import echo_repo_files, node

pytestmark = pytest.mark.timeout(900)
EXAMPLES_PER_OPERATION = 25


def test_it_answers_generated_requests_without_server_errors(
    airflow, tenant_a, make_user, git_repo, tmp_path, db
):
    import yaml

    from registry.services import repository_create, repository_sync_now
    from workflows import services
    from workflows.models import Workflow

    path, _ = git_repo(echo_repo_files(), name="echo-fuzz")
    repository = repository_create(slug="echo-fuzz", name="Echo", url=f"file://{path}")
    assert repository_sync_now(repository=repository).state == "done"
    user = make_user("fuzz-editor", tenant=tenant_a, role="editor")
    _, key = api_token_create(user=user, tenant=tenant_a)
    spec = {"nodes": [node("a", {"text": {"value": "x"}}, repository="echo-fuzz")], "edges": [],
            "params": [{"name": "p", "type": "integer", "default": 1, "description": ""}]}

    def ensure_workflow():
        with tenant_context(tenant_a):
            if not Workflow.objects.filter(slug="fuzz").exists():
                services.workflow_create(name="Fuzz", slug="fuzz", spec=spec, user=user)

    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(out))
    raw = yaml.safe_load(out.read_text())
    raw["paths"] = {p: v for p, v in raw["paths"].items() if p.startswith("/api/workflows")}
    schema = schemathesis.openapi.from_dict(json.loads(json.dumps(raw, default=str)))
    schema.app = get_wsgi_application()
    headers = {"Authorization": f"Bearer {key}", "Host": "acme.localhost"}

    failures: list[str] = []
    calls = [0]

    def fuzz(operation):
        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
            phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
        )
        def check(case):
            ensure_workflow()
            if "slug" in (case.path_parameters or {}) and calls[0] % 2 == 0:
                case.path_parameters["slug"] = "fuzz"  # reach the code behind an existing workflow too
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
    assert calls[0] > 100
    assert not failures, "\n".join(failures[:20])
