from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


class InputModel(BaseModel):
    direction: Literal["upload", "download"] = Field(
        description="'upload': storage -> S3; 'download': S3 -> this task's run folder."
    )
    s3_uri: str = Field(
        pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$",
        description=(
            "s3://bucket/key for one object, or s3://bucket/prefix/ (ending with '/') for every object under a "
            "prefix; an uploaded folder always goes under a prefix."
        ),
    )
    local_path: str = Field(
        default="",
        description=(
            "Upload: the file or folder to send, a path in the tenant storage (e.g. an upstream output). "
            "Download: file or folder name inside the run folder (empty: the object's name, or 'download')."
        ),
    )
    region: str = Field(default="", description="AWS region (empty: AWS_DEFAULT_REGION, else us-east-1).")
    max_objects: int = Field(default=10_000, ge=1, le=1_000_000, description="Most objects a prefix may hold.")


class SecretsModel(BaseModel):
    aws_access_key_id: str | None = Field(
        default=None, description="Access key; empty: the default AWS credential chain (e.g. the job's role)."
    )
    aws_secret_access_key: str | None = Field(default=None, description="Secret key paired with the access key.")


class OutputModel(BaseModel):
    local_path: Path | None = Field(default=None, description="Downloaded file or folder (downloads only).")
    s3_uri: str = Field(description="The object, or the prefix for several objects.")
    keys: list[str] = Field(description="S3 keys transferred (at most 1000 listed).")
    object_count: int = Field(description="Objects transferred.")
    total_bytes: int = Field(description="Bytes transferred.")
