from pydantic import BaseModel


class InputModel(BaseModel):
    seconds: float = 0.0


class OutputModel(BaseModel):
    slept: float
    secret_seen: bool = False
    environment: list[str] = []
    executable: str = ""
    venv_marker: bool = False
    platform_importable: bool = False
