from pathlib import Path
from typing import Literal

from flowui_runtime.types import StorageFile
from pydantic import BaseModel, Field


class Aggregation(BaseModel):
    column: str = Field(min_length=1, description="Column to summarise.")
    func: Literal["count", "sum", "mean", "median", "min", "max", "std", "nunique"] = Field(
        default="mean", description="Statistic computed per group."
    )
    name: str = Field(default="", description="Result column name (default: column_func).")


class InputModel(BaseModel):
    dataset_path: StorageFile = Field(description="CSV dataset: a path in the tenant storage.")
    group_by: list[str] = Field(
        default_factory=list, description="Columns whose value combinations form the groups (empty: one group)."
    )
    aggregations: list[Aggregation] = Field(
        default_factory=list, description="Statistics per group; none gives the row count per group."
    )
    sort_by: str = Field(default="", description="Result column to sort by (empty: group order).")
    descending: bool = Field(default=False, description="Sort from largest to smallest.")
    output_name: str = Field(
        default="stats.csv", pattern=r"^[A-Za-z0-9_.-]+\.csv$", description="Name of the CSV written."
    )


class OutputModel(BaseModel):
    dataset_path: Path = Field(description="One row per group: group columns, then one column per statistic.")
    group_count: int = Field(description="Number of groups.")
    column_names: list[str] = Field(description="Columns of the written CSV.")
