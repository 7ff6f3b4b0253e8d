"""Schemathesis against the workflows API, in-process (WSGI), with a tenant host and a token: no 5xx."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tenants.services import api_token_create
from tests.api_fuzz_support import api_schema, fuzz_api
from tests.workflows_support import echo_repo_files, node

pytestmark = pytest.mark.timeout(900)
EXAMPLES_PER_OPERATION = 25


def test_it_answers_generated_requests_without_server_errors(airflow, tenant_a, make_user, git_repo, tmp_path, db):
    from registry.services import repository_create, repository_sync_now
    from workflows import services
    from workflows.models import Workflow

    path, _ = git_repo(echo_repo_files(), name="echo-fuzz")
    repository = repository_create(slug="echo-fuzz", name="Echo", url=f"file://{path}")
    assert repository_sync_now(repository=repository).state == "done"
    user = make_user("fuzz-editor", tenant=tenant_a, role="editor")
    _, key = api_token_create(user=user, tenant=tenant_a)
    spec = {
        "nodes": [node("a", {"text": {"value": "x"}}, repository="echo-fuzz")],
        "edges": [],
        "params": [{"name": "p", "type": "integer", "default": 1, "description": ""}],
    }

    def ensure_workflow():
        with tenant_context(tenant_a):
            if not Workflow.objects.filter(slug="fuzz").exists():
                services.workflow_create(name="Fuzz", slug="fuzz", spec=spec, user=user)

    schema = api_schema(tmp_path, ("/api/workflows",))
    headers = {"Authorization": f"Bearer {key}", "Host": "acme.localhost"}

    def prepare(case, call_number):
        ensure_workflow()
        if "slug" in (case.path_parameters or {}) and call_number % 2 == 0:
            case.path_parameters["slug"] = "fuzz"  # reach the code behind an existing workflow too

    calls, failures = fuzz_api(schema, headers=headers, examples=EXAMPLES_PER_OPERATION, prepare=prepare)
    assert calls > 100
    assert not failures, "\n".join(failures[:20])
