"""Provisioning in aws mode against a real moto_server (S3, EFS, IAM); nothing of ours is patched."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings as django_settings

from devstack.procs import free_port
from flowui.lib import aws
from tenants.models import ProvisioningStep, TenantResources
from tenants.provisioning import ROLE_POLICY_NAME, bucket_name_for
from tenants.services import (
    tenant_create,
    tenant_provisioning_retry,
    tenant_provisioning_run,
    tenant_provisioning_step_run,
)
from tests.conftest import MotoServer


def _file_system() -> str:
    return aws.client("efs").create_file_system(CreationToken="flowui-platform", Tags=[])["FileSystemId"]


@pytest.fixture
def aws_mode(settings, moto_server):
    settings.FLOWUI_DEPLOY_MODE = "aws"
    settings.FLOWUI_EFS_FILE_SYSTEM_ID = _file_system()
    return moto_server


def _inventory(file_system_id: str) -> dict:
    points = aws.client("efs").describe_access_points(FileSystemId=file_system_id)["AccessPoints"]
    roles = [r for r in aws.client("iam").list_roles()["Roles"] if r["RoleName"].endswith("-batch-job")]
    return {
        "buckets": sorted(b["Name"] for b in aws.client("s3").list_buckets()["Buckets"]),
        "access_points": sorted(p["AccessPointId"] for p in points),
        "roles": sorted(r["Arn"] for r in roles),
    }


def _states(tenant) -> dict[str, str]:
    return {s.name: s.state for s in tenant.provisioning_steps.all()}


def _rerun_every_step(tenant) -> list[ProvisioningStep]:
    """Provision again from scratch: every step's state back to pending, then the pipeline runs."""
    tenant.provisioning_steps.exclude(name="schema").update(state=ProvisioningStep.State.PENDING)
    return tenant_provisioning_run(tenant=tenant)


def _statement_resources(policy: dict) -> list[str]:
    found = []
    for statement in policy["Statement"]:
        found.extend(statement["Resource"])
        for condition in statement.get("Condition", {}).values():
            found.extend(str(v) for v in condition.values())
    return found


def test_it_provisions_three_tenants_each_with_its_own_bucket_access_point_and_role(
    db, aws_mode, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        tenants = [tenant_create(schema_name=f"aws_t{i}", name=f"AWS {i}") for i in range(3)]
    for tenant in tenants:
        assert _states(tenant) == dict.fromkeys(
            ["schema", "storage", "bucket", "access_point", "role", "airflow"], "done"
        ), tenant.provisioning_steps.values_list("name", "error")
    inventory = _inventory(settings.FLOWUI_EFS_FILE_SYSTEM_ID)
    assert inventory["buckets"] == sorted(bucket_name_for(t.schema_name) for t in tenants)
    assert len(inventory["access_points"]) == 3 and len(inventory["roles"]) == 3

    s3 = aws.client("s3")
    resources = [TenantResources.objects.get(tenant=t) for t in tenants]
    assert len({r.posix_uid for r in resources}) == 3
    for tenant, res in zip(tenants, resources, strict=True):
        # The bucket: private, encrypted, with a lifecycle rule.
        assert 3 <= len(res.bucket_name) <= 63 and res.bucket_name == res.bucket_name.lower()
        block = s3.get_public_access_block(Bucket=res.bucket_name)["PublicAccessBlockConfiguration"]
        assert all(block.values())
        encryption = s3.get_bucket_encryption(Bucket=res.bucket_name)["ServerSideEncryptionConfiguration"]
        assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        assert s3.get_bucket_lifecycle_configuration(Bucket=res.bucket_name)["Rules"]
        # The tenant's folders belong to its POSIX user (its jobs write there through the access point).
        stat = Path(res.storage_root, "runs").stat()
        assert (stat.st_uid, stat.st_gid) == (res.posix_uid, res.posix_gid)
        # The access point: rooted at the tenant's folder, with the tenant's own POSIX identity.
        point = aws.client("efs").describe_access_points(AccessPointId=res.access_point_id)["AccessPoints"][0]
        assert point["RootDirectory"]["Path"] == f"/{tenant.schema_name}"
        assert point["PosixUser"] == {"Uid": res.posix_uid, "Gid": res.posix_gid}
        # The role: assumed by ECS tasks (Batch jobs), its policy names only this tenant's resources.
        role = aws.client("iam").get_role(RoleName=res.role_name)["Role"]
        assert "ecs-tasks.amazonaws.com" in str(role["AssumeRolePolicyDocument"])
        policy = aws.iam_role_policy(name=res.role_name, policy_name=ROLE_POLICY_NAME)
        named = _statement_resources(policy)
        assert f"arn:aws:s3:::{res.bucket_name}" in named and f"arn:aws:s3:::{res.bucket_name}/*" in named
        assert res.access_point_arn in named
        for other in resources:
            if other.pk != res.pk:
                assert not any(other.bucket_name in item for item in named)
                assert other.access_point_arn not in named
        assert not any(item in ("*", "arn:aws:s3:::*") for item in named)

    # Provisioning again (every step re-run, and a retry) changes nothing.
    for tenant in tenants:
        steps = _rerun_every_step(tenant)
        assert [s.state for s in steps] == ["done"] * 6
        assert not any(s.output.get("created") for s in steps)
        assert tenant_provisioning_retry(tenant=tenant) is None
    assert _inventory(settings.FLOWUI_EFS_FILE_SYSTEM_ID) == inventory
    assert [TenantResources.objects.get(tenant=t).access_point_id for t in tenants] == [
        r.access_point_id for r in resources
    ]


def test_it_fails_the_step_when_aws_goes_down_and_resumes_without_duplicates(
    db, settings, tmp_path, django_capture_on_commit_callbacks
):
    server = MotoServer(tmp_path / "moto-run")
    server.start()
    try:
        settings.AWS_ENDPOINT_URL = server.url
        settings.AWS_ACCESS_KEY_ID, settings.AWS_SECRET_ACCESS_KEY = "testing", "testing"
        settings.AWS_REGION_NAME = "us-east-1"
        settings.FLOWUI_DEPLOY_MODE = "aws"
        settings.FLOWUI_EFS_FILE_SYSTEM_ID = _file_system()

        server.stop()  # AWS goes away before the first AWS step
        with django_capture_on_commit_callbacks(execute=True):
            tenant = tenant_create(schema_name="aws_fault", name="AWS fault")
        assert _states(tenant) == {
            "schema": "done",
            "storage": "done",
            "bucket": "failed",
            "access_point": "pending",
            "role": "pending",
            "airflow": "pending",
        }
        bucket_step = tenant.provisioning_steps.get(name="bucket")
        assert "AWS endpoint unreachable" in bucket_step.error
        assert bucket_name_for("aws_fault") in bucket_step.error
        assert bucket_step.started_at and bucket_step.finished_at and bucket_step.attempts == 1

        server.start()  # back (moto starts empty: the platform's file system is made again)
        settings.FLOWUI_EFS_FILE_SYSTEM_ID = _file_system()
        with django_capture_on_commit_callbacks(execute=True):
            resumed = tenant_provisioning_retry(tenant=tenant)
        assert resumed.name == "bucket"
        assert set(_states(tenant).values()) == {"done"}
        bucket_step.refresh_from_db()
        assert bucket_step.attempts == 2 and bucket_step.error == ""
        assert tenant.provisioning_steps.get(name="storage").attempts == 1

        inventory = _inventory(settings.FLOWUI_EFS_FILE_SYSTEM_ID)
        assert (len(inventory["buckets"]), len(inventory["access_points"]), len(inventory["roles"])) == (1, 1, 1)
        with django_capture_on_commit_callbacks(execute=True):
            assert tenant_provisioning_retry(tenant=tenant) is None
        _rerun_every_step(tenant)
        assert _inventory(settings.FLOWUI_EFS_FILE_SYSTEM_ID) == inventory
    finally:
        server.stop()


def test_it_fails_the_access_point_step_without_a_file_system(db, aws_mode, settings):
    settings.FLOWUI_EFS_FILE_SYSTEM_ID = ""
    tenant = tenant_create(schema_name="aws_no_efs", name="No EFS", provision=False)
    steps = tenant_provisioning_run(tenant=tenant)
    assert steps[-1].name == "access_point" and steps[-1].state == "failed"
    assert "FLOWUI_EFS_FILE_SYSTEM_ID is not set" in steps[-1].error


def test_it_keeps_storage_roots_under_the_volume(db, aws_mode):
    tenant = tenant_create(schema_name="aws_paths", name="Paths", provision=False)
    tenant_provisioning_run(tenant=tenant)
    root = Path(TenantResources.objects.get(tenant=tenant).storage_root)
    assert root == Path(django_settings.VOLUME_MOUNT_PATH_HOST) / "aws_paths"


def test_it_resumes_at_the_role_when_aws_was_unreachable_after_the_access_point(
    db, aws_mode, settings, django_capture_on_commit_callbacks
):
    """The endpoint becomes unreachable between two AWS steps (a closed port: connection refused, moto keeps
    its state); the retry creates the role and nothing else."""
    tenant = tenant_create(schema_name="aws_mid", name="AWS mid", provision=False)
    for name in ("storage", "bucket", "access_point"):
        assert tenant_provisioning_step_run(tenant=tenant, name=name).state == "done"
    reachable = settings.AWS_ENDPOINT_URL
    settings.AWS_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    steps = tenant_provisioning_run(tenant=tenant)
    assert steps[-1].name == "role" and steps[-1].state == "failed"
    assert "AWS endpoint unreachable" in steps[-1].error

    settings.AWS_ENDPOINT_URL = reachable
    before = _inventory(settings.FLOWUI_EFS_FILE_SYSTEM_ID)
    assert len(before["roles"]) == 0 and len(before["buckets"]) == 1 and len(before["access_points"]) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert tenant_provisioning_retry(tenant=tenant).name == "role"
    assert set(_states(tenant).values()) == {"done"}
    after = _inventory(settings.FLOWUI_EFS_FILE_SYSTEM_ID)
    assert after["buckets"] == before["buckets"] and after["access_points"] == before["access_points"]
    assert len(after["roles"]) == 1
