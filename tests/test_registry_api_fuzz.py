"""Schemathesis against the registry API, in-process (WSGI), with a tenant host and an admin token: no 5xx."""

from __future__ import annotations

import pytest

from registry import services
from tenants.services import api_token_create
from tests.api_fuzz_support import api_schema, fuzz_api
from tests.test_registry_sync import good_metadata, operator_files

pytestmark = pytest.mark.timeout(900)
EXAMPLES_PER_OPERATION = 30
REGISTRY_PATHS = ("/api/operators", "/api/operator-versions", "/api/repositories", "/api/sync-runs")


def test_it_answers_generated_registry_requests_without_server_errors(
    tenant_a, make_user, git_repo, git_http, tmp_path, db, settings
):
    settings.FLOWUI_GIT_TIMEOUT_S = 5
    git_repo(operator_files("fuzzed", metadata=good_metadata("fuzzed")))
    git_http.allow()  # a tenant's repository is fetched over http(s) only
    private = services.repository_create(slug="fuzz-ops", name="Fuzz", url=git_http.url(), tenant=tenant_a)
    sync_run = services.repository_sync_now(repository=private)
    version_id = private.operator_versions.get().pk
    user = make_user("fuzz-admin", tenant=tenant_a, role="admin")
    _, key = api_token_create(user=user, tenant=tenant_a)

    schema = api_schema(tmp_path, REGISTRY_PATHS)
    headers = {"Authorization": f"Bearer {key}", "Host": "acme.localhost"}
    known = {"slug": "fuzz-ops", "repository": "fuzz-ops", "name": "fuzzed"}

    def prepare(case, call_number):
        if call_number % 2 == 0:  # reach the code behind existing objects too
            for param in list(case.path_parameters or {}):
                if param == "pk":
                    case.path_parameters[param] = version_id if "operator-versions" in case.path else sync_run.pk
                elif param in known:
                    case.path_parameters[param] = known[param]

    calls, failures = fuzz_api(schema, headers=headers, examples=EXAMPLES_PER_OPERATION, prepare=prepare)
    assert calls > 100
    assert not failures, "\n".join(failures[:20])
