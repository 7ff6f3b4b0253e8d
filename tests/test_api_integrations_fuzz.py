"""Schemathesis over the integration endpoints (tokens, audit log, webhook management and calls): no 5xx."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tenants.services import api_token_create
from tests.api_fuzz_support import api_schema, fuzz_api
from tests.workflows_support import chain_spec, operator_version_make

pytestmark = pytest.mark.timeout(900)


def test_it_answers_generated_integration_requests_without_server_errors(tenant_a, make_user, tmp_path, db):
    from workflows import services, services_webhooks
    from workflows.models import Webhook, Workflow

    operator_version_make()
    user = make_user("fuzz-integrator", tenant=tenant_a, role="admin")
    _, key = api_token_create(user=user, tenant=tenant_a, role="admin")

    def ensure_objects() -> str:
        with tenant_context(tenant_a):
            workflow = Workflow.objects.filter(slug="fuzz-hooks").first()
            if workflow is None:
                workflow = services.workflow_create(name="Fuzz hooks", slug="fuzz-hooks", spec=chain_spec(), user=user)
            hook = Webhook.objects.filter(workflow=workflow).first()
            if hook is None:
                hook, _ = services_webhooks.webhook_create(workflow=workflow, name="fuzz")
            return str(hook.pk)

    schema = api_schema(tmp_path, ("/api/tokens", "/api/audit", "/api/hooks", "/api/workflows/{slug}/webhooks"))
    headers = {"Authorization": f"Bearer {key}", "Host": "acme.localhost"}

    def prepare(case, call_number):
        hook_id = ensure_objects()
        params = case.path_parameters or {}
        if "slug" in params and call_number % 2 == 0:
            params["slug"] = "fuzz-hooks"
        if "webhook_id" in params and call_number % 2 == 0:
            params["webhook_id"] = hook_id

    calls, failures = fuzz_api(schema, headers=headers, examples=25, prepare=prepare)
    assert calls > 100
    assert not failures, "\n".join(failures[:20])
