"""Load a CSV/JSON dataset from tenant storage, an http(s) URL or S3 and store it as CSV in the run folder."""

import io
import json
import os
import urllib.parse
import urllib.request
from pathlib import Path

import pandas as pd
from flowui_runtime.types import storage_file_resolve

from model import InputModel, OutputModel

MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024


def operator_function(input_model: InputModel) -> OutputModel:
    raw, name = _fetch(input_model.source, timeout_s=input_model.timeout_s)
    data_format = input_model.format if input_model.format != "auto" else _format_from_name(name)
    frame = _parse(raw, data_format, delimiter=input_model.delimiter, max_rows=input_model.max_rows)
    if input_model.max_rows is not None:
        frame = frame.head(input_model.max_rows)
    target = Path(os.environ.get("FLOWUI_RUN_DIR") or os.getcwd()) / input_model.output_name
    frame.to_csv(target, index=False)
    return OutputModel(
        dataset_path=target.resolve(),
        row_count=len(frame),
        column_count=len(frame.columns),
        column_names=[str(column) for column in frame.columns],
    )


def _fetch(source: str, *, timeout_s: float) -> tuple[bytes, str]:
    parsed = urllib.parse.urlparse(source)
    if parsed.scheme in ("http", "https"):
        request = urllib.request.Request(source, headers={"User-Agent": "flowui-load-dataset/1"})
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - scheme checked above
                body = response.read(MAX_DOWNLOAD_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise ValueError(f"downloading {source} failed: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise ValueError(f"downloading {source} failed: {getattr(exc, 'reason', exc)}") from None
        if len(body) > MAX_DOWNLOAD_BYTES:
            raise ValueError(f"{source} is larger than {MAX_DOWNLOAD_BYTES // (1024 * 1024)} MiB")
        return body, parsed.path
    if parsed.scheme == "s3":
        return _fetch_s3(parsed.netloc, parsed.path.lstrip("/")), parsed.path
    if parsed.scheme and len(parsed.scheme) > 1:
        raise ValueError(f"unsupported source {source!r}: use a storage path, http(s):// or s3://")
    path = storage_file_resolve(source)
    return path.read_bytes(), path.name


def _fetch_s3(bucket: str, key: str) -> bytes:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    if not bucket or not key:
        raise ValueError("an S3 source must look like s3://bucket/key")
    client = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
    try:
        return client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise ValueError(f"reading s3://{bucket}/{key} failed: {error.get('Code')}: {error.get('Message')}") from None
    except BotoCoreError as exc:
        raise ValueError(f"reading s3://{bucket}/{key} failed: {exc}") from None


def _format_from_name(name: str) -> str:
    lowered = name.lower()
    if lowered.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if lowered.endswith(".json"):
        return "json"
    return "csv"


def _parse(raw: bytes, data_format: str, *, delimiter: str, max_rows: int | None) -> pd.DataFrame:
    try:
        if data_format == "csv":
            return pd.read_csv(io.BytesIO(raw), sep=delimiter, nrows=max_rows)
        if data_format == "jsonl":
            return pd.json_normalize([json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()])
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ValueError(f"the data is not valid {data_format.upper()}: {exc}") from None
    if isinstance(data, dict):
        # {"data": [...]} / {"records": [...]}: the first list of objects is the table.
        lists = [value for value in data.values() if isinstance(value, list)]
        data = lists[0] if lists else [data]
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ValueError("JSON data must be a list of objects (or an object holding one)")
    return pd.json_normalize(data)
