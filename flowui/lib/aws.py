"""The one place that builds boto3 clients: real AWS in production, moto_server in tests.

`AWS_ENDPOINT_URL` (setting) points every client at one endpoint. Errors from AWS become `AwsError`;
an unreachable endpoint becomes `AwsUnavailable`, with the operation named in the message.
Functions per service live below (append; keep each one thin and idempotent).
"""

from __future__ import annotations

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
