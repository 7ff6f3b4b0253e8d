"""REST API of a tenant's own API tokens (/api/tokens/): any member manages their own tokens.

Errors use the platform's format (flowui.api.exception_handler): 400 invalid with `fields`, 404 not_found.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants import selectors, services
from tenants.models import ApiToken
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
        if "\x00" in value:
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
