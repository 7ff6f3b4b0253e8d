"""aws mode: Batch job definitions and queues per operator version and tenant, against a real moto_server."""

from __future__ import annotations

import json

import boto3
import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from registry import selectors, services
from registry.models import BatchJobDefinition
from tenants.selectors import tenant_storage_root
from tests.test_registry_sync import good_metadata, operator_files

pytestmark = [pytest.mark.django_db, pytest.mark.aws]


@pytest.fixture
def batch_infrastructure(moto_server, settings):
    """What the platform's infrastructure provides: a compute environment, an EFS file system, a job role."""
    kwargs = {"endpoint_url": moto_server.url, "region_name": "us-east-1"}
    iam = boto3.client("iam", **kwargs)
    role = iam.create_role(RoleName="batch-service", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"}))
    env = boto3.client("batch", **kwargs).create_compute_environment(
        computeEnvironmentName="flowui-ce", type="UNMANAGED", serviceRole=role["Role"]["Arn"]
    )
    efs = boto3.client("efs", **kwargs)
    fs = efs.create_file_system(CreationToken="flowui")
    ap = efs.create_access_point(FileSystemId=fs["FileSystemId"], RootDirectory={"Path": "/acme"})
    job_role = iam.create_role(RoleName="acme-job", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"}))
    settings.FLOWUI_BATCH_COMPUTE_ENVIRONMENT = env["computeEnvironmentArn"]
    settings.FLOWUI_EFS_FILE_SYSTEM_ID = fs["FileSystemId"]
    return {"access_point_id": ap["AccessPointId"], "job_role_arn": job_role["Role"]["Arn"], "kwargs": kwargs}


def test_it_defines_batch_jobs_per_operator_version_and_prints_their_environment(
    batch_infrastructure, git_repo, tenant_a, capsys
):
    files = operator_files(
        "load_data", metadata=good_metadata("load_data", "1.2.0") | {"resources": {"cpu": 2, "memory_mb": 4096}}
    )
    files |= operator_files("local_only", metadata={"name": "local_only", "execution_modes": ["local"]})
    path, _ = git_repo(files)
    repository = services.repository_create(slug="ops", name="Ops", url=f"file://{path}")
    services.repository_sync_now(repository=repository)

    rows = services.batch_definitions_ensure_for_tenant(
        tenant=tenant_a,
        job_role_arn=batch_infrastructure["job_role_arn"],
        efs_access_point_id=batch_infrastructure["access_point_id"],
    )
    assert [r.operator_version.name for r in rows] == ["load_data"]
    again = services.batch_definitions_ensure_for_tenant(
        tenant=tenant_a,
        job_role_arn=batch_infrastructure["job_role_arn"],
        efs_access_point_id=batch_infrastructure["access_point_id"],
    )
    assert [r.pk for r in again] == [r.pk for r in rows]
    assert BatchJobDefinition.objects.count() == 1

    batch = boto3.client("batch", **batch_infrastructure["kwargs"])
    definition = batch.describe_job_definitions(jobDefinitions=[rows[0].job_definition_arn])["jobDefinitions"][0]
    container = definition["containerProperties"]
    assert container["image"] == rows[0].operator_version.image
    assert {r["type"]: r["value"] for r in container["resourceRequirements"]} == {"VCPU": "2", "MEMORY": "4096"}
    assert container["jobRoleArn"] == batch_infrastructure["job_role_arn"]
    storage_root = str(tenant_storage_root(tenant=tenant_a))
    assert container["mountPoints"][0]["containerPath"] == storage_root  # the same paths as in Airflow
    assert {"name": "FLOWUI_STORAGE_ROOT", "value": storage_root} in container["environment"]
    efs = container["volumes"][0]["efsVolumeConfiguration"]
    assert efs["authorizationConfig"]["accessPointId"] == batch_infrastructure["access_point_id"]
    queue = batch.describe_job_queues(jobQueues=[rows[0].job_queue_arn])["jobQueues"][0]
    assert queue["jobQueueName"] == "flowui-acme-operators"

    assert definition["jobDefinitionName"] == "flowui-acme-load_data_1_2_0"

    call_command("registry_batch_env", "--tenant", "acme")
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == [f"flowui-acme-load_data_1_2_0 {rows[0].job_definition_arn} {rows[0].job_queue_arn}"]
    assert selectors.batch_job_definitions(tenant=tenant_a)[0][1] == rows[0].job_definition_arn


def test_it_names_what_is_missing_for_batch_definitions(moto_server, git_repo, tenant_a, settings):
    from django.core.management.base import CommandError

    settings.FLOWUI_BATCH_COMPUTE_ENVIRONMENT = ""
    path, _ = git_repo(operator_files("alpha"))
    services.repository_sync_now(repository=services.repository_create(slug="ops", name="Ops", url=f"file://{path}"))
    with pytest.raises(CommandError, match="missing job role ARN, EFS access point, compute environment"):
        call_command("registry_batch_env", "--tenant", "acme", "--ensure")


def test_it_points_each_tenants_job_definitions_at_its_own_secrets_manager_secret(
    batch_infrastructure, git_repo, tenant_a, tenant_b, settings
):
    """Two tenants, the same operator version: each job definition references exactly the operator's declared
    secrets, from its own tenant's Secrets Manager secret (kept in sync when secrets change), never values."""
    from flowui.lib import aws
    from tenants.services_secrets import operator_secret_name, secret_delete, secret_set

    settings.FLOWUI_DEPLOY_MODE = "aws"
    files = operator_files(
        "call_api", metadata=good_metadata("call_api", "2.0.0") | {"secrets": ["API_TOKEN", "ORG_ID"]}
    )
    files |= operator_files("plain", metadata=good_metadata("plain"))
    path, _ = git_repo(files)
    repository = services.repository_create(slug="ops", name="Ops", url=f"file://{path}")  # platform-wide
    services.repository_sync_now(repository=repository)
    secret_set(tenant=tenant_a, name="API_TOKEN", value="acme-token-value")
    secret_set(tenant=tenant_a, name="UNUSED_KEY", value="acme-unused-value")
    secret_set(tenant=tenant_b, name="API_TOKEN", value="globex-token-value")

    batch = boto3.client("batch", **batch_infrastructure["kwargs"])
    secret_arns = {}
    for tenant, own_value in ((tenant_a, "acme-token-value"), (tenant_b, "globex-token-value")):
        rows = services.batch_definitions_ensure_for_tenant(
            tenant=tenant, job_role_arn=batch_infrastructure["job_role_arn"],
            efs_access_point_id=batch_infrastructure["access_point_id"],
        )  # fmt: skip
        arn = aws.secretsmanager_secret_arn(name=operator_secret_name(tenant=tenant))
        assert arn and operator_secret_name(tenant=tenant) == f"flowui/{tenant.schema_name}/operator-secrets"
        secret_arns[tenant.schema_name] = arn
        assert json.loads(aws.secretsmanager_secret_value(name=arn))["API_TOKEN"] == own_value
        containers = {
            row.operator_version.name: batch.describe_job_definitions(jobDefinitions=[row.job_definition_arn])[
                "jobDefinitions"
            ][0]["containerProperties"]
            for row in rows
        }
        assert containers["call_api"]["secrets"] == [
            {"name": "API_TOKEN", "valueFrom": f"{arn}:API_TOKEN::"},
            {"name": "ORG_ID", "valueFrom": f"{arn}:ORG_ID::"},
        ]
        assert containers["call_api"]["executionRoleArn"] == batch_infrastructure["job_role_arn"]
        assert not containers["plain"].get("secrets")  # declares none: gets none
        assert "token-value" not in json.dumps(containers) and "unused" not in json.dumps(containers)
    assert secret_arns["acme"] != secret_arns["globex"]

    # Changes in the portal reach the tenant's secret (same ARN, so the job definitions stay valid).
    secret_set(tenant=tenant_b, name="API_TOKEN", value="globex-rotated")
    secret_delete(tenant=tenant_a, name="UNUSED_KEY")
    assert json.loads(aws.secretsmanager_secret_value(name=secret_arns["globex"])) == {"API_TOKEN": "globex-rotated"}
    assert json.loads(aws.secretsmanager_secret_value(name=secret_arns["acme"])) == {"API_TOKEN": "acme-token-value"}
    assert aws.secretsmanager_secret_arn(name=operator_secret_name(tenant=tenant_b)) == secret_arns["globex"]


def test_it_refuses_a_secret_change_it_cannot_publish(moto_server, tenant_a, settings):
    """aws mode with Secrets Manager unreachable: the change is refused and nothing is stored."""
    from django.core.exceptions import ValidationError

    from devstack.procs import free_port
    from tenants.models_secrets import TenantSecret
    from tenants.services_secrets import secret_set, secrets_file_path

    settings.FLOWUI_DEPLOY_MODE = "aws"
    secret_set(tenant=tenant_a, name="API_TOKEN", value="first-value")
    settings.AWS_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(ValidationError, match="could not be stored"):
        secret_set(tenant=tenant_a, name="API_TOKEN", value="second-value")
    assert TenantSecret.objects.get(tenant=tenant_a, name="API_TOKEN").value == "first-value"
    assert json.loads(secrets_file_path(tenant=tenant_a).read_text()) == {"API_TOKEN": "first-value"}


def test_it_creates_each_tenants_job_definitions_at_deploy_and_the_runtime_finds_them_by_name(
    batch_infrastructure, git_repo, tenant_a, tenant_b, settings
):
    """One shared Airflow, two tenants running the same operator version in batch mode: the deploy registers
    each tenant's definition (its role, its access point), and the runtime resolves the DAG's tenant to it."""
    import logging

    from flowui_runtime import contracts
    from flowui_runtime.batch import BatchRunner
    from tenants.models_provisioning import TenantResources
    from workflows.services import workflow_create, workflow_deploy

    settings.FLOWUI_DEPLOY_MODE = "aws"
    kwargs = batch_infrastructure["kwargs"]
    iam, efs = boto3.client("iam", **kwargs), boto3.client("efs", **kwargs)
    for tenant in (tenant_a, tenant_b):
        role = iam.create_role(RoleName=f"{tenant.schema_name}-deploy-job", AssumeRolePolicyDocument="{}")
        point = efs.create_access_point(
            FileSystemId=settings.FLOWUI_EFS_FILE_SYSTEM_ID, RootDirectory={"Path": f"/{tenant.schema_name}"}
        )
        TenantResources.objects.update_or_create(
            tenant=tenant, defaults={"role_arn": role["Role"]["Arn"], "access_point_id": point["AccessPointId"]}
        )
    path, _ = git_repo(operator_files("shout", metadata=good_metadata("shout", "1.4.0")))
    repository = services.repository_create(slug="ops", name="Ops", url=f"file://{path}")
    services.repository_sync_now(repository=repository)
    spec = {"nodes": [{"id": "a", "operator": {"repository": "ops", "name": "shout", "version": "1.4.0"},
                       "inputs": {"text": {"value": "hi"}}, "execution_mode": "batch"}], "edges": []}  # fmt: skip

    batch = boto3.client("batch", **kwargs)
    for tenant in (tenant_a, tenant_b):
        with tenant_context(tenant):
            workflow = workflow_create(user=None, name="Batch shout", spec=spec)
            workflow_deploy(tenant=tenant, workflow=workflow, user=None)
        resources = TenantResources.objects.get(tenant=tenant)
        task = contracts.TaskSpec.model_validate(
            {"task_id": "a", "operator": {"repository": "ops", "name": "shout", "version": "1.4.0", "commit": "c"},
             "execution_mode": "batch"}
        )  # fmt: skip
        runner = BatchRunner(spec=task, storage_root=tenant_storage_root(tenant=tenant), log=logging.getLogger("t"),
                             tenant=tenant.schema_name)  # fmt: skip
        definition_name, queue_name = runner.job_target()
        assert definition_name == f"flowui-{tenant.schema_name}-shout_1_4_0"
        definition = batch.describe_job_definitions(jobDefinitionName=definition_name, status="ACTIVE")
        container = definition["jobDefinitions"][0]["containerProperties"]
        assert container["jobRoleArn"] == resources.role_arn
        efs_config = container["volumes"][0]["efsVolumeConfiguration"]
        assert efs_config["authorizationConfig"]["accessPointId"] == resources.access_point_id
        assert batch.describe_job_queues(jobQueues=[queue_name])["jobQueues"][0]["jobQueueName"] == queue_name
    assert BatchJobDefinition.objects.filter(operator_version__name="shout").count() == 2
