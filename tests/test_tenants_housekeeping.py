"""Housekeeping of run results and archive-then-delete of tenants (real files, PostgreSQL, moto_server)."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import time
from pathlib import Path

import pytest
from django.conf import settings
from django_celery_beat.models import PeriodicTask
from django_tenants.utils import schema_exists

from flowui.lib import aws
from tenants.housekeeping import MANIFEST, tenant_runs_archive
from tenants.models import Tenant, TenantResources
from tenants.selectors import tenant_storage_root
from tenants.services import housekeeping_schedule_ensure, tenant_create, tenant_delete, tenant_provisioning_run
from tenants.tasks import housekeeping_dispatch

DAY = 24 * 3600


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _make_run(root: Path, dag: str, run: str, *, age_s: float) -> dict[str, str]:
    """A run folder with a few result files, all `age_s` old. Returns {relative path: sha256}."""
    folder = root / "runs" / dag / run
    files = {
        "extract/result.json": b'{"status": "success", "output": {"rows": 3}}',
        "extract/log.txt": b"line one\nline two\n",
        "train/model.bin": os.urandom(200_000),
    }
    stamp = time.time() - age_s
    digests = {}
    for rel, data in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (stamp, stamp))
        digests[rel] = hashlib.sha256(data).hexdigest()
    for sub in [folder / "extract", folder / "train", folder]:
        os.utime(sub, (stamp, stamp))
    return digests


def _fresh_storage(schema: str) -> None:
    """The database rolls back after each test, files do not: start each test from an empty folder."""
    shutil.rmtree(Path(settings.VOLUME_MOUNT_PATH_HOST) / schema, ignore_errors=True)
    shutil.rmtree(Path(settings.FLOWUI_DAGS_DIR) / schema, ignore_errors=True)


@pytest.fixture
def local_tenant(db):
    _fresh_storage("hk_local")
    tenant = tenant_create(schema_name="hk_local", name="Housekeeping local", provision=False)
    tenant_provisioning_run(tenant=tenant)
    yield tenant
    _fresh_storage("hk_local")


def test_it_archives_old_run_results_locally_with_matching_checksums(local_tenant):
    root = tenant_storage_root(tenant=local_tenant)
    old = _make_run(root, "hk_local__etl", "manual__2024-01-01T00_00_00", age_s=3 * DAY)
    new = _make_run(root, "hk_local__etl", "manual__today", age_s=60)

    report = tenant_runs_archive(tenant=local_tenant)

    assert report.archived == ["runs/hk_local__etl/manual__2024-01-01T00_00_00"] and report.failed == {}
    assert report.files == 3
    archived = root / "archive" / "runs" / "hk_local__etl" / "manual__2024-01-01T00_00_00"
    for rel, digest in old.items():
        assert _sha(archived / rel) == digest
    assert (archived / MANIFEST).exists()
    assert not (root / "runs" / "hk_local__etl" / "manual__2024-01-01T00_00_00").exists()
    for rel, digest in new.items():  # recent results stay
        assert _sha(root / "runs" / "hk_local__etl" / "manual__today" / rel) == digest
    assert tenant_runs_archive(tenant=local_tenant).archived == []  # nothing more to do


def test_it_removes_nothing_when_the_local_archive_cannot_be_written(local_tenant):
    root = tenant_storage_root(tenant=local_tenant)
    old = _make_run(root, "hk_local__etl", "old_run", age_s=3 * DAY)
    (root / "archive").write_text("a file where the archive folder should be")

    report = tenant_runs_archive(tenant=local_tenant)

    assert report.archived == [] and list(report.failed) == ["runs/hk_local__etl/old_run"]
    assert "cannot write the archive copy" in report.failed["runs/hk_local__etl/old_run"]
    for rel, digest in old.items():
        assert _sha(root / "runs" / "hk_local__etl" / "old_run" / rel) == digest


@pytest.fixture
def aws_tenants(db, settings, moto_server):
    settings.FLOWUI_DEPLOY_MODE = "aws"
    settings.FLOWUI_EFS_FILE_SYSTEM_ID = aws.client("efs").create_file_system(CreationToken="hk")["FileSystemId"]
    tenants = []
    for schema in ("hk_aws_a", "hk_aws_b"):
        _fresh_storage(schema)
        tenant = tenant_create(schema_name=schema, name=schema, provision=False)
        assert tenant_provisioning_run(tenant=tenant)[-1].state == "done"
        tenants.append(tenant)
    return tenants


def test_it_archives_old_run_results_to_the_tenants_own_bucket(aws_tenants):
    tenant_a, tenant_b = aws_tenants
    root = tenant_storage_root(tenant=tenant_a)
    old = _make_run(root, "hk_aws_a__etl", "old_run", age_s=2 * DAY)

    report = tenant_runs_archive(tenant=tenant_a)

    bucket_a = TenantResources.objects.get(tenant=tenant_a).bucket_name
    bucket_b = TenantResources.objects.get(tenant=tenant_b).bucket_name
    assert report.archived == ["runs/hk_aws_a__etl/old_run"] and report.target == f"s3://{bucket_a}/runs/"
    for rel, digest in old.items():
        key = f"runs/hk_aws_a__etl/old_run/{rel}"
        size, sha = aws.s3_object_digest(bucket=bucket_a, key=key)
        assert sha == digest
    assert not (root / "runs" / "hk_aws_a__etl" / "old_run").exists()
    assert aws.s3_keys(bucket=bucket_b) == []  # tenant B's bucket is never used for tenant A


def test_it_removes_nothing_when_the_bucket_is_missing(aws_tenants):
    tenant = aws_tenants[0]
    root = tenant_storage_root(tenant=tenant)
    old = _make_run(root, "hk_aws_a__etl", "old_run", age_s=2 * DAY)
    aws.s3_bucket_delete(name=TenantResources.objects.get(tenant=tenant).bucket_name)

    report = tenant_runs_archive(tenant=tenant)

    assert report.archived == [] and "NoSuchBucket" in report.failed["runs/hk_aws_a__etl/old_run"]
    for rel, digest in old.items():
        assert _sha(root / "runs" / "hk_aws_a__etl" / "old_run" / rel) == digest


def test_it_registers_housekeeping_with_celery_beat_and_dispatches_per_tenant(local_tenant):
    housekeeping_schedule_ensure()
    housekeeping_schedule_ensure()
    task = PeriodicTask.objects.get(task="tenants.housekeeping_dispatch")
    assert task.enabled and task.interval is not None
    root = tenant_storage_root(tenant=local_tenant)
    _make_run(root, "hk_local__etl", "old_run", age_s=3 * DAY)
    dispatched = housekeeping_dispatch.delay().get()  # eager here: each tenant's task runs in-process
    assert dispatched >= 1
    assert not (root / "runs" / "hk_local__etl" / "old_run").exists()


def test_it_archives_a_tenant_before_deleting_it_and_only_on_confirmation(db, django_capture_on_commit_callbacks):
    _fresh_storage("hk_delete")
    with django_capture_on_commit_callbacks(execute=True):
        tenant = tenant_create(schema_name="hk_delete", name="Delete me")
    root = tenant_storage_root(tenant=tenant)
    (root / "dataset" / "data.csv").write_text("a,b\n1,2\n")
    # Its DAG files live in the platform's DAGs folder, outside its storage: archived and removed with it.
    dags = Path(settings.FLOWUI_DAGS_DIR) / "hk_delete"
    (dags / "hk_delete__etl.py").write_text("# a deployed DAG\n")

    first = tenant_delete(tenant=tenant)

    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.ARCHIVED and first["removed"] == []
    assert schema_exists("hk_delete") and root.exists()
    archive = Path(first["archive"])
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        assert "hk_delete/storage/dataset/data.csv" in names
        assert "hk_delete/dags/hk_delete__etl.py" in names
        assert "hk_delete/database/django_migrations.csv" in names
    assert TenantResources.objects.get(tenant=tenant).archive_sha256 == _sha(archive)

    second = tenant_delete(tenant=tenant, confirm=True)

    assert second["archive"] == first["archive"]  # archived once
    assert not schema_exists("hk_delete") and not root.exists() and not dags.exists()
    assert f"DAG folder {dags}" in second["removed"]
    assert not Tenant.objects.filter(schema_name="hk_delete").exists()
    assert archive.exists()


def test_it_removes_cloud_resources_only_on_confirmation(aws_tenants):
    tenant = aws_tenants[1]
    res = TenantResources.objects.get(tenant=tenant)
    assert aws.s3_bucket_exists(name=res.bucket_name)
    first = tenant_delete(tenant=tenant)
    assert first["removed"] == [] and aws.s3_bucket_exists(name=res.bucket_name)
    assert first["archive"].startswith("s3://flowui-archive/tenants/hk_aws_b-")
    result = tenant_delete(tenant=tenant, confirm=True)
    assert not aws.s3_bucket_exists(name=res.bucket_name)
    points = aws.client("efs").describe_access_points(FileSystemId=res.efs_file_system_id)["AccessPoints"]
    assert res.access_point_id not in [p["AccessPointId"] for p in points] and len(points) == 1
    assert not any(r["RoleName"] == res.role_name for r in aws.client("iam").list_roles()["Roles"])
    assert f"S3 bucket {res.bucket_name}" in result["removed"]
    # The other tenant's resources are untouched.
    other = TenantResources.objects.get(tenant=aws_tenants[0])
    assert aws.s3_bucket_exists(name=other.bucket_name)
