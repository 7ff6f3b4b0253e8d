"""Run pages and notifications against the real Airflow of the test session: the graph of the version a run
used, the log panel (follow, earlier lines, no host paths), and a failure notification received by a real
local SMTP server (aiosmtpd) and a local HTTP server (Slack-compatible JSON), within 30 s and once."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings as django_settings
from django_tenants.utils import tenant_context

from tenants.selectors import tenant_storage_root
from tests.test_workflows_airflow import api, deploy_until_live, post, run_until_done
from tests.workflows_support import echo_repo_files, node, wait_for

pytestmark = pytest.mark.timeout(900)


@pytest.fixture
def hook_server():
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append({"path": self.path, "type": self.headers.get("Content-Type"), "body": body})
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _notify_ops(tenant, slug: str, *, on_failure: bool = False, on_retry: bool = False, webhook_url: str = ""):
    """The workflow notifies ops@example.com (and `webhook_url`) of the chosen events."""
    from workflows.notifications import notification_settings_save
    from workflows.selectors import workflow_get

    with tenant_context(tenant):
        notification_settings_save(
            workflow=workflow_get(slug=slug),
            on_failure=on_failure,
            on_success=False,
            on_retry=on_retry,
            emails=["ops@example.com"],
            webhook_url=webhook_url,
        )


def _spec(*, extra_node: bool) -> dict:
    nodes = [
        node("a", {"text": {"value": "hello"}, "times": {"param": "times"}}, repository="echo-runs"),
        node("b", {"text": {"from": "a", "field": "text"}}, repository="echo-runs"),
    ]
    edges = [{"source": "a", "target": "b"}]
    if extra_node:
        nodes.append(node("only_in_v2", {"text": {"value": "v2"}}, repository="echo-runs"))
        edges.append({"source": "b", "target": "only_in_v2"})
    for index, item in enumerate(nodes):
        item["position"] = {"x": index * 220, "y": 0}
    return {
        "nodes": nodes,
        "edges": edges,
        "params": [{"name": "times", "type": "integer", "default": 1, "description": ""}],
    }


def test_it_shows_the_runs_own_version_its_logs_and_notifies_a_failure_once(
    airflow,
    tenant_a,
    make_user,
    git_repo,
    db,
    settings,
    tenant_client,
    smtp_server,
    hook_server,
    django_assert_max_num_queries,
):
    from registry.services import repository_create, repository_sync_now
    from workflows.tasks import notifications_dispatch

    path, _ = git_repo(echo_repo_files(), name="echo-runs")
    assert (
        repository_sync_now(repository=repository_create(slug="echo-runs", name="Echo", url=f"file://{path}")).state
        == "done"
    )
    editor = make_user("runs-editor", tenant=tenant_a, role="editor")
    client = api(tenant_a, editor)
    portal = tenant_client(tenant_a, editor)
    created = post(client, "/api/workflows/", {"name": f"Runs {uuid.uuid4().hex[:6]}", "spec": _spec(extra_node=False)})
    assert created.status_code == 201, created.content
    slug = created.json()["slug"]
    deploy_until_live(client, slug)
    first = run_until_done(client, slug)
    assert first["state"] == "success" and first["workflow_version"] == 1 and first["conf"] == {}, first

    # Save and deploy v2 (one more node): the first run's page still draws v1, the version it used.
    saved = post(client, f"/api/workflows/{slug}/versions/", {"spec": _spec(extra_node=True), "base_version": 1})
    assert saved.status_code == 201
    assert deploy_until_live(client, slug)["version"] == 2
    run_url = f"/workflows/{slug}/runs/{first['run_id']}/"
    with django_assert_max_num_queries(15):
        page = portal.get(run_url)
    body = page.content.decode()
    assert page.status_code == 200
    assert 'data-task="a"' in body and 'data-task="b"' in body and 'data-task="only_in_v2"' not in body
    assert "Graph and tasks of version 1, the version this run used." in body
    assert 'data-action="retry-task"' not in body and 'data-action="retry-failed"' not in body  # all succeeded
    assert '<time datetime="' in body and 'class="gantt"' in body and 'id="durations-chart"' in body

    with django_assert_max_num_queries(12):
        listed = portal.get("/runs/", {"workflow": slug}).content.decode()
    assert f"/runs/{first['run_id']}/" in listed and 'id="durations-chart"' in listed and "<time datetime=" in listed

    # The log panel: the last lines, host paths hidden, markers as sections; following asks only for new lines.
    raw = client.get(f"/api/workflows/{slug}/runs/{first['run_id']}/tasks/a/logs/?limit=5000").json()
    log_url = f"{run_url}tasks/a/log/"
    with django_assert_max_num_queries(10):
        panel = portal.get(log_url).content.decode()
    assert "echo got" in panel and "(no log lines)" not in panel
    for host_path in (str(django_settings.BASE_DIR), str(tenant_storage_root(tenant=tenant_a))):
        assert host_path not in panel and not any(host_path in line for line in raw["lines"]), host_path
    if any("::group::" in line for line in raw["lines"]):
        assert '<details class="log-group"' in panel and "::group::" not in panel
    tail = portal.get(log_url, {"offset": raw["total_lines"]}).content.decode()
    assert "echo got" not in tail and "log-follow" not in tail  # complete: nothing new, no more polling
    earlier = portal.get(log_url, {"before": 3}).content.decode()
    assert earlier.count("\n") <= 4 and "Load earlier" not in earlier

    # Notifications: a failing run (times=0 is refused by the operator's input model) is announced once.
    settings.FLOWUI_NOTIFY_ALLOW_PRIVATE = True
    smtp, _ = smtp_server
    hooks, hook_port = hook_server
    _notify_ops(tenant_a, slug, on_failure=True, webhook_url=f"http://127.0.0.1:{hook_port}/services/T0/B0")
    failed = run_until_done(client, slug, params={"times": 0})
    assert failed["state"] == "failed" and failed["workflow_version"] == 2, failed
    ended = datetime.fromisoformat(failed["end_date"]).timestamp()

    def delivered():
        notifications_dispatch()  # what Celery beat calls every FLOWUI_NOTIFY_INTERVAL_S (10 s)
        return len(smtp.messages) >= 1 and len(hooks) >= 1

    wait_for(delivered, timeout_s=30, interval_s=django_settings.FLOWUI_NOTIFY_INTERVAL_S / 5, what="notifications")
    assert smtp.messages[0]["at"] - ended < 30
    for _ in range(2):
        notifications_dispatch()
    assert len(smtp.messages) == 1 and len(hooks) == 1  # once, however often the check runs
    mail = smtp.messages[0]
    assert mail["to"] == ["ops@example.com"] and "run failed" in mail["content"]
    assert failed["run_id"] in mail["content"] and "Failed tasks: a" in mail["content"]
    assert hooks[0]["path"] == "/services/T0/B0" and hooks[0]["type"] == "application/json"
    text = json.loads(hooks[0]["body"])["text"]
    assert failed["run_id"] in text and "failed" in text
    assert first["run_id"] not in "".join(m["content"] for m in smtp.messages)  # ended before: not announced

    with django_assert_max_num_queries(15):
        failed_page = portal.get(f"/workflows/{slug}/runs/{failed['run_id']}/").content.decode()
    assert 'data-channel="email" data-state="sent"' in failed_page
    assert 'data-channel="webhook" data-state="sent"' in failed_page
    assert 'data-action="retry-task"' in failed_page and 'data-action="retry-failed"' in failed_page
    assert "Graph and tasks of version 2" in failed_page and 'data-task="only_in_v2"' in failed_page


def test_it_notifies_a_retrying_task_once(airflow, tenant_a, make_user, git_repo, db, smtp_server):
    """A task that failed and waits for its retry (Airflow's default retry delay is 5 min) is announced once."""
    from registry.services import repository_create, repository_sync_now
    from workflows.tasks import notifications_dispatch

    files = echo_repo_files()
    # A failure worth retrying (an exception, not an input the model refuses: that fails for good at once).
    files["operators/echo/operator.py"] += (
        "\n\n_echo = operator_function\n\n\ndef operator_function(input_model):\n"
        "    if input_model.text == 'boom':\n        raise RuntimeError('boom')\n    return _echo(input_model)\n"
    )
    path, _ = git_repo(files, name="echo-retry")
    repository = repository_create(slug="echo-retry", name="Echo", url=f"file://{path}")
    assert repository_sync_now(repository=repository).state == "done"
    client = api(tenant_a, make_user("retry-editor", tenant=tenant_a, role="editor"))
    spec = _spec(extra_node=False)
    for item in spec["nodes"]:
        item["operator"]["repository"] = "echo-retry"
    spec["nodes"][0]["retries"] = 1
    spec["nodes"][0]["inputs"]["text"] = {"value": "boom"}
    created = post(client, "/api/workflows/", {"name": f"Retry {uuid.uuid4().hex[:6]}", "spec": spec})
    assert created.status_code == 201, created.content
    slug = created.json()["slug"]
    deploy_until_live(client, slug)
    smtp, _ = smtp_server
    _notify_ops(tenant_a, slug, on_retry=True)
    triggered = post(client, f"/api/workflows/{slug}/runs/", {"params": {}})
    assert triggered.status_code == 201, triggered.content
    run_id = triggered.json()["run_id"]

    def delivered():
        notifications_dispatch()
        return len(smtp.messages) >= 1

    wait_for(delivered, timeout_s=120, interval_s=1, what="the retry notification")
    for _ in range(2):
        notifications_dispatch()
    assert len(smtp.messages) == 1  # once, however often the check runs while the task waits
    mail = smtp.messages[0]
    assert mail["to"] == ["ops@example.com"] and run_id in mail["content"]
    assert "is retrying a task" in mail["content"] and "Retrying: a." in mail["content"]
    state = client.get(f"/api/workflows/{slug}/runs/{run_id}/").json()["state"]
    assert state in ("queued", "running"), state  # still waiting for the retry, not failed yet
