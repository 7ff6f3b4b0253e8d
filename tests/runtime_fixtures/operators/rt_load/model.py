from pathlib import Path

from pydantic import BaseModel, Field


class InputModel(BaseModel):
    rows: int = Field(ge=1, le=10_000, description="How many rows to generate.")


class OutputModel(BaseModel):
    data_file: Path
    row_count: int
