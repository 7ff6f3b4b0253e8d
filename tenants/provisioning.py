"""The steps of a tenant's provisioning pipeline. Each one is idempotent: it looks up what it would create
(by name/tag, or by the ids stored earlier) and creates only what is missing. The pipeline itself
(order, state, retry) is run by tenants.services; this module does the work of each step.

Steps, in order:
- schema:        the tenant's PostgreSQL schema (done when the tenant row is created; recorded here)
- storage:       VOLUME_MOUNT_PATH_HOST/<schema>/ with the design's folders (the EFS mount in aws mode), the sample
                 datasets (dataset/samples/, datasets.services.samples_install), and the tenant's DAG folder
                 FLOWUI_DAGS_DIR/<schema>/ (platform-only, outside the storage root)
- bucket:        (aws) the tenant's S3 bucket: encrypted, public access blocked, lifecycle rule
- access_point:  (aws) an EFS access point rooted at /<schema>, with the tenant's own POSIX uid/gid
- role:          (aws) the IAM role of the tenant's Batch jobs, reaching only that bucket and access point
- kubernetes:    (FLOWUI_K8S_ENABLED) the tenant's PersistentVolumeClaim and Secret that its kubernetes-mode
                 pods mount and reference (flowui_runtime.kubernetes names and builds them)
- airflow:       shared (DAG folder, DAG id prefix) or dedicated (URL and credentials answer)
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from django.conf import settings
from django_tenants.utils import schema_exists

from flowui.lib import aws
from flowui.lib.airflow import AirflowError
from flowui_runtime.contracts import STORAGE_FOLDERS
from tenants.models import Tenant, TenantResources
from tenants.selectors import (
    tenant_airflow,
    tenant_dag_id_prefix,
    tenant_dags_folder,
    tenant_shared_dags_folder,
    tenant_storage_root,
)
from tenants.services_secrets import secrets_publish

STEP_SCHEMA = "schema"
STEP_STORAGE = "storage"
STEP_BUCKET = "bucket"
STEP_ACCESS_POINT = "access_point"
STEP_ROLE = "role"
STEP_AIRFLOW = "airflow"
STEP_KUBERNETES = "kubernetes"

LOCAL_STEPS = (STEP_SCHEMA, STEP_STORAGE, STEP_AIRFLOW)
AWS_STEPS = (STEP_SCHEMA, STEP_STORAGE, STEP_BUCKET, STEP_ACCESS_POINT, STEP_ROLE, STEP_AIRFLOW)

ROLE_POLICY_NAME = "flowui-tenant-storage"
# Run results archived by housekeeping live under runs/ in the bucket: cheaper storage after 30 days.
BUCKET_LIFECYCLE_RULES = [
    {
        "ID": "flowui-archived-runs",
        "Filter": {"Prefix": "runs/"},
        "Status": "Enabled",
        "Transitions": [{"Days": 30, "StorageClass": "STANDARD_IA"}],
    },
    {
        "ID": "flowui-abort-incomplete-uploads",
        "Filter": {"Prefix": ""},
        "Status": "Enabled",
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
    },
]


class StepError(Exception):
    """A step cannot complete; the message says why (shown in the admin)."""


def steps_for_mode(mode: str) -> tuple[str, ...]:
    steps = AWS_STEPS if mode == "aws" else LOCAL_STEPS
    if settings.FLOWUI_K8S_ENABLED:  # the tenant's PVC and Secret, before Airflow may run its pods
        steps = (*steps[:-1], STEP_KUBERNETES, steps[-1])
    return steps


# --- names ------------------------------------------------------------------------------------
def _slug(value: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", value.lower())).strip("-")


def bucket_name_for(schema_name: str) -> str:
    """`<project>-<schema>`: 3-63 lower-case letters, digits and '-'; long names keep a hash suffix so two
    tenants never share one."""
    name = _slug(f"{settings.PROJECT_NAME}-{schema_name}")
    if len(name) > 63:
        digest = hashlib.sha256(schema_name.encode()).hexdigest()[:8]
        name = f"{name[:54].rstrip('-')}-{digest}"
    if len(name) < 3:
        name = f"{name}-tenant"
    return name


def role_name_for(schema_name: str) -> str:
    name = f"{_slug(settings.PROJECT_NAME)}-{schema_name.replace('_', '-')}-batch-job"
    if len(name) > 64:
        digest = hashlib.sha256(schema_name.encode()).hexdigest()[:8]
        name = f"{name[:55].rstrip('-')}-{digest}"
    return name


def access_point_name_for(schema_name: str) -> str:
    return f"{_slug(settings.PROJECT_NAME)}-{schema_name}"


def resource_tags(tenant: Tenant) -> dict[str, str]:
    return {"flowui:project": settings.PROJECT_NAME, "flowui:tenant": tenant.schema_name}


def posix_ids_for(tenant: Tenant) -> tuple[int, int]:
    """Unique per tenant (the tenant's primary key is), stable across re-runs."""
    value = settings.FLOWUI_TENANT_POSIX_ID_BASE + tenant.pk
    return value, value


def role_policy_for(*, bucket_arn: str, access_point_arn: str, file_system_arn: str, secret_arn: str = "") -> dict:
    """Only this tenant's bucket, through its access point only the shared file system, and (read) its operator
    secrets in Secrets Manager (the role is also its Batch jobs' execution role, which resolves them)."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "TenantBucketList", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [bucket_arn]},
            {
                "Sid": "TenantBucketObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": [f"{bucket_arn}/*"],
            },
            {
                "Sid": "TenantAccessPoint",
                "Effect": "Allow",
                "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
                "Resource": [file_system_arn],
                "Condition": {"StringEquals": {"elasticfilesystem:AccessPointArn": access_point_arn}},
            },
        ],
    }
    if secret_arn:
        policy["Statement"].append(
            {
                "Sid": "TenantOperatorSecrets",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": [secret_arn],
            }
        )
    return policy


BATCH_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


# --- the steps --------------------------------------------------------------------------------
def run_schema(tenant: Tenant, resources: TenantResources) -> dict:
    if not schema_exists(tenant.schema_name):
        raise StepError(f"schema {tenant.schema_name!r} does not exist")
    return {"schema": tenant.schema_name}


def posix_ids_ensure(tenant: Tenant, resources: TenantResources) -> tuple[int, int]:
    if resources.posix_uid is None:
        resources.posix_uid, resources.posix_gid = posix_ids_for(tenant)
        resources.save(update_fields=["posix_uid", "posix_gid", "updated_at"])
    return resources.posix_uid, resources.posix_gid


def run_storage(tenant: Tenant, resources: TenantResources) -> dict:
    root = tenant_storage_root(tenant=tenant)
    dags = tenant_dags_folder(tenant=tenant)
    owner = None
    try:
        for folder in STORAGE_FOLDERS:
            (root / folder).mkdir(parents=True, exist_ok=True)
        if resources.deploy_mode == "aws":
            # On EFS the tenant's jobs act as its POSIX user (enforced by its access point): the folders the
            # platform made must be theirs. Folders below them are left alone (the jobs' own files).
            owner = posix_ids_ensure(tenant, resources)
            for path in [root, *(root / f for f in STORAGE_FOLDERS), root / "airflow"]:
                os.chown(path, *owner)
    except OSError as exc:
        raise StepError(f"cannot prepare the storage folders under {root}: {exc.strerror or exc}") from None
    # dataset/samples/: so a first load -> filter -> chart workflow runs without an upload (kept if present).
    # datasets sits above tenants (it uses the results' header rules): imported here, at run time only.
    from datasets.selectors import DatasetError  # cycle: datasets imports tenants (the one upward import)
    from datasets.services import samples_install  # cycle: datasets imports tenants (the one upward import)

    try:
        samples = samples_install(tenant=tenant)
    except (OSError, DatasetError) as exc:
        raise StepError(f"cannot copy the sample datasets under {root}: {exc}") from None
    if dags == tenant_shared_dags_folder(tenant=tenant):
        # The platform's own folder (a dedicated Airflow's folder is made by the airflow step): never chowned to
        # the tenant, never inside its storage root.
        try:
            dags.mkdir(mode=0o755, parents=True, exist_ok=True)
        except OSError as exc:
            raise StepError(f"cannot create the DAG folder {dags}: {exc.strerror or exc}") from None
    try:  # the platform-only secrets file Airflow reads for local-mode tasks (outside the storage root)
        secrets_file = secrets_publish(tenant=tenant, aws_mode=False)["secrets_file"]
    except OSError as exc:
        raise StepError(f"cannot write the tenant's secrets file: {exc.strerror or exc}") from None
    resources.storage_root = str(root)
    resources.save(update_fields=["storage_root", "updated_at"])
    return {
        "storage_root": str(root),
        "folders": list(STORAGE_FOLDERS),
        "dags_folder": str(dags),
        "owner": list(owner) if owner else None,
        "secrets_file": secrets_file,
        "samples": samples,
    }


def run_bucket(tenant: Tenant, resources: TenantResources) -> dict:
    name = resources.bucket_name or bucket_name_for(tenant.schema_name)
    result = aws.s3_bucket_ensure(name=name, tags=resource_tags(tenant), lifecycle_rules=BUCKET_LIFECYCLE_RULES)
    resources.bucket_name, resources.bucket_arn = result["name"], result["arn"]
    resources.save(update_fields=["bucket_name", "bucket_arn", "updated_at"])
    return result


def run_access_point(tenant: Tenant, resources: TenantResources) -> dict:
    file_system_id = settings.FLOWUI_EFS_FILE_SYSTEM_ID
    if not file_system_id:
        raise StepError("FLOWUI_EFS_FILE_SYSTEM_ID is not set: the platform's EFS file system is needed in aws mode")
    posix_ids_ensure(tenant, resources)
    result = aws.efs_access_point_ensure(
        file_system_id=file_system_id,
        name=access_point_name_for(tenant.schema_name),
        root_path=f"/{tenant.schema_name}",
        uid=resources.posix_uid,
        gid=resources.posix_gid,
        tags=resource_tags(tenant),
    )
    resources.efs_file_system_id = file_system_id
    resources.access_point_id, resources.access_point_arn = result["id"], result["arn"]
    resources.save(update_fields=["efs_file_system_id", "access_point_id", "access_point_arn", "updated_at"])
    return result


def run_role(tenant: Tenant, resources: TenantResources) -> dict:
    if not (resources.bucket_arn and resources.access_point_arn):
        raise StepError("the bucket and the access point must exist before the role")
    # The tenant's operator secrets (Secrets Manager), current values: its Batch job definitions reference it.
    secret_arn = secrets_publish(tenant=tenant, aws_mode=True)["secret_arn"]
    policy = role_policy_for(
        bucket_arn=resources.bucket_arn,
        access_point_arn=resources.access_point_arn,
        file_system_arn=aws.efs_file_system_arn(file_system_id=resources.efs_file_system_id),
        secret_arn=secret_arn,
    )
    result = aws.iam_role_ensure(
        name=resources.role_name or role_name_for(tenant.schema_name),
        trust_policy=BATCH_TRUST_POLICY,
        inline_policy_name=ROLE_POLICY_NAME,
        inline_policy=policy,
        tags=resource_tags(tenant),
    )
    resources.role_name, resources.role_arn = result["name"], result["arn"]
    resources.save(update_fields=["role_name", "role_arn", "updated_at"])
    return {**result, "policy": ROLE_POLICY_NAME, "operator_secret_arn": secret_arn}


def run_airflow(tenant: Tenant, resources: TenantResources) -> dict:
    dags = tenant_dags_folder(tenant=tenant)
    if tenant.airflow_mode != Tenant.AirflowMode.DEDICATED:
        try:
            Path(dags).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StepError(f"cannot create the DAG folder {dags}: {exc.strerror or exc}") from None
        return {"mode": "shared", "dags_folder": str(dags), "dag_id_prefix": tenant_dag_id_prefix(tenant=tenant)}
    if not tenant.airflow_url:
        raise StepError("a dedicated Airflow needs its URL (airflow_url)")
    client = tenant_airflow(tenant=tenant)
    try:
        health = client.health()
        client.token(refresh=True)  # the stored credentials are accepted
    except AirflowError as exc:
        raise StepError(f"the dedicated Airflow at {tenant.airflow_url} does not answer: {exc}") from None
    if tenant.airflow_dags_path:
        try:
            Path(dags).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StepError(f"cannot create the dedicated Airflow's DAG folder {dags}: {exc.strerror or exc}") from None
    return {
        "mode": "dedicated",
        "url": tenant.airflow_url,
        "dags_folder": str(dags),
        "dag_id_prefix": tenant_dag_id_prefix(tenant=tenant),
        "metadatabase": (health.get("metadatabase") or {}).get("status", ""),
    }


def run_kubernetes(tenant: Tenant, resources: TenantResources) -> dict:
    """The PVC that build_pod() mounts (created once, never changed) and the Secret its pods reference (its
    data replaced by the tenant's current values). Only the key names are recorded, never the values."""
    from flowui.lib import kubernetes as kube
    from flowui_runtime.kubernetes import tenant_pvc
    from tenants.services_secrets import kubernetes_secret

    pvc = tenant_pvc(
        tenant.schema_name, size=settings.FLOWUI_K8S_PVC_SIZE, storage_class=settings.FLOWUI_K8S_STORAGE_CLASS
    )
    secret = kubernetes_secret(tenant=tenant)
    try:
        api = kube.core_api()
        pvc_state = kube.pvc_ensure(pvc=pvc, api=api)
        secret_state = kube.secret_apply(secret=secret, api=api)
    except kube.KubernetesError as exc:
        raise StepError(str(exc)) from None
    return {
        "namespace": pvc.metadata.namespace,
        "pvc": pvc.metadata.name,
        "pvc_state": pvc_state,
        "secret": secret.metadata.name,
        "secret_keys": sorted(secret.data or {}),
        "secret_state": secret_state,
    }


STEP_FUNCTIONS = {
    STEP_SCHEMA: run_schema,
    STEP_STORAGE: run_storage,
    STEP_BUCKET: run_bucket,
    STEP_ACCESS_POINT: run_access_point,
    STEP_ROLE: run_role,
    STEP_AIRFLOW: run_airflow,
    STEP_KUBERNETES: run_kubernetes,
}
