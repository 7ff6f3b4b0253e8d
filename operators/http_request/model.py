from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field


class InputModel(BaseModel):
    url: str = Field(pattern=r"^https?://", description="Address to call (http:// or https://).")
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = Field(default="GET", description="HTTP method.")
    params: dict[str, str] = Field(default_factory=dict, description="Query-string parameters added to the URL.")
    headers: dict[str, str] = Field(default_factory=dict, description="Request headers.")
    json_body: Any = Field(
        default=None,
        description="A JSON value sent as the body (sets Content-Type: application/json); leave empty for none.",
        json_schema_extra={"widget": "code", "language": "json"},
    )
    body: str = Field(
        default="",
        description="A raw text body, sent when json_body is empty.",
        json_schema_extra={"widget": "textarea"},
    )
    timeout_s: float = Field(default=30, gt=0, le=600, description="Seconds to wait for the server.")
    fail_on_error_status: bool = Field(
        default=True, description="Fail the task when the server answers with a 4xx or 5xx status."
    )
    save_body_as: str = Field(
        default="",
        pattern=r"^([A-Za-z0-9_.-]+)?$",
        description="File name in the run folder to save the response body to (empty: do not save).",
    )
    max_text_chars: int = Field(
        default=100_000, ge=0, le=10_000_000, description="Longest body_text returned; the saved file is complete."
    )


class SecretsModel(BaseModel):
    auth_token: str | None = Field(default=None, description="Sent as 'Authorization: Bearer <token>' when set.")


class OutputModel(BaseModel):
    status_code: int = Field(description="HTTP status of the response.")
    ok: bool = Field(description="True for a 2xx or 3xx status.")
    url: str = Field(description="Final URL after redirects.")
    headers: dict[str, str] = Field(description="Response headers.")
    body_text: str = Field(description="The response body as text (cut at max_text_chars).")
    body_json: Any = Field(default=None, description="The body parsed as JSON when the response is JSON.")
    body_path: Path | None = Field(default=None, description="The saved body, when save_body_as is set.")
    elapsed_s: float = Field(description="Seconds the request took.")
