"""API tokens per user and tenant: `Authorization: Bearer flw_...` (or `Token flw_...`).

A token is refused (401) when unknown, revoked (deleted), expired, of another tenant, of an inactive user, or
when its user is no longer a member of the tenant. It acts with min(token role, the user's current role in this
tenant): the request's `membership` is an unsaved Membership (user, tenant, that role) for the permission classes.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from rest_framework import authentication, exceptions

from flowui.sql_select import ModelColumns, fetch_one
from tenants.models import ApiToken, Membership, role_min

LAST_USED_RESOLUTION = timedelta(seconds=60)  # last_used_at is written at most once a minute per token


@cache
def _token_lookup() -> tuple[str, ModelColumns[ApiToken], ModelColumns]:
    """The token (of this tenant) by its key's hash, its user, and the user's current role in the tenant: no row
    when the user is no longer a member. It runs on every API request, hence SQL written once (flowui.sql_select);
    key_hash is unique and a user has one membership per tenant."""
    token, user = ModelColumns(ApiToken, "t"), ModelColumns(get_user_model(), "u")
    quote = connection.ops.quote_name
    # Only model metadata (tables, columns) is formatted in; values are parameters.
    sql = (
        f"SELECT {token.sql}, {user.sql}, m.role"  # noqa: S608
        f" FROM {quote(ApiToken._meta.db_table)} t"
        f" JOIN {quote(get_user_model()._meta.db_table)} u ON u.id = t.user_id"
        f" JOIN {quote(Membership._meta.db_table)} m ON m.user_id = t.user_id AND m.tenant_id = t.tenant_id"
        " WHERE t.key_hash = %s AND t.tenant_id = %s"
    )
    return sql, token, user


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
        sql, token_columns, user_columns = _token_lookup()
        row = fetch_one(sql, [ApiToken.hash_key(key), tenant.id])
        if row is None:
            raise exceptions.AuthenticationFailed("Invalid token for this tenant.")
        token = token_columns.load(row)
        token.user = user_columns.load(row, token_columns.width)
        member_role = row[-1]
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid token for this tenant.")
        now = timezone.now()
        if token.is_expired(now):
            raise exceptions.AuthenticationFailed("This token has expired.")
        capped = Membership(user=token.user, tenant=tenant, role=role_min(token.role, member_role))
        request._request.membership = capped
        request._request.api_token = token
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token.user, token

    def authenticate_header(self, request) -> str:
        return "Bearer"
