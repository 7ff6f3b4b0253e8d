from pydantic import BaseModel


class InputModel(BaseModel):
    note: str = ""


class OutputModel(BaseModel):
    digest: str
    length: int
    in_environment: bool


class SecretsModel(BaseModel):
    RT_API_KEY: str
