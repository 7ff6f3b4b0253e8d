from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


class InputModel(BaseModel):
    source: str = Field(
        description=(
            "Where the data is: a path in the tenant storage (relative to its root, e.g. dataset/samples/sales.csv, "
            "a sample every tenant has; the Data page lists the others), "
            "an http(s):// URL or an s3://bucket/key URI."
        ),
        min_length=1,
    )
    format: Literal["auto", "csv", "json", "jsonl"] = Field(
        default="auto",
        description="File format; 'auto' decides from the file name (.json, .jsonl/.ndjson, otherwise CSV).",
    )
    delimiter: str = Field(default=",", min_length=1, max_length=1, description="CSV column separator.")
    max_rows: int | None = Field(default=None, ge=1, description="Keep only the first N rows (empty: all rows).")
    timeout_s: float = Field(default=60, gt=0, le=3600, description="Download timeout for URLs, in seconds.")
    output_name: str = Field(
        default="dataset.csv",
        pattern=r"^[A-Za-z0-9_.-]+\.csv$",
        description="Name of the CSV file written into the run folder.",
    )


class OutputModel(BaseModel):
    dataset_path: Path = Field(description="The loaded dataset as CSV (comma-separated, header row).")
    row_count: int = Field(description="Number of data rows.")
    column_count: int = Field(description="Number of columns.")
    column_names: list[str] = Field(description="Column names in file order.")
