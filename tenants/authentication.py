"""API tokens per user and tenant: `Authorization: Bearer flw_...` (or `Token flw_...`)."""

from __future__ import annotations

from django.utils import timezone
from rest_framework import authentication, exceptions

from tenants.models import ApiToken


class TenantTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("bearer", "token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower().decode() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        key = header[1].decode(errors="replace")
        tenant = getattr(request._request, "tenant", None)
        token = (
            ApiToken.objects.select_related("user", "tenant")
            .filter(key_hash=ApiToken.hash_key(key))
            .first()
        )
        if token is None or tenant is None or token.tenant_id != tenant.id or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid token for this tenant.")
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return token.user, token

    def authenticate_header(self, request) -> str:
        return "Bearer"
