"""Tenant creation by cloning and the provisioning pipeline in local mode (real PostgreSQL, eager Celery)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import schema_context, schema_exists

from flowui_runtime.contracts import STORAGE_FOLDERS
from tenants.models import ProvisioningStep, Tenant
from tenants.schemas import base_schema_name, base_schema_pending_migrations, schema_signature
from tenants.selectors import tenant_dag_id_prefix, tenant_dags_folder, tenant_storage_root
from tenants.services import (
    tenant_create,
    tenant_provisioning_retry,
    tenant_provisioning_run,
    tenant_reactivate,
    tenant_suspend,
)

REPO = Path(__file__).resolve().parent.parent


def _states(tenant):
    return {s.name: s.state for s in tenant.provisioning_steps.all()}


def test_it_keeps_the_template_schema_current(db):
    assert schema_exists(base_schema_name())
    assert base_schema_pending_migrations() == set()


def test_it_clones_the_schema_with_its_own_sequences(db):
    started = time.perf_counter()
    tenant = tenant_create(schema_name="clone_seq", name="Clone seq", provision=False)
    elapsed = time.perf_counter() - started
    assert tenant.schema_creation.method == "clone"
    assert elapsed < 2.0
    # Same tables, columns, constraint and index names as the template (later migrations use the names).
    assert schema_signature("clone_seq") == schema_signature(base_schema_name())
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence('clone_seq.django_content_type', 'id')")
        assert cursor.fetchone()[0].startswith("clone_seq.")
        # Tables and their identity sequences are owned like the template's (the platform's database user).
        cursor.execute(
            "SELECT DISTINCT n.nspname, pg_get_userbyid(c.relowner) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN (%s, 'clone_seq') "
            "AND c.relkind IN ('r', 'S')",
            [base_schema_name()],
        )
        owners = dict(cursor.fetchall())
        assert owners["clone_seq"] == owners[base_schema_name()] == connection.settings_dict["USER"]
    from django.contrib.contenttypes.models import ContentType

    with schema_context("clone_seq"):
        before = ContentType.objects.count()
        created = ContentType.objects.create(app_label="probe", model="probe")
        assert created.pk > before  # the clone's sequence continues after the copied rows
    with schema_context(base_schema_name()):
        assert not ContentType.objects.filter(app_label="probe").exists()
    schema_step = tenant.provisioning_steps.get(name="schema")
    assert schema_step.state == ProvisioningStep.State.DONE
    assert schema_step.output["method"] == "clone"


def test_it_falls_back_to_migrations_when_cloning_is_off(db, settings):
    settings.FLOWUI_TENANT_CLONE = False
    tenant = tenant_create(schema_name="plain_migrate", name="Plain", provision=False)
    assert tenant.schema_creation.method == "migrate"
    assert schema_signature("plain_migrate") == schema_signature(base_schema_name())
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM plain_migrate.django_migrations")
        assert cursor.fetchone()[0] > 0


def test_it_provisions_local_storage_and_shared_airflow(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        tenant = tenant_create(schema_name="local_one", name="Local one")
    assert _states(tenant) == {"schema": "done", "storage": "done", "airflow": "done"}
    root = tenant_storage_root(tenant=tenant)
    for folder in STORAGE_FOLDERS:
        assert (root / folder).is_dir()
    assert not (root / "airflow" / "dags").exists()  # DAG files no longer live in the tenant's storage
    dags = Path(settings.FLOWUI_DAGS_DIR) / "local_one"
    assert dags.is_dir() and tenant.provisioning_steps.get(name="storage").output["dags_folder"] == str(dags)
    airflow_step = tenant.provisioning_steps.get(name="airflow")
    assert airflow_step.output["dag_id_prefix"] == "local_one__" == tenant_dag_id_prefix(tenant=tenant)
    assert airflow_step.output["dags_folder"] == str(dags)
    for step in tenant.provisioning_steps.all():
        assert step.started_at and step.finished_at and step.attempts == 1
    # Once done, a retry enqueues nothing and changes nothing.
    assert tenant_provisioning_retry(tenant=tenant) is None


def test_it_keeps_tenants_storage_apart(db, tenant_a, tenant_b, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        one = tenant_create(schema_name="apart_one", name="Apart one")
        two = tenant_create(schema_name="apart_two", name="Apart two")
    roots = {tenant_storage_root(tenant=t) for t in (one, two, tenant_a, tenant_b)}
    assert len(roots) == 4
    assert tenant_dags_folder(tenant=one) != tenant_dags_folder(tenant=two)
    assert not str(tenant_dags_folder(tenant=two)).startswith(str(tenant_storage_root(tenant=one)) + "/")
    assert tenant_dag_id_prefix(tenant=one) != tenant_dag_id_prefix(tenant=two)
    for tenant in (one, two):
        out = tenant.provisioning_steps.get(name="storage").output
        assert out["storage_root"].endswith(f"/{tenant.schema_name}")


def test_it_keeps_the_dags_folder_out_of_every_tenants_storage(
    db, tenant_a, tenant_b, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    """Whatever Airflow parses runs as code: no operator that can write a tenant's storage (local sandbox, Batch
    access point, Kubernetes PVC mount the storage root) may reach the folder Airflow parses."""
    import devstack.__main__ as devstack_main

    with django_capture_on_commit_callbacks(execute=True):
        fresh = tenant_create(schema_name="dags_apart", name="DAGs apart")
    dedicated = tenant_create(
        schema_name="dags_dedicated",
        name="Dedicated",
        airflow_mode="dedicated",
        airflow_url="http://127.0.0.1:9",
        airflow_dags_path=str(tmp_path / "dedicated-dags"),
        provision=False,
    )
    tenants = [tenant_a, tenant_b, fresh, dedicated]
    dags_dir = Path(settings.FLOWUI_DAGS_DIR).resolve()
    volume = Path(settings.VOLUME_MOUNT_PATH_HOST).resolve()
    assert not dags_dir.is_relative_to(volume) and not volume.is_relative_to(dags_dir)
    for tenant in tenants:
        folder = tenant_dags_folder(tenant=tenant).resolve()
        assert not folder.is_relative_to(volume), tenant.schema_name
        for other in tenants:
            assert not folder.is_relative_to(tenant_storage_root(tenant=other).resolve()), (tenant, other)
    assert tenant_dags_folder(tenant=fresh).resolve() == dags_dir / "dags_apart"
    assert tenant_dags_folder(tenant=dedicated) == tmp_path / "dedicated-dags"  # its own setting is kept
    assert "airflow/dags" not in STORAGE_FOLDERS
    # The folder `make run`'s Airflow parses is FLOWUI_DAGS_DIR (the tests' Airflow: test_workflows_airflow).
    monkeypatch.setattr(devstack_main, "VAR", tmp_path / "var")
    monkeypatch.setenv("FLOWUI_DAGS_DIR", str(tmp_path / "platform-dags"))
    assert devstack_main.dev_airflow().dags_folder == tmp_path / "platform-dags"
    monkeypatch.delenv("FLOWUI_DAGS_DIR")
    assert devstack_main.dev_airflow().dags_folder == REPO / "var" / "dags"


def test_it_refuses_a_dags_folder_inside_the_tenants_storage(tmp_path):
    env = {
        **os.environ,
        "VOLUME_MOUNT_PATH_HOST": str(tmp_path / "volume"),
        "FLOWUI_DAGS_DIR": str(tmp_path / "volume" / "dags"),
        "DJANGO_SETTINGS_MODULE": "flowui.settings",
    }
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        done.returncode != 0 and "FLOWUI_DAGS_DIR" in done.stderr and "overlaps VOLUME_MOUNT_PATH_HOST" in done.stderr
    )


def test_it_records_a_failed_step_and_resumes_on_retry(db, settings, tmp_path, django_capture_on_commit_callbacks):
    blocker = tmp_path / "volume-is-a-file"
    blocker.write_text("not a folder")
    settings.VOLUME_MOUNT_PATH_HOST = blocker
    with django_capture_on_commit_callbacks(execute=True):
        tenant = tenant_create(schema_name="fails_once", name="Fails once")
    storage = tenant.provisioning_steps.get(name="storage")
    assert storage.state == "failed"
    assert "storage: cannot prepare the storage folders under" in storage.error
    assert tenant.provisioning_steps.get(name="airflow").state == "pending"  # the pipeline stopped

    settings.VOLUME_MOUNT_PATH_HOST = tmp_path / "volume"
    with django_capture_on_commit_callbacks(execute=True):
        resumed = tenant_provisioning_retry(tenant=tenant)
    assert resumed.name == "storage"
    assert _states(tenant) == {"schema": "done", "storage": "done", "airflow": "done"}
    storage.refresh_from_db()
    assert storage.attempts == 2 and storage.error == ""
    assert tenant.provisioning_steps.get(name="schema").attempts == 1  # done steps are not run again


def test_it_rejects_bad_tenant_input_with_clear_errors(db):
    with pytest.raises(ValidationError) as err:
        tenant_create(schema_name="Bad-Name", name="x")
    assert "schema_name" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        tenant_create(schema_name="dedicated_no_url", name="x", airflow_mode="dedicated")
    assert "airflow_url" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        tenant_create(schema_name="base_tenant", name="x")
    assert "schema_name" in err.value.message_dict
    # A dedicated Airflow's DAG folder inside the tenants' storage would let operators plant DAG files.
    for path in (str(Path(settings.VOLUME_MOUNT_PATH_HOST) / "dedicated_in_volume" / "dags"), "relative/dags"):
        with pytest.raises(ValidationError) as err:
            tenant_create(
                schema_name="dedicated_in_volume",
                name="x",
                airflow_mode="dedicated",
                airflow_url="http://127.0.0.1:9",
                airflow_dags_path=path,
            )
        assert "airflow_dags_path" in err.value.message_dict


def test_it_fails_the_airflow_step_when_a_dedicated_airflow_does_not_answer(db, tmp_path):
    tenant = tenant_create(
        schema_name="dedicated_down",
        name="Dedicated down",
        airflow_mode="dedicated",
        airflow_url="http://127.0.0.1:9",
        airflow_username="u",
        airflow_password="p",
        airflow_dags_path=str(tmp_path / "dags"),
        provision=False,
    )
    assert tenant.airflow_password_encrypted and "p" != tenant.airflow_password_encrypted
    steps = tenant_provisioning_run(tenant=tenant)
    assert steps[-1].name == "airflow" and steps[-1].state == "failed"
    assert "dedicated Airflow at http://127.0.0.1:9 does not answer" in steps[-1].error


def test_it_suspends_and_reactivates(db, make_user, tenant_client):
    tenant = tenant_create(schema_name="suspend_me", name="Suspend me", provision=False)
    user = make_user("sus", tenant=tenant, role="editor")
    tenant_suspend(tenant=tenant)
    response = tenant_client(tenant, user).get("/", HTTP_ACCEPT="application/json")
    assert response.status_code == 403
    tenant_reactivate(tenant=tenant)
    assert Tenant.objects.get(pk=tenant.pk).status == "active"


def test_it_rebuilds_a_missing_template_before_cloning(db):
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA {base_schema_name()} CASCADE")  # rolled back with the test
    assert base_schema_pending_migrations()
    tenant = tenant_create(schema_name="after_rebuild", name="After rebuild", provision=False)
    assert tenant.schema_creation.method == "clone"
    assert base_schema_pending_migrations() == set()
    assert schema_signature("after_rebuild") == schema_signature(base_schema_name())


def test_it_creates_shows_and_retries_tenants_from_the_command_line(db, settings, tmp_path):
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    settings.VOLUME_MOUNT_PATH_HOST = tmp_path / "file"
    (tmp_path / "file").write_text("x")
    with pytest.raises(CommandError, match="provisioning stopped at storage"):
        call_command("tenant_create", "cli_tenant", "CLI tenant", "--sync", stdout=out)
    assert "schema: clone in" in out.getvalue()
    settings.VOLUME_MOUNT_PATH_HOST = tmp_path / "volume"
    out = StringIO()
    call_command("tenant_provisioning", "cli_tenant", "--retry", "--sync", stdout=out)
    assert "storage       done     attempts=2" in out.getvalue()
    with pytest.raises(CommandError, match="schema_name: A tenant with schema 'cli_tenant' exists already"):
        call_command("tenant_create", "cli_tenant", "Again")
    out = StringIO()
    call_command("tenant_template", "--check", stdout=out)
    assert "current" in out.getvalue()
