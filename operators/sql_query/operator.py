"""Run a SQL query on PostgreSQL through psycopg 3 and write the result rows as CSV or Parquet."""

import csv
import datetime
import json
import os
import uuid
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq

from model import InputModel, OutputModel, SecretsModel

BATCH_ROWS = 10_000
CONNECT_TIMEOUT_S = 15


def operator_function(input_model: InputModel, secrets: SecretsModel) -> OutputModel:
    run_dir = Path(os.environ.get("FLOWUI_RUN_DIR") or os.getcwd())
    target = run_dir / (input_model.output_name or f"result.{input_model.output_format}")
    try:
        connection = psycopg.connect(
            secrets.postgres_url,
            connect_timeout=CONNECT_TIMEOUT_S,
            options=f"-c statement_timeout={input_model.timeout_s * 1000}",
        )
    except (psycopg.Error, ValueError) as exc:  # psycopg's messages name host and database, never the password
        raise RuntimeError(f"cannot connect to PostgreSQL with the postgres_url secret: {_reason(exc)}") from None
    try:
        connection.read_only = input_model.read_only
        with connection.cursor() as cursor:
            try:
                cursor.execute(input_model.query, input_model.params or None)
            except psycopg.Error as exc:
                raise ValueError(f"the query failed: {_reason(exc)}") from None
            if cursor.description is None:
                raise ValueError("the query returned no rows to write (sql_query runs queries that return rows)")
            columns = [column.name for column in cursor.description]
            rows = cursor.fetchmany(input_model.max_rows + 1)
        connection.rollback()  # nothing is committed, even with read_only off the query's changes stay undone
    finally:
        connection.close()
    truncated = len(rows) > input_model.max_rows
    rows = rows[: input_model.max_rows]
    if input_model.output_format == "parquet":
        _write_parquet(target, columns, rows)
    else:
        _write_csv(target, columns, rows)
    return OutputModel(dataset_path=target, row_count=len(rows), column_names=columns, truncated=truncated)


def _reason(exc: Exception) -> str:
    diag = getattr(exc, "diag", None)
    lines = str(exc).strip().splitlines()
    text = getattr(diag, "message_primary", None) or (lines[0] if lines else exc.__class__.__name__)
    sqlstate = getattr(exc, "sqlstate", None)
    return f"{text} (SQLSTATE {sqlstate})" if sqlstate else text


def _text(value):
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    return value


def _write_csv(target: Path, columns: list[str], rows: list[tuple]) -> None:
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_text(value) for value in row])


def _arrow_value(value):
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def _write_parquet(target: Path, columns: list[str], rows: list[tuple]) -> None:
    arrays = []
    for index, name in enumerate(columns):
        values = [_arrow_value(row[index]) for row in rows]
        try:
            arrays.append(pa.array(values))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            arrays.append(pa.array([None if v is None else str(v) for v in values], type=pa.string()))
            print(f"sql_query: column {name!r} has mixed or unsupported types; written as text")
    pq.write_table(pa.Table.from_arrays(arrays, names=_unique(columns)), target)


def _unique(columns: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    names = []
    for name in columns:
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return names
