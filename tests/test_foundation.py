"""Platform foundation: tenants, memberships, roles, health, configuration."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings

from flowui.config import BASE_DIR


def test_it_serves_the_login_page_on_a_tenant_domain(client, db):
    response = client.get("/", HTTP_HOST="acme.localhost")
    assert response.status_code == 200
    assert b"Log in to Acme" in response.content


def test_it_serves_the_landing_page_on_the_public_domain(public_client, db):
    response = public_client.get("/")
    assert response.status_code == 200
    assert b"FlowUI" in response.content


def test_it_lets_a_member_in(tenant_a, make_user, tenant_client):
    alice = make_user("alice", tenant=tenant_a, role="viewer")
    response = tenant_client(tenant_a, alice).get("/")
    assert response.status_code == 200
    assert b"Acme" in response.content


def test_it_answers_404_to_a_member_of_another_tenant(tenant_a, tenant_b, make_user, tenant_client):
    alice = make_user("alice", tenant=tenant_a, role="owner")
    assert tenant_client(tenant_a, alice).get("/").status_code == 200
    assert tenant_client(tenant_b, alice).get("/").status_code == 404


def test_it_routes_alternating_tenants_on_one_connection_to_their_own_schemas(
    tenant_a, tenant_b, make_user, tenant_client
):
    """The routing middleware skips the search_path SETs while the connection stays on one tenant: requests
    that alternate between tenants on the same connection still each see their own schema only."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django_tenants.utils import tenant_context

    from workflows.models import Workflow

    for tenant in (tenant_a, tenant_b):
        with tenant_context(tenant):
            Workflow.objects.create(name=f"Only in {tenant.schema_name}", slug=f"only_{tenant.schema_name}")
    alice = make_user("alice", tenant=tenant_a, role="viewer")
    bob = make_user("bob", tenant=tenant_b, role="viewer")
    clients = {tenant_a.schema_name: tenant_client(tenant_a, alice), tenant_b.schema_name: tenant_client(tenant_b, bob)}
    for schema in [tenant_a.schema_name, tenant_b.schema_name, tenant_b.schema_name, tenant_a.schema_name] * 2:
        html = clients[schema].get("/workflows/").content.decode()
        others = [name for name in clients if name != schema]
        assert f"only_{schema}" in html and not any(f"only_{other}" in html for other in others)
        assert connection.schema_name == schema
    with CaptureQueriesContext(connection) as captured:  # the same tenant again: no SET
        assert clients[tenant_a.schema_name].get("/workflows/").status_code == 200
    assert not [q for q in captured.captured_queries if q["sql"].startswith("SET ")]
    with CaptureQueriesContext(connection) as captured:  # another tenant: its search_path, then its rows
        assert clients[tenant_b.schema_name].get("/workflows/").status_code == 200
    assert [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SET ")] == [
        'SET search_path = "bob","public"'.replace("bob", tenant_b.schema_name)
    ]


def test_it_keeps_the_routing_tables_in_the_public_schema_only():
    """TenantRoutingMiddleware looks the domain up under a tenant's search path, which resolves to the public
    tenants_domain/tenants_tenant only while no tenant schema has tables of those names."""
    assert "tenants" in settings.SHARED_APPS and "tenants" not in settings.TENANT_APPS


def test_it_forbids_a_viewer_an_editor_only_view(tenant_a, make_user, tenant_client):
    viewer = make_user("vera", tenant=tenant_a, role="viewer")
    editor = make_user("eddie", tenant=tenant_a, role="editor")
    assert tenant_client(tenant_a, viewer).get("/workflows/new/").status_code == 403
    assert tenant_client(tenant_a, editor).get("/workflows/new/").status_code == 200


def test_it_blocks_users_of_a_suspended_tenant(tenant_a, make_user, tenant_client):
    alice = make_user("alice", tenant=tenant_a, role="owner")
    tenant_a.status = tenant_a.Status.SUSPENDED
    tenant_a.save()
    response = tenant_client(tenant_a, alice).get("/")
    assert response.status_code == 403
    assert b"suspended" in response.content


def test_it_logs_in_with_a_password(tenant_a, make_user, client):
    make_user("alice", tenant=tenant_a, role="viewer")
    response = client.post(
        "/login/", {"username": "alice", "password": "pw", "next": "/"}, HTTP_HOST="acme.localhost", follow=True
    )
    assert response.status_code == 200
    assert b"alice" in response.content


def test_it_reports_health_of_database_redis_and_airflow(airflow, celery_worker, client, db):
    from tests.workflows_support import wait_for

    # The session's Celery worker may still be starting: it answers pings once it is up.
    wait_for(lambda: client.get("/healthz", HTTP_HOST="localhost").json()["celery"] == "ok", timeout_s=60)
    response = client.get("/healthz", HTTP_HOST="localhost")
    body = response.json()
    assert body["database"] == "ok"
    assert body["redis"] == "ok"
    assert body["airflow"] == "ok", body
    assert body["celery"] == "ok", body
    for component in ("api_server", "metadatabase", "scheduler", "dag_processor"):
        assert body["airflow_components"][component]["status"] == "ok", body
    assert 0 <= body["airflow_components"]["scheduler"]["heartbeat_age_s"] < 30
    assert response.status_code == 200


def test_it_reports_503_when_airflow_is_down(client, db, settings):
    settings.AIRFLOW_URL = "http://127.0.0.1:9"
    response = client.get("/healthz", HTTP_HOST="localhost")
    assert response.status_code == 503
    assert response.json()["airflow"].startswith("down")


def test_it_talks_to_airflow_with_a_jwt(airflow):
    from flowui.lib.airflow import AirflowClient

    client = AirflowClient(airflow.url, airflow.username, airflow.password)
    dags = client.call(lambda api: api.dag.get_dags(limit=5))
    assert dags.total_entries >= 0


def test_it_raises_airflow_unavailable_when_unreachable():
    from flowui.lib.airflow import AirflowClient, AirflowUnavailable

    with pytest.raises(AirflowUnavailable):
        AirflowClient("http://127.0.0.1:9", "u", "p", timeout_s=2).call(lambda api: api.dag.get_dags())


def _manage_check(env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", **env_extra}
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )


def test_it_stops_start_up_with_one_line_naming_a_bad_setting():
    result = _manage_check({"FLOWUI_DEPLOY_MODE": "cloudy"})
    assert result.returncode != 0
    assert "FLOWUI_DEPLOY_MODE: expected one of local, aws" in result.stderr
    assert "Traceback" not in result.stderr


def test_it_reads_secrets_from_name_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import django, os; os.environ['DJANGO_SETTINGS_MODULE']='flowui.settings'; django.setup(); {code}",
        ],
        cwd=BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "SECRET_KEY_FILE": str(secret)},
        capture_output=True,
        text=True,
    )
    assert result.stdout.strip() == "from-a-file", result.stderr


def test_it_lets_the_environment_override_config_ini(tmp_path):
    ini = tmp_path / "config.ini"
    ini.write_text("[project]\nPROJECT_NAME = from-ini\nFLOWUI_DEPLOY_MODE = local\n")
    code = "from django.conf import settings; print(settings.PROJECT_NAME)"
    base = {"PATH": "/usr/bin:/bin", "FLOWUI_CONFIG_INI": str(ini), "DJANGO_SETTINGS_MODULE": "flowui.settings"}
    run = lambda env: subprocess.run(  # noqa: E731
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert run(base) == "from-ini"
    assert run({**base, "PROJECT_NAME": "from-env"}) == "from-env"


def test_it_takes_the_test_settings_from_flowui_testing_only():
    """pytest's run sets FLOWUI_TESTING (pyproject.toml); a process that merely imported pytest is not a test run."""
    assert settings.TESTING and os.environ["FLOWUI_TESTING"] == "true"
    code = "import pytest, django; django.setup(); from django.conf import settings; print(settings.TESTING)"
    base = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "flowui.settings"}
    run = lambda env: subprocess.run(  # noqa: E731
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    assert run(base).stdout.strip() == "False", run(base).stderr
    assert run({**base, "FLOWUI_TESTING": "true"}).stdout.strip() == "True"


def test_it_keeps_the_runtime_package_free_of_django_and_celery():
    code = (
        "import sys, flowui_runtime, flowui_runtime.contracts; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('django', 'celery', 'flowui', 'tenants')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_runs_celery_tasks_in_the_tenant_schema_on_a_real_worker(celery_worker, tenant_a):
    from django_tenants.utils import schema_context

    from flowui.tasks import ping

    with schema_context("acme"):
        result = ping.delay()
    assert result.get(timeout=30) == "acme"
