"""Tenant secrets: saved by the platform, read in the real Airflow by exactly the operators that declare them,
in that tenant's runs only, masked in the logs (flowui_runtime.secrets, tenants.services_secrets)."""

from __future__ import annotations

import hashlib
import json
import stat
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError

from flowui.lib.airflow import AirflowClient, AirflowUnavailable
from flowui_runtime import contracts
from flowui_runtime import secrets as runtime_secrets
from flowui_runtime.metadata import OperatorMetadata
from tenants.services_secrets import secret_delete, secret_set, secrets_file_path
from tests.runtime_fixtures import support

ACME_VALUE = "acme-key-7f3a9c"
GLOBEX_VALUE = "globex-key-51be02"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _deploy(client, tenant: str, name: str, tasks: list[dict]) -> str:
    storage_root = Path(settings.VOLUME_MOUNT_PATH_HOST) / tenant
    spec = support.dag_spec(f"{tenant}__{name}", storage_root, tasks=tasks, tenant=tenant)
    support.dag_file_write(Path(settings.FLOWUI_DAGS_DIR) / tenant, spec)
    return spec["dag_id"]


def _result(tenant: str, dag_id: str, run_id: str, task_id: str) -> dict:
    folder = contracts.run_dir(Path(settings.VOLUME_MOUNT_PATH_HOST) / tenant, dag_id, run_id, task_id)
    return json.loads((folder / contracts.RESULT_FILE).read_text())


def _log_txt(tenant: str, dag_id: str, run_id: str, task_id: str) -> str:
    folder = contracts.run_dir(Path(settings.VOLUME_MOUNT_PATH_HOST) / tenant, dag_id, run_id, task_id)
    return (folder / contracts.LOG_FILE).read_text()


@pytest.mark.airflow
def test_it_hands_each_tenant_its_own_secret_only_to_operators_declaring_it_and_masks_it(airflow, tenant_a, tenant_b):
    client = AirflowClient(airflow.url, airflow.username, airflow.password)
    volume = Path(settings.VOLUME_MOUNT_PATH_HOST)
    suffix = uuid.uuid4().hex[:6]
    # Decoys that must never be used: the same name as an Airflow Variable (and, see conftest, in the
    # worker's environment).
    from airflow_client.client import VariableApi, VariableBody

    try:
        client.call(lambda api: VariableApi(api.client).delete_variable("RT_API_KEY"))
    except Exception:  # noqa: BLE001, S110 - not there yet
        pass
    for attempt in range(5):  # Airflow's SQLite metadata DB answers 500 "Database error" while it is locked
        try:
            client.call(
                lambda api: VariableApi(api.client).post_variable(VariableBody(key="RT_API_KEY", value="variable-v"))
            )
            break
        except AirflowUnavailable:
            if attempt == 4:
                raise
            time.sleep(1)

    # Saved through the platform, as the portal does.
    secret_set(tenant=tenant_a, name="RT_API_KEY", value=ACME_VALUE)
    secret_set(tenant=tenant_b, name="RT_API_KEY", value=GLOBEX_VALUE)
    secret_set(tenant=tenant_a, name="OTHER_KEY", value="acme-other-value-99")

    # The secrets files: platform-only, outside every tenant's storage, 0600 in a 0700 folder.
    secrets_dir = Path(settings.FLOWUI_SECRETS_DIR).resolve()
    assert not secrets_dir.is_relative_to(volume.resolve())
    for tenant in (tenant_a, tenant_b):
        path = secrets_file_path(tenant=tenant)
        assert path.parent.resolve() == secrets_dir
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(secrets_dir.stat().st_mode) == 0o700
    assert json.loads(secrets_file_path(tenant=tenant_b).read_text()) == {"RT_API_KEY": GLOBEX_VALUE}

    ops = {
        tenant: {name: support.operator_install(volume / tenant, name) for name in ("rt_secret", "rt_sleep")}
        for tenant in ("acme", "globex")
    }
    dags = {
        "acme": _deploy(client, "acme", f"rt_secret_{suffix}", [
            support.task("declares", ops["acme"]["rt_secret"], {"note": {"value": "acme"}}, secrets=["RT_API_KEY"]),
            support.task("undeclared", ops["acme"]["rt_sleep"]),
        ]),
        "acme_raises": _deploy(client, "acme", f"rt_secret_raises_{suffix}", [
            support.task("declares", ops["acme"]["rt_secret"], {"note": {"value": "raise"}}, secrets=["RT_API_KEY"]),
        ]),
        "globex": _deploy(client, "globex", f"rt_secret_{suffix}", [
            support.task("declares", ops["globex"]["rt_secret"], {"note": {"value": "globex"}}, secrets=["RT_API_KEY"]),
        ]),
    }  # fmt: skip
    support.dags_wait(client, list(dags.values()))
    runs = {tenant: support.trigger(client, dag_id) for tenant, dag_id in dags.items()}
    states = {tenant: support.run_wait(client, dags[tenant], run_id) for tenant, run_id in runs.items()}
    assert states == {"acme": "success", "acme_raises": "failed", "globex": "success"}, {
        t: support.task_log(client, dags[t], runs[t], "declares") for t in dags
    }

    # Each tenant's operator got its own tenant's value (not the Variable's, not the worker environment's).
    acme = _result("acme", dags["acme"], runs["acme"], "declares")["output"]
    globex = _result("globex", dags["globex"], runs["globex"], "declares")["output"]
    assert acme == {"digest": _digest(ACME_VALUE), "length": len(ACME_VALUE), "in_environment": True}
    assert globex == {"digest": _digest(GLOBEX_VALUE), "length": len(GLOBEX_VALUE), "in_environment": True}
    # An operator that does not declare it gets no secret at all (nor acme's other one).
    undeclared = _result("acme", dags["acme"], runs["acme"], "undeclared")["output"]["environment"]
    assert "RT_API_KEY" not in undeclared and "OTHER_KEY" not in undeclared

    # Masked in the task log fetched through Airflow's API, and in the run folder's log.txt.
    for tenant, value in (("acme", ACME_VALUE), ("globex", GLOBEX_VALUE)):
        log = support.task_log(client, dags[tenant], runs[tenant], "declares")
        assert f"rt_secret: using key *** for {tenant}" in log and "key again <***>" in log, log
        assert value not in log
        log_txt = _log_txt(tenant, dags[tenant], runs[tenant], "declares")
        assert f"rt_secret: using key *** for {tenant}" in log_txt and value not in log_txt
        for decoy in ("variable-v", "worker-environment-value"):
            assert decoy not in log and decoy not in log_txt

    # An operator failing with the value in its exception: masked in its traceback (log.txt, task log) and in
    # the failure Airflow logs itself.
    log = support.task_log(client, dags["acme_raises"], runs["acme_raises"], "declares")
    log_txt = _log_txt("acme", dags["acme_raises"], runs["acme_raises"], "declares")
    assert "ValueError: rt_secret rejects key ***" in log and "ValueError: rt_secret rejects key ***" in log_txt
    assert ACME_VALUE not in log and ACME_VALUE not in log_txt

    # Deleted in the portal: the next run of globex fails with a clear missing-secret error, acme is unchanged.
    assert secret_delete(tenant=tenant_b, name="RT_API_KEY") is True
    assert json.loads(secrets_file_path(tenant=tenant_b).read_text()) == {}
    run_id = support.trigger(client, dags["globex"])
    assert support.run_wait(client, dags["globex"], run_id) == "failed"
    log = support.task_log(client, dags["globex"], run_id, "declares")
    assert "secret RT_API_KEY (declared by rt_secret) is not set for tenant globex" in log
    assert "Secrets are missing or invalid for 'rt_secret'" in log and "RT_API_KEY" in log
    assert support.task_states(client, dags["globex"], run_id) == {"declares": "failed"}
    assert "variable-v" not in log and "worker-environment-value" not in log
    client.call(lambda api: VariableApi(api.client).delete_variable("RT_API_KEY"))


def test_it_reads_only_the_tenants_own_file_and_the_declared_names(tmp_path):
    runtime_secrets.write_tenant_secrets(tmp_path / "s", "acme", {"A_KEY": "a-value", "B_KEY": "b-value"})
    runtime_secrets.write_tenant_secrets(tmp_path / "s", "globex", {"A_KEY": "g-value"})
    read = runtime_secrets.tenant_secret_values
    assert read("acme", ["A_KEY"], directory=tmp_path / "s") == {"A_KEY": "a-value"}
    assert read("globex", ["A_KEY", "B_KEY"], directory=tmp_path / "s") == {"A_KEY": "g-value"}
    assert read("initech", ["A_KEY"], directory=tmp_path / "s") == {}  # no file: no secret
    assert read("acme", [], directory=tmp_path / "nowhere") == {}  # nothing declared: nothing read
    for hostile in ("../acme", "acme/../globex", "/etc/passwd", "Acme", "acme.json", "", "a" * 70):
        with pytest.raises(runtime_secrets.SecretsError, match="invalid tenant"):
            read(hostile, ["A_KEY"], directory=tmp_path / "s")
    # A symlink planted in place of a tenant's file is not followed.
    (tmp_path / "s" / "initech.json").symlink_to(tmp_path / "s" / "acme.json")
    with pytest.raises(runtime_secrets.SecretsError, match="cannot read"):
        read("initech", ["A_KEY"], directory=tmp_path / "s")
    with pytest.raises(runtime_secrets.SecretsError, match="FLOWUI_SECRETS_DIR is not set"):
        read("acme", ["A_KEY"], directory="")
    assert stat.S_IMODE((tmp_path / "s").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "s" / "acme.json").stat().st_mode) == 0o600
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["acme.json", "globex.json", "initech.json"]


def test_it_masks_secret_values_in_log_lines():
    mask = runtime_secrets.mask
    assert mask("token=abc123xyz; again abc123xyz\n", {"T": "abc123xyz"}) == "token=***; again ***\n"
    assert mask("short pw: ab", ["ab"]) == "short pw: ***"  # any length
    assert mask("key abcdef and abcdefgh", ["abcdef", "abcdefgh"]) == "key *** and ***"  # longest first
    assert mask("line two of a pem: SECONDLINE", ["first-line\nSECONDLINE"]) == "line two of a pem: ***"
    assert mask("nothing here", {"T": ""}) == "nothing here"


def test_it_uses_one_secret_name_rule_for_metadata_and_the_portal(tenant_a):
    good = ["OPENAI_API_KEY", "auth_token", "aws_access_key_id", "A", "K" * 100]
    bad = ["", "1KEY", "_KEY", "MY-KEY", "MY KEY", "KEY=1", "K" * 101, "PATH", "home", "LD_PRELOAD",
           "PYTHONPATH", "FLOWUI_RUN_DIR", "AIRFLOW__CORE__FERNET_KEY", "lc_all", "TZ"]  # fmt: skip
    for name in good:
        assert contracts.secret_name_valid(name), name
        OperatorMetadata(name="op", secrets=[name])
    for name in bad:
        assert not contracts.secret_name_valid(name), name
        with pytest.raises(ValueError, match="invalid secret name"):
            OperatorMetadata(name="op", secrets=[name])
        with pytest.raises(ValidationError, match="reserved"):
            secret_set(tenant=tenant_a, name=name, value="v")
    with pytest.raises(ValueError, match="once"):
        OperatorMetadata(name="op", secrets=["A_KEY", "A_KEY"])


def test_it_rebuilds_a_stale_or_missing_secrets_file_at_provisioning(tenant_b):
    from tenants.models import TenantResources
    from tenants.provisioning import run_storage

    secret_set(tenant=tenant_b, name="REBUILT_KEY", value="rebuilt-value")
    path = secrets_file_path(tenant=tenant_b)
    path.write_text('{"STALE": "stale"}')
    output = run_storage(tenant_b, TenantResources.objects.get_or_create(tenant=tenant_b)[0])
    assert output["secrets_file"] == str(path)
    assert json.loads(path.read_text()) == {"REBUILT_KEY": "rebuilt-value"}
    path.unlink()
    run_storage(tenant_b, TenantResources.objects.get(tenant=tenant_b))
    assert json.loads(path.read_text()) == {"REBUILT_KEY": "rebuilt-value"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
