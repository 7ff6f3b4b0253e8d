"""API rate limits (DRF throttling) kept in the Redis cache, so every web process shares the counters.

- ApiRateThrottle: FLOWUI_API_RATE per API token or per logged-in user (session). Default throttle of the API.
- AnonymousRateLimitAuthentication: FLOWUI_API_RATE per client IP for requests without credentials. It is the
  last authentication class, because DRF checks permissions (a 401/403 for the anonymous) before throttles.
- WebhookRateThrottle: FLOWUI_WEBHOOK_RATE per webhook (its URL is the key, whoever calls it).

Rates are read from settings on every request ("N/s", "N/min", "N/hour", "N/day"); a throttled request gets
429 `{"error": "throttled", ...}` with a Retry-After header (seconds).

Counting is a sliding-window counter (the count of the current fixed window plus the previous window's count
weighted by how much of it still lies within the last period), in one Redis round trip. DRF's
SimpleRateThrottle keeps every request's timestamp in one cache value that each request reads, unpickles,
rewrites: O(rate) work per request (at a high rate, thousands of floats) and a read-modify-write that loses
counts when two web processes race. INCR is atomic and O(1).
"""

from __future__ import annotations

import math
import threading
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import Throttled
from rest_framework.throttling import SimpleRateThrottle

_clients = threading.local()


def _redis_client():
    """The cache backend's Redis client, on its connection pool (the cache is per thread, as Django's caches are).
    The backend builds a new client object on every get_client() call: kept here, one per thread and pool."""
    backend = cache._cache  # type: ignore[attr-defined]
    held = getattr(_clients, "held", None)
    if held is None or held[0] is not backend:
        held = _clients.held = (backend, backend.get_client(write=True))
    return held[1]


class WindowRateThrottle(SimpleRateThrottle):
    """Base: subclasses give `get_rate()` ("N/period") and `get_cache_key(request, view)` (None: not limited).
    DRF's SimpleRateThrottle parses the rate (num_requests, duration); only the counting is replaced."""

    _wait_s: float | None = None

    def allow_request(self, request, view) -> bool:
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        limit, duration = self.num_requests, self.duration
        now = time.time()
        window = int(now // duration)
        elapsed = now - window * duration
        current_key = cache.make_key(f"{key}:{window}")
        # INCR, its expiry and the previous window's count in one pipelined round trip.
        client = _redis_client()
        pipe = client.pipeline(transaction=False)
        pipe.incr(current_key)
        pipe.expire(current_key, duration * 2)
        pipe.get(cache.make_key(f"{key}:{window - 1}"))
        count, _, previous_raw = pipe.execute()
        previous = int(previous_raw or 0)
        if previous * (1 - elapsed / duration) + count <= limit:
            return True
        # Refused requests do not count: a client retrying while throttled is let in once the rate allows.
        client.decr(current_key)
        if count > limit or not previous:
            self._wait_s = duration - elapsed
        else:  # when the previous window's weight has dropped enough for this request to fit
            self._wait_s = duration * (1 - (limit - count) / previous) - elapsed
        return False

    def wait(self) -> float | None:
        if self._wait_s is None:
            return None
        return max(1, math.ceil(self._wait_s - 1e-6))  # 20.000000000000004 s is 20, not 21


class ApiRateThrottle(WindowRateThrottle):
    scope = "api"

    def get_rate(self) -> str:
        return settings.FLOWUI_API_RATE

    def get_cache_key(self, request, view) -> str | None:
        token = getattr(request, "auth", None)
        if getattr(token, "key_prefix", None):
            return f"throttle:{self.scope}:token:{token.pk}:{token.key_prefix}"
        if request.user and request.user.is_authenticated:
            return f"throttle:{self.scope}:user:{request.user.pk}"
        return None  # anonymous: counted by AnonymousRateLimitAuthentication


class AnonymousApiRateThrottle(WindowRateThrottle):
    scope = "api-anon"

    def get_rate(self) -> str:
        return settings.FLOWUI_API_RATE

    def get_cache_key(self, request, view) -> str:
        return f"throttle:{self.scope}:ip:{self.get_ident(request)}"


class AnonymousRateLimitAuthentication(BaseAuthentication):
    """Authenticates nobody; counts requests that no other authentication class accepted, per client IP."""

    def authenticate(self, request):
        throttle = AnonymousApiRateThrottle()
        if not throttle.allow_request(request, None):
            raise Throttled(wait=throttle.wait())
        return None


class WebhookRateThrottle(WindowRateThrottle):
    scope = "webhook"

    def get_rate(self) -> str:
        return settings.FLOWUI_WEBHOOK_RATE

    def get_cache_key(self, request, view) -> str:
        return f"throttle:{self.scope}:{view.kwargs.get('webhook_id')}"
