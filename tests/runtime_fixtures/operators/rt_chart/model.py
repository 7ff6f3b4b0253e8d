from pathlib import Path

from pydantic import BaseModel


class InputModel(BaseModel):
    total: int
    source_file: str
    title: str = "Chart"


class OutputModel(BaseModel):
    chart_file: Path
    received_total: int
