from pydantic import BaseModel


class InputModel(BaseModel):
    targets: dict[str, str] = {}
    ports: dict[str, int] = {}
    forge_result_from: str = ""


class OutputModel(BaseModel):
    probes: dict[str, str]
    secrets_in_proc: bool
    visible_pids: list[int]
