"""The one place that talks to Airflow's REST API v2 (through apache-airflow-client).

- JWT from `POST /auth/token`, cached per (url, user) and refreshed once on a 401.
- Every call has a timeout; a connection failure, a timeout or a 5xx becomes `AirflowUnavailable`.
- Other API errors become `AirflowError` with Airflow's status and detail.

Usage::

    client = AirflowClient(url, username, password)
    dags = client.call(lambda api: api.dag.get_dags(dag_id_pattern="acme__%"))
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import urllib3
from airflow_client import client as af

T = TypeVar("T")

_TOKENS: dict[tuple[str, str], tuple[str, float]] = {}
_TOKENS_LOCK = threading.Lock()
_API_CLIENTS: dict[tuple[str, str, float], Apis] = {}
_TOKEN_TTL_S = 3600.0  # Airflow's default lifetime is 24 h; refresh well before.
_HTTP = urllib3.PoolManager(num_pools=8, maxsize=8, retries=False)


class AirflowError(Exception):
    """Airflow answered, but with an error (4xx)."""

    def __init__(self, message: str, status: int | None = None, detail: Any = None):
        super().__init__(message)
        self.status = status
        self.detail = detail


class AirflowUnavailable(AirflowError):
    """Airflow cannot be reached, timed out, or answered 5xx."""


@dataclass
class Apis:
    client: af.ApiClient

    @property
    def dag(self) -> af.DAGApi:
        return af.DAGApi(self.client)

    @property
    def dag_run(self) -> af.DagRunApi:
        return af.DagRunApi(self.client)

    @property
    def task_instance(self) -> af.TaskInstanceApi:
        return af.TaskInstanceApi(self.client)

    @property
    def import_error(self) -> af.ImportErrorApi:
        return af.ImportErrorApi(self.client)

    @property
    def monitor(self) -> af.MonitorApi:
        return af.MonitorApi(self.client)

    @property
    def dag_parsing(self) -> af.DAGParsingApi:
        return af.DAGParsingApi(self.client)

    @property
    def xcom(self) -> af.XComApi:
        return af.XComApi(self.client)


class _TimedApiClient(af.ApiClient):
    """The generated client has no default timeout; give every request one."""

    default_timeout_s: float = 10.0

    def call_api(self, method, url, header_params=None, body=None, post_params=None, _request_timeout=None):
        return super().call_api(
            method, url, header_params, body, post_params, _request_timeout or self.default_timeout_s
        )


class AirflowClient:
    def __init__(self, url: str, username: str, password: str, timeout_s: float = 10.0):
        self.url = url.rstrip("/")
        self.username = username
        self.password = password
        self.timeout_s = timeout_s

    # --- auth ---------------------------------------------------------------------------
    def _fetch_token(self) -> str:
        try:
            response = _HTTP.request(
                "POST",
                f"{self.url}/auth/token",
                body=json.dumps({"username": self.username, "password": self.password}),
                headers={"Content-Type": "application/json"},
                timeout=urllib3.Timeout(total=self.timeout_s),
            )
        except urllib3.exceptions.HTTPError as exc:
            raise AirflowUnavailable(f"Airflow at {self.url} is unreachable: {exc.__class__.__name__}") from None
        if response.status >= 500:
            raise AirflowUnavailable(f"Airflow at {self.url} answered {response.status} to the token request")
        if response.status not in (200, 201):
            raise AirflowError(
                f"Airflow at {self.url} refused the credentials of {self.username!r} ({response.status})",
                status=response.status,
            )
        return json.loads(response.data)["access_token"]

    def token(self, *, refresh: bool = False) -> str:
        key = (self.url, self.username)
        with _TOKENS_LOCK:
            cached = _TOKENS.get(key)
            if cached and not refresh and cached[1] > time.monotonic():
                return cached[0]
        token = self._fetch_token()
        with _TOKENS_LOCK:
            _TOKENS[key] = (token, time.monotonic() + _TOKEN_TTL_S)
        return token

    def _apis(self, token: str) -> Apis:
        # One generated ApiClient (and its connection pool) per url and token, shared by threads.
        key = (self.url, token, self.timeout_s)
        with _TOKENS_LOCK:
            cached = _API_CLIENTS.get(key)
        if cached is not None:
            return cached
        cfg = af.Configuration(host=self.url, access_token=token)
        cfg.retries = False
        api_client = _TimedApiClient(cfg)
        api_client.default_timeout_s = self.timeout_s
        apis = Apis(api_client)
        with _TOKENS_LOCK:
            if len(_API_CLIENTS) > 64:
                _API_CLIENTS.clear()
            _API_CLIENTS[key] = apis
        return apis

    # --- calls --------------------------------------------------------------------------
    def call(self, fn: Callable[[Apis], T]) -> T:
        """Run `fn(apis)`; retry once with a fresh token on 401; map errors to our exceptions."""
        for attempt in (0, 1):
            apis = self._apis(self.token(refresh=attempt == 1))
            try:
                return fn(apis)
            except af.ApiException as exc:
                if exc.status == 401 and attempt == 0:
                    continue
                raise self._error(exc) from None
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise AirflowUnavailable(f"Airflow at {self.url} is unreachable: {exc.__class__.__name__}") from None
        raise AirflowError("Airflow rejected a freshly issued token", status=401)  # pragma: no cover

    def _error(self, exc: af.ApiException) -> AirflowError:
        status = exc.status or 0
        detail: Any = exc.body
        try:
            detail = json.loads(exc.body or "")
            detail = detail.get("detail", detail) if isinstance(detail, dict) else detail
        except (TypeError, ValueError):
            pass
        if status >= 500 or status == 0:
            return AirflowUnavailable(f"Airflow answered {status}: {detail}", status=status, detail=detail)
        return AirflowError(f"Airflow answered {status}: {detail}", status=status, detail=detail)

    def health(self) -> dict[str, Any]:
        """Airflow's /api/v2/monitor/health (no auth needed) as a dict."""
        try:
            response = _HTTP.request(
                "GET", f"{self.url}/api/v2/monitor/health", timeout=urllib3.Timeout(total=self.timeout_s)
            )
        except urllib3.exceptions.HTTPError as exc:
            raise AirflowUnavailable(f"Airflow at {self.url} is unreachable: {exc.__class__.__name__}") from None
        if response.status != 200:
            raise AirflowUnavailable(f"Airflow health answered {response.status}")
        return json.loads(response.data)
