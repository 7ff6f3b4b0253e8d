from pathlib import Path

from flowui_runtime.types import StorageFile
from pydantic import BaseModel, Field


class InputModel(BaseModel):
    dataset_path: StorageFile = Field(description="CSV dataset to profile: a path in the tenant storage.")
    top_values: int = Field(default=3, ge=0, le=50, description="Most frequent values listed per text column.")
    output_name: str = Field(
        default="profile.csv", pattern=r"^[A-Za-z0-9_.-]+\.csv$", description="Name of the profile CSV written."
    )


class ColumnProfile(BaseModel):
    name: str = Field(description="Column name.")
    dtype: str = Field(description="Detected type: integer, float, boolean or text.")
    non_null: int = Field(description="Rows with a value.")
    nulls: int = Field(description="Rows without a value.")
    distinct: int = Field(description="Distinct values.")
    mean: float | None = Field(default=None, description="Mean (numeric columns).")
    std: float | None = Field(default=None, description="Standard deviation (numeric columns).")
    min: float | None = Field(default=None, description="Smallest value (numeric columns).")
    max: float | None = Field(default=None, description="Largest value (numeric columns).")
    top: list[str] = Field(default_factory=list, description="Most frequent values, most frequent first (text).")


class OutputModel(BaseModel):
    profile_path: Path = Field(description="One row per column with the statistics below, as CSV.")
    row_count: int = Field(description="Rows in the dataset.")
    column_count: int = Field(description="Columns in the dataset.")
    columns: list[ColumnProfile] = Field(description="Statistics per column.")
