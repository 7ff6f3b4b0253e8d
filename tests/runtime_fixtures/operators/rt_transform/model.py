from pathlib import Path

from pydantic import BaseModel


class InputModel(BaseModel):
    data_file: str
    factor: int = 1


class OutputModel(BaseModel):
    total: int
    scaled_file: Path
