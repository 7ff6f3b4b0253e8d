"""Run pages without Airflow: log path hiding and group sections, human times, charts, the notifications
settings (portal and API) and the webhook URL guard."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import tenant_context

from tenants.selectors import tenant_storage_root


def test_it_hides_the_platforms_host_paths_in_log_lines(tenant_a, tenant_b):
    from workflows.logs import PLACEHOLDER, host_path_replacements, host_paths_hide

    root = str(tenant_storage_root(tenant=tenant_a))
    other = str(tenant_storage_root(tenant=tenant_b))
    base = str(settings.BASE_DIR)
    airflow_venv_real = os.path.realpath(Path(base) / ".airflow-venv")
    lines = [
        f"reading {root}/runs/acme__x/run1/a/input.json",
        f'File "{airflow_venv_real}/lib/python3.11/site-packages/airflow/models/taskinstance.py", line 3',
        f"python {settings.FLOWUI_VENVS_DIR}/0123abcd/bin/python -m flowui_runtime run",
        f"DAG file {settings.FLOWUI_DAGS_DIR}/acme/acme__x.py",
        f"secrets at {settings.FLOWUI_SECRETS_DIR}/acme.json; home {base}/var/airflow",
        f"other tenant {other}/dataset/x.csv",
        f"{root}",
        f"not a path of ours: {root}-suffix/x and /usr/lib/python3",
    ]
    hidden = host_paths_hide(lines, host_path_replacements(tenant=tenant_a))
    assert hidden[0] == "reading /flowui/storage/runs/acme__x/run1/a/input.json"
    assert hidden[1].startswith(f'File "{PLACEHOLDER}/lib/python3.11/site-packages/airflow/')
    assert hidden[2] == "python /flowui/venv/bin/python -m flowui_runtime run"
    assert hidden[3] == f"DAG file {PLACEHOLDER}/acme/acme__x.py"
    assert hidden[4] == f"secrets at {PLACEHOLDER}/acme.json; home {PLACEHOLDER}/var/airflow"
    assert hidden[5] == f"other tenant {PLACEHOLDER}/{tenant_b.schema_name}/dataset/x.csv"
    assert hidden[6] == "/flowui/storage"
    assert "/usr/lib/python3" in hidden[7]
    joined = "\n".join(hidden)
    for secret_path in (base, root, other, airflow_venv_real, str(settings.FLOWUI_DAGS_DIR)):
        assert secret_path not in joined.replace(f"{root}-suffix", ""), secret_path


def test_it_turns_group_markers_into_sections_also_across_follow_pages():
    from workflows.logs import log_sections, open_group_after

    lines = [
        "2026-12-02T10:00:00+00:00 [info] starting",
        "2026-12-02T10:00:00+00:00 [info] ::group::Pre task execution logs",
        "inside 1",
        "inside 2",
        "::endgroup::",
        "after",
        "::group::Operator output",
        "out 1",
    ]
    sections = log_sections(lines)
    assert [(s.title, s.lines) for s in sections] == [
        (None, ["2026-12-02T10:00:00+00:00 [info] starting"]),
        ("Pre task execution logs", ["inside 1", "inside 2"]),
        (None, ["after"]),
        ("Operator output", ["out 1"]),
    ]
    assert not sections[1].open_end and sections[3].open_end
    assert open_group_after(sections) == "Operator output"
    follow = log_sections(["out 2", "::endgroup::", "done"], open_group="Operator output")
    assert follow[0].title == "Operator output" and follow[0].continued and follow[0].lines == ["out 2"]
    assert not follow[0].open_end and follow[1].lines == ["done"] and open_group_after(follow) == ""


def test_it_says_times_and_durations_for_humans_with_the_exact_time_on_hover():
    from workflows.templatetags.flowui_time import ago_text, duration_text, humantime

    assert [duration_text(v) for v in (0.42, 12.4, 184, 7260, None, "x")] == [
        "0.4 s",
        "12 s",
        "3 min 4 s",
        "2 h 1 min",
        "—",
        "—",
    ]
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert ago_text(now - timedelta(minutes=3), now) == "3 min ago"
    assert ago_text(now - timedelta(seconds=12), now) == "12 s ago"
    html = str(humantime((datetime.now(UTC) - timedelta(minutes=3)).isoformat()))
    assert html.startswith('<time datetime="') and 'title="20' in html and "3 min ago" in html
    assert humantime(None) == "—" and humantime("<script>") == "—"


def test_it_draws_a_duration_chart_and_a_gantt_as_plain_geometry():
    from workflows.charts import durations_chart, gantt

    runs = [
        {"run_id": "r3", "state": "failed", "duration_s": 30.0},
        {"run_id": "r2", "state": "success", "duration_s": 15.0},
        {"run_id": "r1", "state": "success", "duration_s": None},
    ]
    chart = durations_chart(runs, width=200, height=120)
    assert [b["run_id"] for b in chart["bars"]] == ["r2", "r3"]  # oldest left, unmeasured left out
    assert chart["bars"][1]["h"] == 100 and chart["bars"][0]["h"] == 50 and chart["max_label"] == "30 s"
    start = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    tasks = [
        {
            "task_id": "a",
            "state": "success",
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(seconds=10)).isoformat(),
            "duration_s": 10,
        },
        {
            "task_id": "b",
            "state": "failed",
            "start_date": (start + timedelta(seconds=10)).isoformat(),
            "end_date": (start + timedelta(seconds=20)).isoformat(),
            "duration_s": 10,
        },
        {"task_id": "c", "state": None, "start_date": None, "end_date": None, "duration_s": None},
    ]
    chart = gantt(tasks, width=610)
    rows = {r["task_id"]: r for r in chart["rows"]}
    assert set(rows) == {"a", "b"} and rows["a"]["x"] == 150 and rows["b"]["x"] == 375
    assert rows["a"]["w"] == rows["b"]["w"] == 225 and chart["total_label"] == "20 s"


@pytest.mark.parametrize(
    "url, problem",
    [
        ("https://169.254.169.254/latest/meta-data/", "link-local (cloud metadata)"),
        ("https://10.1.2.3/hook", "private"),
        ("https://192.168.0.10/hook", "private"),
        ("https://127.0.0.1:8000/hook", "loopback"),
        ("https://localhost/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("https://100.64.0.1/hook", "carrier-grade NAT"),
        ("https://0.0.0.0/hook", "unspecified"),
        ("http://8.8.8.8/hook", "must start with https://"),
        ("ftp://8.8.8.8/hook", "must start with https://"),
        ("file:///etc/passwd", "must start with https://"),
        ("https://user:pw@8.8.8.8/hook", "user name or password"),
        ("https://8.8.8.8/ho ok", "spaces"),
        ("https:///hook", "names no host"),
    ],
)
def test_it_refuses_webhook_urls_into_the_platforms_network(url, problem, settings):
    from workflows.outbound import UrlRefused, outbound_url_check, post_json

    settings.FLOWUI_NOTIFY_ALLOW_PRIVATE = False
    with pytest.raises(UrlRefused) as refused:
        outbound_url_check(url)
    assert problem in str(refused.value)
    with pytest.raises(UrlRefused):
        post_json(url, {"text": "x"})  # checked again when sending, before any connection


def test_it_lets_public_https_and_only_in_tests_loopback_through(settings):
    from workflows.outbound import UrlRefused, outbound_url_check

    settings.FLOWUI_NOTIFY_ALLOW_PRIVATE = False
    checked = outbound_url_check("https://8.8.8.8/services/T0/B0/xyz?a=1")
    assert (checked.scheme, checked.address, checked.port, checked.target) == (
        "https",
        "8.8.8.8",
        443,
        "/services/T0/B0/xyz?a=1",
    )
    assert outbound_url_check("http://127.0.0.1:9/x", allow_private=True).address == "127.0.0.1"
    with pytest.raises(UrlRefused):
        outbound_url_check("http://127.0.0.1:9/x")


def test_it_edits_notification_settings_in_the_portal_and_the_api(
    tenant_a, tenant_client, make_user, settings, django_assert_max_num_queries
):
    from tenants.services import api_token_create
    from workflows import services

    settings.FLOWUI_NOTIFY_ALLOW_PRIVATE = False
    with tenant_context(tenant_a):
        workflow = services.workflow_create(name="Notified", user=None, spec=None)
    editor = make_user("nora", tenant=tenant_a, role="editor")
    viewer = make_user("vic", tenant=tenant_a, role="viewer")
    client = tenant_client(tenant_a, editor)
    url = f"/workflows/{workflow.slug}/notifications/"

    settings_page = client.get(f"/workflows/{workflow.slug}/settings/").content.decode()
    assert f'href="{url}"' in settings_page and f'hx-get="{url}"' in settings_page
    with django_assert_max_num_queries(12):
        page = client.get(url)
    assert page.status_code == 200 and 'name="on_failure" value="1" checked' in page.content.decode()

    bad = client.post(
        url,
        {"on_failure": "1", "emails": "ops@example.com, not-an-address", "webhook_url": "https://169.254.169.254/x"},
    )
    body = bad.content.decode()
    assert bad.status_code == 400
    assert "&#x27;not-an-address&#x27; is not an e-mail address" in body and "link-local (cloud metadata)" in body
    assert 'value="https://169.254.169.254/x"' in body  # what was typed stays in the form

    good = client.post(
        url,
        {
            "on_failure": "1",
            "on_success": "1",
            "emails": "ops@example.com lead@example.com",
            "webhook_url": "https://8.8.8.8/services/SECRET",
        },
        HTTP_HX_REQUEST="true",
    )
    body = good.content.decode()
    assert good.status_code == 200 and "Notification settings saved" in body and "<html" not in body
    assert "set, to 8.8.8.8" in body and "SECRET" not in body
    assert tenant_client(tenant_a, viewer).post(url, {"on_failure": "1"}).status_code == 403

    _, key = api_token_create(user=editor, tenant=tenant_a)
    api = Client(HTTP_HOST=f"{tenant_a.schema_name}.localhost", HTTP_AUTHORIZATION=f"Bearer {key}")
    api_url = f"/api/workflows/{workflow.slug}/notifications/"
    with django_assert_max_num_queries(12):
        got = api.get(api_url).json()
    assert got == {
        "on_failure": True,
        "on_success": True,
        "on_retry": False,
        "emails": ["ops@example.com", "lead@example.com"],
        "webhook_url_set": True,
        "webhook_host": "8.8.8.8",
    }
    refused = api.put(api_url, json.dumps({"webhook_url": "https://10.0.0.1/x"}), content_type="application/json")
    assert refused.status_code == 400 and "private" in refused.json()["fields"]["webhook_url"][0]
    kept = api.put(api_url, json.dumps({"on_retry": True, "emails": []}), content_type="application/json").json()
    assert kept["on_retry"] is True and kept["webhook_url_set"] is True and kept["emails"] == []
    removed = api.put(api_url, json.dumps({"webhook_url": ""}), content_type="application/json").json()
    assert removed["webhook_url_set"] is False
    _, viewer_key = api_token_create(user=viewer, tenant=tenant_a)
    as_viewer = Client(HTTP_HOST=f"{tenant_a.schema_name}.localhost", HTTP_AUTHORIZATION=f"Bearer {viewer_key}")
    assert as_viewer.get(api_url).status_code == 200
    assert as_viewer.put(api_url, "{}", content_type="application/json").status_code == 403
