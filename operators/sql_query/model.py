from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

Scalar = str | int | float | bool | None


class InputModel(BaseModel):
    query: str = Field(
        min_length=1,
        max_length=100_000,
        description="The SQL query; named parameters are written %(name)s and given in params (never paste values "
        "into the query text).",
        json_schema_extra={"widget": "code", "language": "sql"},
    )
    params: dict[str, Scalar] = Field(
        default_factory=dict, description='Values of the query\'s %(name)s parameters, e.g. {"region": "north"}.'
    )
    output_format: Literal["csv", "parquet"] = Field(default="csv", description="Format of the result file.")
    output_name: str = Field(
        default="",
        pattern=r"^$|^[A-Za-z0-9_][A-Za-z0-9_.-]{0,120}$",
        description="Name of the result file in the run folder; empty: result.csv or result.parquet.",
    )
    max_rows: int = Field(
        default=1_000_000, ge=1, le=50_000_000, description="Most rows written; more are left out (truncated)."
    )
    read_only: bool = Field(
        default=True, description="Run in a read-only transaction (INSERT/UPDATE/DELETE/DDL are refused)."
    )
    timeout_s: int = Field(default=300, ge=1, le=86_400, description="Statement timeout, in seconds.")


class SecretsModel(BaseModel):
    postgres_url: str = Field(
        min_length=1,
        description="PostgreSQL connection string (postgresql://user:password@host:5432/db or libpq key=value), "
        "saved by the tenant's admin as the secret postgres_url.",
    )


class OutputModel(BaseModel):
    dataset_path: Path = Field(description="The query result (header row / Parquet schema from the result columns).")
    row_count: int = Field(description="Rows written.")
    column_names: list[str] = Field(description="Result columns in query order.")
    truncated: bool = Field(description="True when the query returned more than max_rows rows.")
