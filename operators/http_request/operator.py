"""Call an HTTP(S) endpoint with the standard library and return status, headers and body."""

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from model import InputModel, OutputModel, SecretsModel

MAX_BODY_BYTES = 256 * 1024 * 1024


def operator_function(input_model: InputModel, secrets: SecretsModel) -> OutputModel:
    url = input_model.url
    if input_model.params:
        url += ("&" if urllib.parse.urlparse(url).query else "?") + urllib.parse.urlencode(input_model.params)
    headers = {"User-Agent": "flowui-http-request/1", **input_model.headers}
    data = None
    if input_model.json_body is not None:
        data = json.dumps(input_model.json_body).encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    elif input_model.body:
        data = input_model.body.encode("utf-8")
        headers.setdefault("Content-Type", "text/plain; charset=utf-8")
    if secrets.auth_token:
        headers["Authorization"] = f"Bearer {secrets.auth_token}"

    request = urllib.request.Request(url, data=data, headers=headers, method=input_model.method)
    started = time.monotonic()
    try:
        response = urllib.request.urlopen(request, timeout=input_model.timeout_s)  # noqa: S310 - http(s) by pattern
    except urllib.error.HTTPError as exc:
        response = exc  # an answer with an error status: still has a status, headers and a body
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise RuntimeError(f"{input_model.method} {url} failed: {getattr(exc, 'reason', exc)}") from None
    with response:
        raw = response.read(MAX_BODY_BYTES + 1) if input_model.method != "HEAD" else b""
        status = response.status if hasattr(response, "status") else response.code
        response_headers = {key: value for key, value in response.headers.items()}
        final_url = response.geturl()
    elapsed = round(time.monotonic() - started, 3)
    if len(raw) > MAX_BODY_BYTES:
        raise RuntimeError(f"the response of {url} is larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB")

    charset = response.headers.get_content_charset() or "utf-8"
    text = raw.decode(charset, errors="replace")
    if input_model.fail_on_error_status and status >= 400:
        raise RuntimeError(f"{input_model.method} {url} answered HTTP {status}: {text[:500]}")

    body_json = None
    if "json" in response_headers.get("Content-Type", "").lower():
        try:
            body_json = json.loads(text)
        except ValueError:
            body_json = None
    body_path = None
    if input_model.save_body_as:
        body_path = Path(os.environ.get("FLOWUI_RUN_DIR") or os.getcwd()) / input_model.save_body_as
        body_path.write_bytes(raw)
        body_path = body_path.resolve()
    return OutputModel(
        status_code=status,
        ok=status < 400,
        url=final_url,
        headers=response_headers,
        body_text=text[: input_model.max_text_chars],
        body_json=body_json,
        body_path=body_path,
        elapsed_s=elapsed,
    )
