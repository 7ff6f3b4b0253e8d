from pathlib import Path
from typing import Any, Literal

from flowui_runtime.types import StorageFile
from pydantic import BaseModel, Field

Operation = Literal[
    "==", "!=", ">", ">=", "<", "<=", "in", "not_in", "contains", "startswith", "endswith", "is_null", "not_null"
]


class Condition(BaseModel):
    column: str = Field(min_length=1, description="Column the condition tests.")
    op: Operation = Field(
        default="==", description="Comparison; 'in'/'not_in' take a list, 'is_null'/'not_null' no value."
    )
    value: Any = Field(default=None, description="Value compared with (a number, a text, or a list for 'in').")


class InputModel(BaseModel):
    dataset_path: StorageFile = Field(
        description="CSV dataset to filter: a path in the tenant storage (e.g. an upstream output)."
    )
    conditions: list[Condition] = Field(
        default_factory=list, description="Row conditions; no condition keeps every row."
    )
    combine: Literal["all", "any"] = Field(
        default="all", description="'all': a row must meet every condition (AND); 'any': at least one (OR)."
    )
    columns: list[str] = Field(default_factory=list, description="Columns to keep, in this order (empty: all columns).")
    output_name: str = Field(
        default="filtered.csv", pattern=r"^[A-Za-z0-9_.-]+\.csv$", description="Name of the CSV written."
    )


class OutputModel(BaseModel):
    dataset_path: Path = Field(description="The rows that passed, as CSV.")
    rows_in: int = Field(description="Rows read.")
    rows_out: int = Field(description="Rows kept.")
    column_names: list[str] = Field(description="Columns of the written CSV.")
