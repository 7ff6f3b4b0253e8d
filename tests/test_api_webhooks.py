"""Webhooks: management by editors, signed calls (signature, timestamp window, Idempotency-Key, params,
deploy state, disabled/deleted hooks), a real Airflow run started by a call, and rate limits (429)."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from tenants.models_audit import AuditEvent
from tenants.services import api_token_create
from tests.workflows_support import echo_repo_files, node, operator_version_make, wait_for
from workflows.models import Webhook, Workflow
from workflows.services_webhooks import webhook_signature


def api(tenant, user) -> Client:
    _, key = api_token_create(user=user, tenant=tenant)
    return Client(HTTP_HOST=f"{tenant.schema_name}.localhost", HTTP_AUTHORIZATION=f"Bearer {key}")


def post(client, url, data=None):
    return client.post(url, data=json.dumps(data or {}), content_type="application/json")


def patch(client, url, data):
    return client.patch(url, data=json.dumps(data), content_type="application/json")


def call(
    url: str,
    secret: str | None,
    body: bytes,
    *,
    timestamp: int | None = None,
    key: str | None = None,
    signature: str | None = None,
    host: str = "acme.localhost",
):
    """Sign and send a webhook call the way an integrator does (see README, Integrations)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {"HTTP_X_FLOWUI_TIMESTAMP": stamp}
    if signature is not None or secret is not None:
        headers["HTTP_X_FLOWUI_SIGNATURE"] = signature or webhook_signature(secret=secret, timestamp=stamp, body=body)
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    path = url.split("://", 1)[-1].split("/", 1)[1]
    return Client(HTTP_HOST=host).post(f"/{path}", data=body, content_type="application/json", **headers)


def echo_spec(repository: str = "wf-test") -> dict:
    return {
        "nodes": [node("a", {"text": {"param": "greeting"}}, repository=repository)],
        "edges": [],
        "params": [{"name": "greeting", "type": "string", "default": "hi", "description": ""}],
    }


def test_it_manages_webhooks_and_refuses_bad_calls(tenant_a, make_user, db):
    operator_version_make()
    editor = api(tenant_a, make_user("wh-editor", tenant=tenant_a, role="editor"))
    viewer = api(tenant_a, make_user("wh-viewer", tenant=tenant_a, role="viewer"))
    slug = post(editor, "/api/workflows/", {"name": "Hooked", "spec": echo_spec()}).json()["slug"]
    hooks_url = f"/api/workflows/{slug}/webhooks/"

    assert post(viewer, hooks_url, {"name": "nope"}).status_code == 403
    assert post(editor, hooks_url, {"name": ""}).json()["error"] == "invalid"
    created = post(editor, hooks_url, {"name": "crm"})
    assert created.status_code == 201, created.content
    hook = created.json()
    assert set(hook) == {"id", "name", "url", "enabled", "secret", "created_at"} and hook["enabled"] is True
    assert hook["url"] == f"http://acme.localhost/api/hooks/{hook['id']}/"
    listed = editor.get(hooks_url).json()
    assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]
    with tenant_context(tenant_a):
        assert hook["secret"] not in Webhook.objects.get(pk=hook["id"]).secret_encrypted

    url, secret = hook["url"], hook["secret"]
    body = json.dumps({"params": {"greeting": "hello"}}).encode()
    # Signature: missing, wrong, signed with another secret, stale or future timestamp, garbage timestamp.
    assert call(url, None, body).status_code == 401
    assert call(url, None, body, signature="sha256=" + "0" * 64).status_code == 401
    assert call(url, "whsec_other", body).status_code == 401
    stale = call(url, secret, body, timestamp=int(time.time()) - 301)
    assert stale.status_code == 401 and "300 s" in stale.json()["detail"]
    assert call(url, secret, body, timestamp=int(time.time()) + 400).status_code == 401
    assert call(url, secret, body, timestamp=int(time.time()) - 200).status_code != 401  # inside the window
    tampered = call(
        url, None, body + b" ", signature=webhook_signature(secret=secret, timestamp=str(int(time.time())), body=body)
    )
    assert tampered.status_code == 401 and tampered.json()["error"] == "signature_invalid"

    # Signed, but the workflow is not deployed.
    undeployed = call(url, secret, body)
    assert undeployed.status_code == 409 and undeployed.json()["error"] == "not_deployed"

    # Deployed (marked so here; the real deploy is in the Airflow test): bad bodies and params are 400s.
    with tenant_context(tenant_a):
        workflow = Workflow.objects.get(slug=slug)
        Workflow.objects.filter(pk=workflow.pk).update(deployed_version=workflow.current_version)
    for bad in (
        b"not json",
        b"[1]",
        b'{"params": [1]}',
        b'{"other": 1}',
        b'{"params": {"greeting": 5}}',
        b'{"params": {"nope": "x"}}',
    ):
        response = call(url, secret, bad)
        assert response.status_code == 400, (bad, response.content)
        assert response.json()["error"] == "invalid" and response.json()["fields"], response.json()
    assert call(url, secret, body, key="bad key with spaces").status_code == 400

    # Disabled (PATCH), then deleted: 404; so is an unknown id, and another tenant's domain.
    assert call(url, secret, body, host="globex.localhost").status_code == 404
    hook_url = f"{hooks_url}{hook['id']}/"
    assert patch(viewer, hook_url, {"enabled": False}).status_code == 403
    disabled = patch(editor, hook_url, {"enabled": False})
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False and "secret" not in disabled.json()
    assert call(url, secret, body).status_code == 404
    assert editor.get(hook_url).json()["enabled"] is False
    enabled = patch(editor, hook_url, {"enabled": True, "name": "  crm-renamed "})
    assert (enabled.json()["enabled"], enabled.json()["name"], enabled.json()["url"]) == (True, "crm-renamed", url)
    assert call(url, secret, b"[1]").status_code == 400  # found again, and its secret still signs (then the body)
    for bad in ({"enabled": "maybe"}, {"name": ""}, {"name": "   "}, {"name": "x" * 101}, {"name": "a\x00b"}):
        refused = patch(editor, hook_url, bad)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid", (bad, refused.content)
    assert patch(editor, hooks_url.replace(slug, "no-such-workflow") + f"{hook['id']}/", {}).status_code == 404
    assert patch(editor, f"{hooks_url}{uuid.uuid4()}/", {"enabled": False}).status_code == 404
    with tenant_context(tenant_a):
        assert Webhook.objects.get(pk=hook["id"]).name == "crm-renamed"
        changes = list(
            AuditEvent.objects.filter(action="webhook.update", object_id=hook["id"])
            .order_by("id")
            .values_list("detail", flat=True)
        )
    assert changes == ["disabled", "renamed from 'crm'; enabled"]
    assert viewer.delete(f"{hooks_url}{hook['id']}/").status_code == 403
    assert editor.delete(f"{hooks_url}{hook['id']}/").status_code == 204
    assert editor.delete(f"{hooks_url}{hook['id']}/").status_code == 404
    assert call(url, secret, body).status_code == 404
    assert call(f"http://acme.localhost/api/hooks/{uuid.uuid4()}/", secret, body).status_code == 404


def test_it_throttles_webhook_calls_and_api_requests_with_retry_after(tenant_a, make_user, settings, db):
    operator_version_make()
    settings.FLOWUI_WEBHOOK_RATE = "2/min"
    settings.FLOWUI_API_RATE = "3/min"
    editor = api(tenant_a, make_user("wh-throttle", tenant=tenant_a, role="editor"))
    slug = post(editor, "/api/workflows/", {"name": "Throttled", "spec": echo_spec()}).json()["slug"]
    hook = post(editor, f"/api/workflows/{slug}/webhooks/", {"name": "busy"}).json()
    # Two API requests used (create workflow, create hook); one more is allowed, then 429.
    assert editor.get("/api/workflows/").status_code == 200
    limited = editor.get("/api/workflows/")
    assert limited.status_code == 429 and limited.json()["error"] == "throttled"
    assert 0 < int(limited["Retry-After"]) <= 60

    body = b'{"params": {}}'
    assert call(hook["url"], hook["secret"], body).status_code == 409  # counted, not deployed
    assert call(hook["url"], hook["secret"], body).status_code == 409
    throttled = call(hook["url"], hook["secret"], body)
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    assert throttled.json()["error"] == "throttled"


@pytest.mark.timeout(900)
def test_it_starts_a_real_airflow_run_from_a_signed_call(airflow, tenant_a, make_user, git_repo, db):
    from registry.services import repository_create, repository_sync_now

    path, _ = git_repo(echo_repo_files(), name="echo-hook")
    repository = repository_create(slug="echo-hook", name="Echo", url=f"file://{path}")
    assert repository_sync_now(repository=repository).state == "done"
    client = api(tenant_a, make_user("wh-live", tenant=tenant_a, role="editor"))
    # Airflow's metadata outlives test databases: a fresh slug keeps earlier sessions' runs out of the counts.
    name = f"Hook target {uuid.uuid4().hex[:6]}"
    slug = post(client, "/api/workflows/", {"name": name, "spec": echo_spec("echo-hook")}).json()["slug"]
    assert post(client, f"/api/workflows/{slug}/deploy/", {}).status_code == 202
    wait_for(
        lambda: client.get(f"/api/workflows/{slug}/deploy/").json()["state"] == "live", timeout_s=300, what="deploy"
    )
    hook = post(client, f"/api/workflows/{slug}/webhooks/", {"name": "ci"}).json()

    body = json.dumps({"params": {"greeting": "from the webhook"}}).encode()
    started = call(hook["url"], hook["secret"], body, key="build-4711")
    assert started.status_code == 202, started.content
    run_id = started.json()["run_id"]
    again = call(hook["url"], hook["secret"], body, key="build-4711")
    assert again.status_code == 200 and again.json() == {"run_id": run_id}

    run = wait_for(
        lambda: (lambda r: r if r["state"] in ("success", "failed") else None)(
            client.get(f"/api/workflows/{slug}/runs/{run_id}/").json()
        ),
        timeout_s=300,
        what=f"run {run_id}",
    )
    assert run["state"] == "success" and run["conf"] == {"greeting": "from the webhook"}, run
    assert "webhook ci" in run["note"]
    result = client.get(f"/api/workflows/{slug}/runs/{run_id}/results/a/result.json")
    assert json.loads(b"".join(result.streaming_content))["output"]["text"] == "from the webhook"
    assert client.get(f"/api/workflows/{slug}/runs/").json()["count"] == 1  # the replay started nothing

    # Run-affecting actions are in the audit log, with who did them.
    runs_url = f"/api/workflows/{slug}/runs/{run_id}/"
    assert post(client, f"{runs_url}clear/", {"task_ids": ["a"]}).status_code == 200
    assert post(client, f"{runs_url}clear/", {}).status_code == 200
    assert post(client, f"{runs_url}cancel/", {}).status_code == 200
    from django.db.models import Q

    from tenants.models_audit import AuditEvent

    mine = Q(object_id=slug) | Q(object_repr__contains=slug)
    rows = {e.action: e for e in AuditEvent.objects.filter(mine, tenant=tenant_a).order_by("id")}
    assert (
        rows["workflow.deploy"].actor_name.startswith("wh-live (token")
        and rows["workflow.deploy"].detail == "version 1"
    )
    assert rows["webhook.call"].actor_type == "webhook" and rows["webhook.call"].actor_name == "webhook ci"
    assert rows["webhook.call"].detail == f"run {run_id}, Idempotency-Key build-4711"
    assert rows["run.trigger"].actor_type == "webhook" and "from the webhook" in rows["run.trigger"].detail
    assert rows["run.trigger"].object_id == run_id and rows["run.trigger"].ip == "127.0.0.1"
    assert rows["task.retry"].detail.startswith("tasks a;") and rows["task.retry"].actor_type == "token"
    assert rows["run.clear"].detail == "all tasks" and rows["run.cancel"].object_id == run_id
    assert AuditEvent.objects.filter(tenant=tenant_a, action="webhook.call", object_id=hook["id"]).count() == 1


def test_it_answers_a_replayed_call_in_a_constant_number_of_queries(
    tenant_a, make_user, db, django_assert_max_num_queries
):
    from workflows.models import WebhookCall

    operator_version_make()
    editor = api(tenant_a, make_user("wh-q", tenant=tenant_a, role="editor"))
    slug = post(editor, "/api/workflows/", {"name": "Replayed", "spec": echo_spec()}).json()["slug"]
    hook = post(editor, f"/api/workflows/{slug}/webhooks/", {"name": "q"}).json()
    with tenant_context(tenant_a):
        WebhookCall.objects.create(webhook_id=hook["id"], idempotency_key="k-1", run_id="flowui__earlier")
    body = b'{"params": {}}'
    # 3 to find the tenant, the hook with its workflow, the call with that key; nothing written.
    with django_assert_max_num_queries(5):
        replay = call(hook["url"], hook["secret"], body, key="k-1")
    assert replay.status_code == 200 and replay.json() == {"run_id": "flowui__earlier"}
    with django_assert_max_num_queries(4):  # a wrong signature costs the hook lookup only
        assert call(hook["url"], "whsec_wrong", body, key="k-1").status_code == 401


def test_it_forgets_old_idempotency_keys_in_housekeeping(tenant_a, make_user, settings, db):
    from datetime import timedelta

    from django.utils import timezone

    from tenants.tasks import tenant_housekeeping
    from workflows.models import WebhookCall

    operator_version_make()
    editor = api(tenant_a, make_user("wh-forget", tenant=tenant_a, role="editor"))
    slug = post(editor, "/api/workflows/", {"name": "Forgetful", "spec": echo_spec()}).json()["slug"]
    hook = post(editor, f"/api/workflows/{slug}/webhooks/", {"name": "crm"}).json()
    settings.FLOWUI_WEBHOOK_IDEMPOTENCY_HOURS = 24
    with tenant_context(tenant_a):
        for key, run_id, age in (("old", "flowui__old", 25), ("stuck", "", 30), ("fresh", "flowui__fresh", 23)):
            call_row = WebhookCall.objects.create(webhook_id=hook["id"], idempotency_key=key, run_id=run_id)
            WebhookCall.objects.filter(pk=call_row.pk).update(created_at=timezone.now() - timedelta(hours=age))
    report = tenant_housekeeping(tenant_a.pk)
    assert report["webhook_calls_forgotten"] == 2
    with tenant_context(tenant_a):
        assert list(WebhookCall.objects.values_list("idempotency_key", flat=True)) == ["fresh"]


def test_it_keeps_another_tenants_webhook_out_of_reach(tenant_a, tenant_b, make_user, db):
    """An editor of B, on B's domain, names A's hook (same workflow slug in both): 404, and A's hook is untouched;
    B's housekeeping forgets none of A's calls."""
    from datetime import timedelta

    from django.utils import timezone

    from tenants.tasks import tenant_housekeeping
    from workflows.models import WebhookCall

    operator_version_make()
    on_a = api(tenant_a, make_user("wh-owner-a", tenant=tenant_a, role="editor"))
    on_b = api(tenant_b, make_user("wh-intruder-b", tenant=tenant_b, role="editor"))
    slug = post(on_a, "/api/workflows/", {"name": "Shared name", "spec": echo_spec()}).json()["slug"]
    assert post(on_b, "/api/workflows/", {"name": "Shared name", "spec": echo_spec()}).json()["slug"] == slug
    hook = post(on_a, f"/api/workflows/{slug}/webhooks/", {"name": "a-only"}).json()
    target = f"/api/workflows/{slug}/webhooks/{hook['id']}/"

    assert patch(on_b, target, {"enabled": False, "name": "taken"}).status_code == 404
    assert on_b.get(target).status_code == 404
    assert on_b.delete(target).status_code == 404
    assert on_a.get(target).json()["enabled"] is True and on_a.get(target).json()["name"] == "a-only"

    with tenant_context(tenant_a):
        old = WebhookCall.objects.create(webhook_id=hook["id"], idempotency_key="a-old", run_id="flowui__a")
        WebhookCall.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))
    assert tenant_housekeeping(tenant_b.pk)["webhook_calls_forgotten"] == 0
    with tenant_context(tenant_a):
        assert WebhookCall.objects.filter(pk=old.pk).exists()
