"""The API's rate limits: a sliding-window counter in Redis (flowui.throttling), counted atomically across
threads and processes, refusals not counted, Retry-After from the window arithmetic."""

from __future__ import annotations

import threading
import uuid
from unittest import mock

import pytest
from django.test import RequestFactory

from flowui import throttling


class KeyedThrottle(throttling.WindowRateThrottle):
    def __init__(self, key: str, rate: str):
        self.key, self.rate = key, rate
        super().__init__()

    def get_rate(self) -> str:
        return self.rate

    def get_cache_key(self, request, view) -> str:
        return self.key


@pytest.fixture
def key() -> str:
    return f"throttle:test:{uuid.uuid4().hex}"  # fresh counters; they expire by themselves


def allow(key: str, rate: str, now: float) -> tuple[bool, float | None]:
    throttle = KeyedThrottle(key, rate)
    with mock.patch.object(throttling.time, "time", return_value=now):
        allowed = throttle.allow_request(RequestFactory().get("/"), None)
    return allowed, throttle.wait()


def test_it_allows_the_rate_then_refuses_with_retry_after(key):
    start = 6_000_000.0  # the start of a one-minute window
    assert [allow(key, "3/min", start + i)[0] for i in range(3)] == [True, True, True]
    allowed, wait = allow(key, "3/min", start + 10)
    assert not allowed and wait == 50  # the rest of this window
    # Refusals are not counted: the next window admits requests again as the previous one's weight fades.
    assert not allow(key, "3/min", start + 60)[0]  # 3 x 1.0 + 1 > 3
    allowed, wait = allow(key, "3/min", start + 60)
    assert not allowed and 1 <= wait <= 20
    assert allow(key, "3/min", start + 81)[0]  # 3 x (39/60) + 1 <= 3


def test_it_counts_concurrent_requests_exactly(key):
    results: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            allowed = KeyedThrottle(key, "25/hour").allow_request(RequestFactory().get("/"), None)
            with lock:
                results.append(allowed)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 25 and len(results) == 60


def test_it_rate_limits_api_tokens_separately(tenant_a, make_user, settings):
    from tenants.services import api_token_create
    from tests.test_api_tokens import bearer

    settings.FLOWUI_API_RATE = "2/min"
    user = make_user("throttle-two", tenant=tenant_a, role="viewer")
    first = bearer(api_token_create(user=user, tenant=tenant_a, name="one")[1])
    second = bearer(api_token_create(user=user, tenant=tenant_a, name="two")[1])
    assert [first.get("/api/workflows/").status_code for _ in range(3)] == [200, 200, 429]
    assert second.get("/api/workflows/").status_code == 200  # its own counter
