"""API rate limits (DRF throttling) kept in the Redis cache, so every web process shares the counters.

- ApiRateThrottle: FLOWUI_API_RATE per API token or per logged-in user (session). Default throttle of the API.
- AnonymousRateLimitAuthentication: FLOWUI_API_RATE per client IP for requests without credentials. It is the
  last authentication class, because DRF checks permissions (a 401/403 for the anonymous) before throttles.
- WebhookRateThrottle: FLOWUI_WEBHOOK_RATE per webhook (its URL is the key, whoever calls it).

Rates are read from settings on every request ("N/s", "N/min", "N/hour", "N/day"); a throttled request gets
429 `{"error": "throttled", ...}` with a Retry-After header (seconds).
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import Throttled
from rest_framework.throttling import SimpleRateThrottle


class ApiRateThrottle(SimpleRateThrottle):
    scope = "api"

    def get_rate(self) -> str:
        return settings.FLOWUI_API_RATE

    def get_cache_key(self, request, view) -> str:
        token = getattr(request, "auth", None)
        if getattr(token, "key_prefix", None):
            return f"throttle:{self.scope}:token:{token.pk}:{token.key_prefix}"
        if request.user and request.user.is_authenticated:
            return f"throttle:{self.scope}:user:{request.user.pk}"
        return None  # anonymous: counted by AnonymousRateLimitAuthentication


class AnonymousApiRateThrottle(SimpleRateThrottle):
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


class WebhookRateThrottle(SimpleRateThrottle):
    scope = "webhook"

    def get_rate(self) -> str:
        return settings.FLOWUI_WEBHOOK_RATE

    def get_cache_key(self, request, view) -> str:
        return f"throttle:{self.scope}:{view.kwargs.get('webhook_id')}"
