from pathlib import Path
from typing import Literal

from flowui_runtime.types import StorageFile
from pydantic import BaseModel, Field

Format = Literal["csv", "parquet", "jsonl"]


class InputModel(BaseModel):
    dataset_path: StorageFile = Field(
        description="The file to convert: a path in the tenant storage (e.g. dataset/samples/sales.csv or an "
        "upstream output)."
    )
    input_format: Literal["auto", "csv", "parquet", "jsonl"] = Field(
        default="auto",
        description="Format of the input; 'auto' decides from the file name (.csv, .parquet/.pq, .jsonl/.ndjson).",
    )
    output_format: Format = Field(default="parquet", description="Format to write: csv, parquet or jsonl.")
    delimiter: str = Field(
        default=",", min_length=1, max_length=1, description="CSV column separator (input and output CSV)."
    )
    compression: Literal["snappy", "zstd", "gzip", "none"] = Field(
        default="snappy", description="Parquet compression codec (Parquet output only)."
    )
    output_name: str = Field(
        default="",
        pattern=r"^$|^[A-Za-z0-9_][A-Za-z0-9_.-]{0,120}$",
        description="Name of the file written into the run folder; empty: the input's name with the new extension.",
    )


class OutputModel(BaseModel):
    dataset_path: Path = Field(description="The converted file, in the run folder.")
    format: Format = Field(description="Format of the converted file.")
    row_count: int = Field(description="Number of rows.")
    column_names: list[str] = Field(description="Column names in file order.")
