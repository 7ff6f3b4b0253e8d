"""The one place that builds boto3 clients: real AWS in production, moto_server in tests.

`AWS_ENDPOINT_URL` (setting) points every client at one endpoint. Errors from AWS become `AwsError`;
an unreachable endpoint becomes `AwsUnavailable`, with the operation named in the message.
Functions per service live below (append; keep each one thin and idempotent).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import unquote

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from django.conf import settings


class AwsError(Exception):
    """AWS answered with an error."""


class AwsUnavailable(AwsError):
    """The AWS endpoint cannot be reached."""


_CONFIG = Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 2, "mode": "standard"})


def client(service: str):
    kwargs = {"region_name": settings.AWS_REGION_NAME, "config": _CONFIG}
    if settings.AWS_ENDPOINT_URL:
        kwargs["endpoint_url"] = settings.AWS_ENDPOINT_URL
    if settings.AWS_ACCESS_KEY_ID:
        kwargs["aws_access_key_id"] = settings.AWS_ACCESS_KEY_ID
        kwargs["aws_secret_access_key"] = settings.AWS_SECRET_ACCESS_KEY
    return boto3.client(service, **kwargs)


def translate(operation: str, exc: Exception) -> AwsError:
    """Map a botocore exception to ours, naming the operation."""
    if isinstance(exc, EndpointConnectionError) or (isinstance(exc, BotoCoreError) and "connect" in str(exc).lower()):
        return AwsUnavailable(f"{operation}: AWS endpoint unreachable ({exc})")
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return AwsError(f"{operation}: {error.get('Code', 'Error')}: {error.get('Message', '')}")
    return AwsError(f"{operation}: {exc}")


# --- tenant storage and identity: S3, EFS access points, IAM (tenants.provisioning) -----------------
def _tags_match(tags: list[dict], key: str, value: str) -> bool:
    return any(tag.get("Key") == key and tag.get("Value") == value for tag in tags or [])


def s3_bucket_exists(*, name: str) -> bool:
    try:
        client("s3").head_bucket(Bucket=name)
        return True
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchBucket", "NotFound"}:
            return False
        raise translate(f"s3 head_bucket {name}", exc) from None
    except BotoCoreError as exc:
        raise translate(f"s3 head_bucket {name}", exc) from None


def s3_bucket_ensure(*, name: str, tags: dict[str, str], lifecycle_rules: list[dict]) -> dict:
    """A private bucket: created once, then (idempotently) encryption, public access block, lifecycle, tags."""
    s3 = client("s3")
    created = False
    try:
        if not s3_bucket_exists(name=name):
            kwargs: dict[str, Any] = {"Bucket": name}
            if settings.AWS_REGION_NAME != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": settings.AWS_REGION_NAME}
            try:
                s3.create_bucket(**kwargs)
                created = True
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
                    raise
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}]
            },
        )
        s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": lifecycle_rules})
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})
    except (ClientError, BotoCoreError) as exc:
        raise translate(f"s3 bucket {name}", exc) from None
    return {"name": name, "arn": f"arn:aws:s3:::{name}", "created": created}


def s3_bucket_delete(*, name: str) -> bool:
    """Empty and delete a bucket (every object version). False if it did not exist."""
    if not s3_bucket_exists(name=name):
        return False
    s3 = client("s3")
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
            objects = [
                {"Key": item["Key"], "VersionId": item["VersionId"]}
                for item in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            if objects:
                s3.delete_objects(Bucket=name, Delete={"Objects": objects, "Quiet": True})
        s3.delete_bucket(Bucket=name)
    except (ClientError, BotoCoreError) as exc:
        raise translate(f"s3 delete bucket {name}", exc) from None
    return True


def s3_file_upload(*, bucket: str, key: str, path, sha256: str) -> None:
    """Upload a local file; its sha256 (hex) is kept as object metadata."""
    try:
        client("s3").upload_file(str(path), bucket, key, ExtraArgs={"Metadata": {"sha256": sha256}})
    except (ClientError, BotoCoreError) as exc:
        raise translate(f"s3 upload s3://{bucket}/{key}", exc) from None
    except Exception as exc:  # boto3's transfer manager wraps ClientError in S3UploadFailedError
        raise AwsError(f"s3 upload s3://{bucket}/{key}: {exc}") from None


def s3_object_digest(*, bucket: str, key: str) -> tuple[int, str]:
    """(size, sha256 hex) of an object, computed from its bytes as stored."""
    try:
        body = client("s3").get_object(Bucket=bucket, Key=key)["Body"]
        digest = hashlib.sha256()
        size = 0
        for chunk in iter(lambda: body.read(1024 * 1024), b""):
            digest.update(chunk)
            size += len(chunk)
        return size, digest.hexdigest()
    except (ClientError, BotoCoreError) as exc:
        raise translate(f"s3 get s3://{bucket}/{key}", exc) from None


def s3_keys(*, bucket: str, prefix: str = "") -> list[str]:
    try:
        keys: list[str] = []
        for page in client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return keys
    except (ClientError, BotoCoreError) as exc:
        raise translate(f"s3 list s3://{bucket}/{prefix}", exc) from None


def efs_file_system_arn(*, file_system_id: str) -> str:
    try:
        systems = client("efs").describe_file_systems(FileSystemId=file_system_id)["FileSystems"]
    except (ClientError, BotoCoreError) as exc:
        raise translate(f"efs describe file system {file_system_id}", exc) from None
    if not systems:
        raise AwsError(f"efs describe file system {file_system_id}: not found")
    return systems[0]["FileSystemArn"]


def efs_access_point_find(*, file_system_id: str, name: str) -> dict | None:
    """The access point tagged Name=`name` on the file system, if any."""
    efs = client("efs")
    try:
        kwargs = {"FileSystemId": file_system_id}
        while True:
            page = efs.describe_access_points(**kwargs)
            for point in page.get("AccessPoints", []):
                if _tags_match(point.get("Tags", []), "Name", name) and point.get("LifeCycleState") != "deleted":
                    return point
            if not page.get("NextToken"):
                return None
            kwargs["NextToken"] = page["NextToken"]
    except (ClientError, BotoCoreError) as exc:
        raise translate(f"efs describe access points of {file_system_id}", exc) from None


def efs_access_point_ensure(
    *, file_system_id: str, name: str, root_path: str, uid: int, gid: int, tags: dict[str, str]
) -> dict:
    """An access point rooted at `root_path`, every request as uid/gid. Looked up by its Name tag first."""
    point = efs_access_point_find(file_system_id=file_system_id, name=name)
    created = False
    if point is None:
        try:
            point = client("efs").create_access_point(
                ClientToken=name[:64],
                FileSystemId=file_system_id,
                PosixUser={"Uid": uid, "Gid": gid},
                RootDirectory={
                    "Path": root_path,
                    "CreationInfo": {"OwnerUid": uid, "OwnerGid": gid, "Permissions": "0750"},
                },
                Tags=[{"Key": "Name", "Value": name}] + [{"Key": k, "Value": v} for k, v in tags.items()],
            )
            created = True
        except (ClientError, BotoCoreError) as exc:
            raise translate(f"efs create access point {name}", exc) from None
    return {
        "id": point["AccessPointId"],
        "arn": point["AccessPointArn"],
        "file_system_id": file_system_id,
        "root_path": point.get("RootDirectory", {}).get("Path", root_path),
        "uid": point.get("PosixUser", {}).get("Uid", uid),
        "gid": point.get("PosixUser", {}).get("Gid", gid),
        "created": created,
    }


def efs_access_point_delete(*, access_point_id: str) -> bool:
    try:
        client("efs").delete_access_point(AccessPointId=access_point_id)
        return True
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "AccessPointNotFound":
            return False
        raise translate(f"efs delete access point {access_point_id}", exc) from None
    except BotoCoreError as exc:
        raise translate(f"efs delete access point {access_point_id}", exc) from None


def iam_role_ensure(
    *, name: str, trust_policy: dict, inline_policy_name: str, inline_policy: dict, tags: dict[str, str]
) -> dict:
    """A role (looked up by name first) with exactly one inline policy `inline_policy_name`, (re)written."""
    iam = client("iam")
    created = False
    try:
        try:
            role = iam.get_role(RoleName=name)["Role"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchEntity":
                raise
            role = iam.create_role(
                RoleName=name,
                AssumeRolePolicyDocument=json.dumps(trust_policy),
                Description="FlowUI: a tenant's Batch jobs",
                Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
            )["Role"]
            created = True
        iam.put_role_policy(RoleName=name, PolicyName=inline_policy_name, PolicyDocument=json.dumps(inline_policy))
    except (ClientError, BotoCoreError) as exc:
        raise translate(f"iam role {name}", exc) from None
    return {"name": name, "arn": role["Arn"], "created": created}


def iam_role_policy(*, name: str, policy_name: str) -> dict:
    """The inline policy document of a role, as a dict."""
    try:
        document = client("iam").get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
    except (ClientError, BotoCoreError) as exc:
        raise translate(f"iam get role policy {name}/{policy_name}", exc) from None
    return json.loads(unquote(document)) if isinstance(document, str) else document


def iam_role_delete(*, name: str) -> bool:
    iam = client("iam")
    try:
        try:
            policies = iam.list_role_policies(RoleName=name)["PolicyNames"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchEntity":
                return False
            raise
        for policy in policies:
            iam.delete_role_policy(RoleName=name, PolicyName=policy)
        iam.delete_role(RoleName=name)
        return True
    except (ClientError, BotoCoreError) as exc:
        raise translate(f"iam delete role {name}", exc) from None


# --- AWS Batch (registry: one job definition per operator version and tenant, one job queue per tenant) ---
def batch_job_queue_ensure(*, name: str, compute_environment: str) -> str:
    """The ARN of the job queue `name`, created on `compute_environment` (name or ARN) when missing."""
    batch = client("batch")
    try:
        for queue in batch.describe_job_queues(jobQueues=[name]).get("jobQueues", []):
            if queue.get("status") not in ("DELETING", "DELETED"):
                return queue["jobQueueArn"]
        return batch.create_job_queue(
            jobQueueName=name,
            state="ENABLED",
            priority=1,
            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": compute_environment}],
        )["jobQueueArn"]
    except (ClientError, BotoCoreError) as exc:
        raise translate(f"batch job queue {name}", exc) from None


def batch_job_definition_register(
    *,
    name: str,
    image: str,
    vcpus: float,
    memory_mb: int,
    gpus: int,
    job_role_arn: str,
    efs_file_system_id: str,
    efs_access_point_id: str,
    container_path: str,
    environment: dict[str, str] | None = None,
    secrets: dict[str, str] | None = None,
    execution_role_arn: str = "",
    tags: dict[str, str] | None = None,
) -> str:
    """Register (a new revision of) a container job definition with the tenant's EFS access point mounted at
    `container_path` and the tenant's job role. `secrets` maps environment names to `valueFrom` references
    (Secrets Manager ARN[:json-key::]), resolved by ECS with `execution_role_arn` when the job starts, so values
    never appear in the definition. Returns its ARN."""
    resources = [
        {"type": "VCPU", "value": f"{vcpus:g}"},
        {"type": "MEMORY", "value": str(int(memory_mb))},
    ]
    if gpus:
        resources.append({"type": "GPU", "value": str(int(gpus))})
    container = {
        "image": image,
        "resourceRequirements": resources,
        "jobRoleArn": job_role_arn,
        "volumes": [
            {
                "name": "tenant-storage",
                "efsVolumeConfiguration": {
                    "fileSystemId": efs_file_system_id,
                    "transitEncryption": "ENABLED",
                    "authorizationConfig": {"accessPointId": efs_access_point_id, "iam": "ENABLED"},
                },
            }
        ],
        "mountPoints": [{"sourceVolume": "tenant-storage", "containerPath": container_path, "readOnly": False}],
        "environment": [{"name": k, "value": v} for k, v in sorted((environment or {}).items())],
    }
    if secrets:
        container["secrets"] = [{"name": k, "valueFrom": v} for k, v in sorted(secrets.items())]
    if execution_role_arn:
        container["executionRoleArn"] = execution_role_arn
    try:
        return client("batch").register_job_definition(
            jobDefinitionName=name,
            type="container",
            containerProperties=container,
            tags=tags or {},
        )["jobDefinitionArn"]
    except (ClientError, BotoCoreError) as exc:
        raise translate(f"batch register job definition {name}", exc) from None


# --- Secrets Manager (tenants.services_secrets: one secret per tenant, JSON of its operator secrets) -------
def _secrets_manager_missing(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException"


def secretsmanager_secret_arn(*, name: str) -> str | None:
    """The ARN of the secret `name`, or None when there is none (or it is scheduled for deletion)."""
    try:
        described = client("secretsmanager").describe_secret(SecretId=name)
    except ClientError as exc:
        if _secrets_manager_missing(exc):
            return None
        raise translate(f"secretsmanager describe secret {name}", exc) from None
    except BotoCoreError as exc:
        raise translate(f"secretsmanager describe secret {name}", exc) from None
    if described.get("DeletedDate"):
        return None
    return described["ARN"]


def secretsmanager_secret_put(*, name: str, value: str, tags: dict[str, str]) -> dict:
    """Create the secret `name` with `value` (a string), or store `value` as its new version. Its ARN does
    not change between versions, so job definitions can keep referencing it."""
    manager = client("secretsmanager")
    try:
        arn = secretsmanager_secret_arn(name=name)
        if arn is None:
            arn = manager.create_secret(
                Name=name, SecretString=value, Description="FlowUI: a tenant's operator secrets (JSON)",
                Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
            )["ARN"]  # fmt: skip
            return {"name": name, "arn": arn, "created": True}
        manager.put_secret_value(SecretId=arn, SecretString=value)
    except (ClientError, BotoCoreError) as exc:
        raise translate(f"secretsmanager put secret {name}", exc) from None
    return {"name": name, "arn": arn, "created": False}


def secretsmanager_secret_value(*, name: str) -> str:
    try:
        return client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
    except (ClientError, BotoCoreError) as exc:
        raise translate(f"secretsmanager get secret value {name}", exc) from None


def secretsmanager_secret_delete(*, name: str) -> bool:
    """Delete the secret at once (no recovery window). False if it did not exist."""
    try:
        client("secretsmanager").delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
        return True
    except ClientError as exc:
        if _secrets_manager_missing(exc):
            return False
        raise translate(f"secretsmanager delete secret {name}", exc) from None
    except BotoCoreError as exc:
        raise translate(f"secretsmanager delete secret {name}", exc) from None
