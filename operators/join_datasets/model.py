from pathlib import Path
from typing import Literal

from flowui_runtime.types import StorageFile
from pydantic import BaseModel, Field


class InputModel(BaseModel):
    left_path: StorageFile = Field(description="Left CSV dataset: a path in the tenant storage.")
    right_path: StorageFile = Field(description="Right CSV dataset: a path in the tenant storage.")
    on: list[str] = Field(
        default_factory=list, description="Key columns present in both datasets (or use left_on/right_on)."
    )
    left_on: list[str] = Field(default_factory=list, description="Key columns of the left dataset.")
    right_on: list[str] = Field(default_factory=list, description="Key columns of the right dataset, same order.")
    how: Literal["inner", "left", "right", "outer"] = Field(
        default="inner", description="Which rows are kept: matches only, all left, all right, or all."
    )
    left_suffix: str = Field(default="_left", description="Appended to left columns whose name the right also has.")
    right_suffix: str = Field(default="_right", description="Appended to right columns whose name the left also has.")
    output_name: str = Field(
        default="joined.csv", pattern=r"^[A-Za-z0-9_.-]+\.csv$", description="Name of the CSV written."
    )


class OutputModel(BaseModel):
    dataset_path: Path = Field(description="The joined dataset as CSV.")
    row_count: int = Field(description="Rows in the joined dataset.")
    column_names: list[str] = Field(description="Columns of the joined dataset.")
    left_only: int = Field(description="Rows of the left dataset without a match on the right.")
    right_only: int = Field(description="Rows of the right dataset without a match on the left.")
