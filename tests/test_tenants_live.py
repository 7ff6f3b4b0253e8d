"""The provisioning chain on a real Celery worker, with a real dedicated Airflow (the session's Airflow 3)."""

from __future__ import annotations

import shutil
import time

from django_tenants.utils import get_public_schema_name, schema_context

from tenants.models import Tenant
from tenants.selectors import tenant_airflow, tenant_dags_folder, tenant_storage_root
from tenants.services import tenant_create


def test_it_provisions_on_a_real_worker_and_verifies_a_dedicated_airflow(
    transactional_db, celery_worker, airflow, tmp_path
):
    dags = tmp_path / "dedicated-dags"
    tenant = tenant_create(  # committed: the chain goes to the worker through Redis
        schema_name="live_dedicated",
        name="Live dedicated",
        airflow_mode="dedicated",
        airflow_url=airflow.url,
        airflow_username=airflow.username,
        airflow_password=airflow.password,
        airflow_dags_path=str(dags),
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            states = dict(tenant.provisioning_steps.values_list("name", "state"))
            if set(states.values()) == {"done"} or "failed" in states.values():
                break
            time.sleep(0.5)
        errors = list(tenant.provisioning_steps.exclude(error="").values_list("name", "error"))
        assert states == {"schema": "done", "storage": "done", "airflow": "done"}, (states, errors)
        output = tenant.provisioning_steps.get(name="airflow").output
        assert output["mode"] == "dedicated" and output["url"] == airflow.url
        assert dags.is_dir() and tenant_dags_folder(tenant=tenant) == dags
        # Every later Airflow call for this tenant goes to its own Airflow, with its stored credentials.
        stored = Tenant.objects.get(pk=tenant.pk)
        assert stored.airflow_password == airflow.password != stored.airflow_password_encrypted
        client = tenant_airflow(tenant=stored)
        assert client.url == airflow.url.rstrip("/") and client.token()
    finally:
        shutil.rmtree(tenant_storage_root(tenant=tenant), ignore_errors=True)
        # From the public schema: an earlier test of the session may leave the connection in a tenant's
        # (seen after tests/test_tenants_housekeeping.py's eager per-tenant dispatch).
        with schema_context(get_public_schema_name()):
            tenant.delete(force_drop=True)
