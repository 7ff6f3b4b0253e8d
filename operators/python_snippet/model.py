from typing import Any

from pydantic import BaseModel, Field, field_validator


class InputModel(BaseModel):
    code: str = Field(
        min_length=1,
        description=(
            "Python code to run. The variables are defined as globals; assign the value to return to the "
            "result variable. print() output is returned too. Files written to the working directory "
            "(the run folder) are kept. The standard library is available; other packages are not."
        ),
        json_schema_extra={"widget": "code", "language": "python"},
    )
    variables: dict[str, Any] = Field(
        default_factory=dict,
        description='JSON values given to the code as global variables, e.g. {"rows": [1, 2], "factor": 3}.',
        json_schema_extra={"widget": "code", "language": "json"},
    )
    result_variable: str = Field(
        default="result", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Global variable returned as 'result'."
    )
    timeout_s: float = Field(default=60, gt=0, le=6 * 3600, description="The code is stopped after this many seconds.")
    memory_limit_mb: int = Field(
        default=2048, ge=64, le=262144, description="Address-space limit of the process running the code."
    )

    @field_validator("variables")
    @classmethod
    def _identifiers(cls, value: dict[str, Any]) -> dict[str, Any]:
        bad = [name for name in value if not name.isidentifier()]
        if bad:
            raise ValueError(f"variable names must be Python identifiers: {', '.join(map(repr, bad))}")
        return value


class OutputModel(BaseModel):
    result: Any = Field(default=None, description="Value of the result variable (JSON; other objects as text).")
    stdout: str = Field(description="What the code printed (the last 100 000 characters).")
    stderr: str = Field(description="Warnings and errors the code wrote (the last 100 000 characters).")
    duration_s: float = Field(description="Seconds the code ran.")
