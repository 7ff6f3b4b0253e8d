"""Upload a file or folder from tenant storage to S3, or download an object or prefix into the run folder.
The endpoint comes from AWS_ENDPOINT_URL when set (S3-compatible stores, tests against moto)."""

import os
from pathlib import Path, PurePosixPath

import boto3
from boto3.exceptions import Boto3Error
from botocore.exceptions import BotoCoreError, ClientError
from flowui_runtime.types import storage_path_resolve

from model import InputModel, OutputModel, SecretsModel

LISTED_KEYS = 1000


def operator_function(input_model: InputModel, secrets: SecretsModel) -> OutputModel:
    bucket, _, key = input_model.s3_uri[len("s3://") :].partition("/")
    client = _client(input_model, secrets)
    try:
        if input_model.direction == "upload":
            return _upload(client, bucket, key, input_model)
        return _download(client, bucket, key, input_model)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise RuntimeError(
            f"S3 {input_model.direction} of {input_model.s3_uri} failed: "
            f"{error.get('Code', 'Error')}: {error.get('Message', '')}"
        ) from None
    except (BotoCoreError, Boto3Error) as exc:
        raise RuntimeError(f"S3 {input_model.direction} of {input_model.s3_uri} failed: {exc}") from None


def _client(input_model: InputModel, secrets: SecretsModel):
    kwargs = {"region_name": input_model.region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"}
    if os.environ.get("AWS_ENDPOINT_URL"):
        kwargs["endpoint_url"] = os.environ["AWS_ENDPOINT_URL"]
    if secrets.aws_access_key_id:
        kwargs["aws_access_key_id"] = secrets.aws_access_key_id
        kwargs["aws_secret_access_key"] = secrets.aws_secret_access_key
    return boto3.client("s3", **kwargs)


def _upload(client, bucket: str, key: str, input_model: InputModel) -> OutputModel:
    if not input_model.local_path:
        raise ValueError("an upload needs local_path: the file or folder to send")
    source = storage_path_resolve(input_model.local_path)
    prefix = key if key.endswith("/") or not key else key + "/"
    if source.is_file():
        files = [(source, key if key and not key.endswith("/") else prefix + source.name)]
    elif source.is_dir():
        files = [
            (path, prefix + path.relative_to(source).as_posix()) for path in sorted(source.rglob("*")) if path.is_file()
        ]
        if len(files) > input_model.max_objects:
            raise ValueError(f"{input_model.local_path} holds {len(files)} files, more than max_objects")
    else:
        raise ValueError(f"no such file or folder in storage: {input_model.local_path}")
    total = 0
    for path, object_key in files:
        client.upload_file(str(path), bucket, object_key)
        total += path.stat().st_size
    uri = f"s3://{bucket}/{files[0][1] if source.is_file() else prefix}"
    return OutputModel(s3_uri=uri, keys=[k for _, k in files][:LISTED_KEYS], object_count=len(files), total_bytes=total)


def _download(client, bucket: str, key: str, input_model: InputModel) -> OutputModel:
    run_dir = Path(os.environ.get("FLOWUI_RUN_DIR") or os.getcwd()).resolve()
    if key and not key.endswith("/"):
        name = input_model.local_path or PurePosixPath(key).name or "download"
        target = _inside(run_dir, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        client.download_file(bucket, key, str(target))
        return OutputModel(
            local_path=target,
            s3_uri=input_model.s3_uri,
            keys=[key],
            object_count=1,
            total_bytes=target.stat().st_size,
        )
    objects = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
        objects.extend(item for item in page.get("Contents", []) if not item["Key"].endswith("/"))
        if len(objects) > input_model.max_objects:
            raise ValueError(f"{input_model.s3_uri} holds more than {input_model.max_objects} objects")
    if not objects:
        raise ValueError(f"no objects under {input_model.s3_uri}")
    folder = _inside(run_dir, input_model.local_path or "download")
    total = 0
    for item in objects:
        target = _inside(folder, item["Key"][len(key) :])
        target.parent.mkdir(parents=True, exist_ok=True)
        client.download_file(bucket, item["Key"], str(target))
        total += item["Size"]
    return OutputModel(
        local_path=folder,
        s3_uri=input_model.s3_uri,
        keys=[item["Key"] for item in objects][:LISTED_KEYS],
        object_count=len(objects),
        total_bytes=total,
    )


def _inside(folder: Path, relative: str) -> Path:
    """Object keys and names may hold '..': nothing is written outside the folder."""
    target = (folder / relative).resolve()
    if target == folder or folder not in target.parents:
        raise ValueError(f"{relative!r} would be written outside the run folder")
    return target
