"""Tenant REST API of tenants/: the caller's own API tokens (/api/tokens/, any member) and the tenant's audit
log (/api/audit/, admins).

Errors use the platform's format (flowui.api.exception_handler): 400 invalid with `fields`, 404 not_found.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from flowui.inputs import has_nul, without_nul
from tenants import selectors, services
from tenants.models import ApiToken
from tenants.models_audit import AuditAction, AuditEvent
from tenants.permissions import TenantRolePermission
from workflows.serializers import ErrorSerializer  # the one error component of the schema


class TokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    role = serializers.ChoiceField(choices=ApiToken.TokenRole.choices)
    expires_in_days = serializers.IntegerField(
        min_value=1,
        max_value=services.TOKEN_MAX_DAYS,
        allow_null=True,
        required=False,
        default=None,
        help_text="Days until the key stops working; null for no expiry.",
    )

    def validate_name(self, value: str) -> str:
        if has_nul(value):
            raise serializers.ValidationError("Null characters are not allowed.")
        return value


class TokenSerializer(serializers.ModelSerializer):
    prefix = serializers.CharField(source="key_prefix", help_text="The characters after flw_, to recognise a key.")

    class Meta:
        model = ApiToken
        fields = ["id", "name", "role", "prefix", "created_at", "expires_at", "last_used_at"]


class TokenCreatedSerializer(TokenSerializer):
    key = serializers.CharField(help_text="The key, shown this once; only its hash is stored.")

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "key"]


class _TokenView(APIView):
    permission_classes = [TenantRolePermission]
    required_role = "viewer"  # every member manages their own tokens


class TokenListView(_TokenView):
    @extend_schema(operation_id="tokens_list", responses={200: TokenSerializer(many=True)})
    def get(self, request):
        """The caller's own tokens in this tenant (never the keys)."""
        tokens = selectors.api_tokens_for(user=request.user, tenant=request.tenant)
        return Response(TokenSerializer(tokens, many=True).data)

    @extend_schema(
        operation_id="tokens_create",
        request=TokenCreateSerializer,
        responses={201: TokenCreatedSerializer, 400: OpenApiResponse(ErrorSerializer, description="Invalid.")},
    )
    def post(self, request):
        """Create a token with a role at most the caller's own; the key is in this answer only."""
        serializer = TokenCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        token, key = services.api_token_create(
            user=request.user,
            tenant=request.tenant,
            name=data["name"],
            role=data["role"],
            expires_in_days=data["expires_in_days"],
            max_role=request.membership.role,
        )
        token.key = key
        return Response(TokenCreatedSerializer(token).data, status=201)


class TokenDetailView(_TokenView):
    @extend_schema(
        operation_id="tokens_revoke",
        responses={204: None, 404: OpenApiResponse(ErrorSerializer, description="Not one of your tokens.")},
    )
    def delete(self, request, token_id: int):
        """Revoke one of the caller's tokens: its key gets 401 from now on."""
        token = selectors.api_tokens_for(user=request.user, tenant=request.tenant).filter(pk=token_id).first()
        if token is None:
            raise NotFound("No such token of yours.")
        services.api_token_revoke(token=token)
        return Response(status=204)


class AuditQuerySerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=AuditAction.choices, required=False, help_text="Only this action.")
    actor = serializers.CharField(required=False, max_length=200, help_text="Part of the actor's name.")
    limit = serializers.IntegerField(required=False, default=50, min_value=1, max_value=500)
    offset = serializers.IntegerField(required=False, default=0, min_value=0, max_value=1_000_000)

    def validate_actor(self, value: str) -> str:
        return without_nul(value)


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id", "created_at", "actor_type", "actor_id", "actor_name", "ip", "action",
            "object_type", "object_id", "object_repr", "detail",
        ]  # fmt: skip


class AuditPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
    results = AuditEventSerializer(many=True)


class AuditListView(APIView):
    permission_classes = [TenantRolePermission]
    required_role = "admin"

    @extend_schema(
        operation_id="audit_list",
        parameters=[AuditQuerySerializer],
        responses={200: AuditPageSerializer, 400: OpenApiResponse(ErrorSerializer, description="Invalid filter.")},
    )
    def get(self, request):
        """The tenant's audit log, newest first (tenant admins)."""
        query = AuditQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        events = selectors.audit_events(tenant=request.tenant, action=q.get("action", ""), actor=q.get("actor", ""))
        page = list(events[q["offset"] : q["offset"] + q["limit"]])
        count = events.count() if len(page) == q["limit"] or q["offset"] else q["offset"] + len(page)
        data = {"count": count, "limit": q["limit"], "offset": q["offset"], "results": page}
        return Response(AuditPageSerializer(data).data)
