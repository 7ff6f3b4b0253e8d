"""API tokens per user and tenant: `Authorization: Bearer flw_...` (or `Token flw_...`).

A token is refused (401) when unknown, revoked (deleted), expired, of another tenant, of an inactive user, or
when its user is no longer a member of the tenant. It acts with min(token role, the user's current role in this
tenant): the request's `membership` is an unsaved Membership (user, tenant, that role) for the permission classes.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import F
from django.utils import timezone
from rest_framework import authentication, exceptions

from tenants.models import ApiToken, Membership, role_min

LAST_USED_RESOLUTION = timedelta(seconds=60)  # last_used_at is written at most once a minute per token


class TenantTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("bearer", "token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower().decode(errors="replace") not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        key = header[1].decode(errors="replace")
        tenant = getattr(request._request, "tenant", None)
        if tenant is None:
            raise exceptions.AuthenticationFailed("Invalid token for this tenant.")
        # One query: the token (of this tenant), its user, and the user's current role in the tenant (no row when
        # no longer a member). This runs on every API request: a join and get() compile faster than a Subquery
        # and first() (ORDER BY); key_hash is unique and a user has one membership per tenant.
        try:
            token = (
                ApiToken.objects.select_related("user")
                .filter(key_hash=ApiToken.hash_key(key), tenant_id=tenant.id, user__memberships__tenant_id=tenant.id)
                .annotate(member_role=F("user__memberships__role"))
                .get()
            )
        except ApiToken.DoesNotExist:
            token = None
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid token for this tenant.")
        now = timezone.now()
        if token.is_expired(now):
            raise exceptions.AuthenticationFailed("This token has expired.")
        capped = Membership(user=token.user, tenant=tenant, role=role_min(token.role, token.member_role))
        request._request.membership = capped
        request._request.api_token = token
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token.user, token

    def authenticate_header(self, request) -> str:
        return "Bearer"
