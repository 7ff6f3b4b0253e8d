"""REST API of webhooks: manage a workflow's hooks (editors), and the signed call that starts a run (no token).

`POST /api/hooks/<id>/` answers 202 {"run_id"} (a run started), 200 {"run_id"} (the Idempotency-Key was seen:
the first call's run, no new one), 400 (body or params), 401 (signature/timestamp), 404 (unknown or disabled
hook), 409 (workflow not deployed), 429 (FLOWUI_WEBHOOK_RATE per hook, with Retry-After).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from flowui.throttling import WebhookRateThrottle
from workflows import selectors, services_webhooks, supervision
from workflows.api import ERRORS, SLUG, WorkflowApiView, _error
from workflows.models import Webhook
from workflows.serializers import ErrorSerializer


class WebhookCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class WebhookUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    enabled = serializers.BooleanField(required=False, help_text="false: the hook's URL answers 404 until enabled.")


class WebhookSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Webhook
        fields = ["id", "name", "url", "enabled", "created_at"]

    def get_url(self, webhook) -> str:
        return self.context["request"].build_absolute_uri(f"/api/hooks/{webhook.pk}/")


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(help_text="The signing secret, shown this once.")

    class Meta(WebhookSerializer.Meta):
        fields = ["id", "name", "url", "enabled", "secret", "created_at"]


class WebhookCallSerializer(serializers.Serializer):
    params = serializers.DictField(
        required=False, child=serializers.JSONField(), help_text="Overrides of the workflow's params (typed)."
    )


class WebhookRunSerializer(serializers.Serializer):
    run_id = serializers.CharField()


WEBHOOK_ID = OpenApiParameter("webhook_id", OpenApiTypes.UUID, OpenApiParameter.PATH)


class WebhookListView(WorkflowApiView):
    required_role = "editor"

    @extend_schema(
        operation_id="webhooks_list", parameters=[SLUG], responses={200: WebhookSerializer(many=True), **ERRORS}
    )
    def get(self, request, slug):
        """The workflow's webhooks (never their secrets)."""
        workflow = self.get_workflow(slug)
        hooks = selectors.webhooks_list(workflow=workflow)
        return Response(WebhookSerializer(hooks, many=True, context={"request": request}).data)

    @extend_schema(
        operation_id="webhooks_create",
        parameters=[SLUG],
        request=WebhookCreateSerializer,
        responses={201: WebhookCreatedSerializer, **ERRORS},
    )
    def post(self, request, slug):
        """Create a webhook; the answer holds its secret, which is not shown again."""
        workflow = self.get_workflow(slug)
        data = self.parse(WebhookCreateSerializer, request.data)
        webhook, secret = services_webhooks.webhook_create(workflow=workflow, name=data["name"], user=request.user)
        webhook.secret = secret
        return Response(WebhookCreatedSerializer(webhook, context={"request": request}).data, status=201)


class WebhookDetailView(WorkflowApiView):
    required_role = "editor"

    def get_webhook(self, slug: str, webhook_id) -> Webhook | None:
        return selectors.webhooks_list(workflow=self.get_workflow(slug)).filter(pk=webhook_id).first()

    @extend_schema(
        operation_id="webhooks_retrieve", parameters=[SLUG, WEBHOOK_ID], responses={200: WebhookSerializer, **ERRORS}
    )
    def get(self, request, slug, webhook_id):
        """One webhook (never its secret)."""
        webhook = self.get_webhook(slug, webhook_id)
        if webhook is None:
            return _error("not_found", "No such webhook for this workflow.", status.HTTP_404_NOT_FOUND)
        return Response(WebhookSerializer(webhook, context={"request": request}).data)

    @extend_schema(
        operation_id="webhooks_partial_update",
        parameters=[SLUG, WEBHOOK_ID],
        request=WebhookUpdateSerializer,
        responses={200: WebhookSerializer, **ERRORS},
    )
    def patch(self, request, slug, webhook_id):
        """Rename a webhook or switch it off (`{"enabled": false}`: its URL answers 404) and on again; its id, URL
        and secret stay."""
        webhook = self.get_webhook(slug, webhook_id)
        if webhook is None:
            return _error("not_found", "No such webhook for this workflow.", status.HTTP_404_NOT_FOUND)
        data = self.parse(WebhookUpdateSerializer, request.data)
        webhook = services_webhooks.webhook_update(
            webhook=webhook, name=data.get("name"), enabled=data.get("enabled"), user=request.user
        )
        return Response(WebhookSerializer(webhook, context={"request": request}).data)

    @extend_schema(operation_id="webhooks_destroy", parameters=[SLUG, WEBHOOK_ID], responses={204: None, **ERRORS})
    def delete(self, request, slug, webhook_id):
        """Delete a webhook: its URL answers 404 from now on."""
        webhook = self.get_webhook(slug, webhook_id)
        if webhook is None:
            return _error("not_found", "No such webhook for this workflow.", status.HTTP_404_NOT_FOUND)
        services_webhooks.webhook_delete(webhook=webhook)
        return Response(status=204)


class WebhookCallView(APIView):
    """The hook itself: authenticated by its signature, not by a token or session."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [WebhookRateThrottle]

    @extend_schema(
        operation_id="webhooks_call",
        auth=[],
        parameters=[
            WEBHOOK_ID,
            OpenApiParameter(
                "X-FlowUI-Timestamp",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description="The call's time in unix seconds (at most 300 s away from the server's).",
            ),
            OpenApiParameter(
                "X-FlowUI-Signature",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description='sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>',
            ),
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="A repeated key answers the first call's run id (200) and starts nothing.",
            ),
        ],
        request=WebhookCallSerializer,
        responses={
            202: WebhookRunSerializer,
            200: OpenApiResponse(WebhookRunSerializer, description="Seen Idempotency-Key: the first call's run."),
            400: OpenApiResponse(ErrorSerializer, description="Malformed body or params that do not fit."),
            401: OpenApiResponse(ErrorSerializer, description="Missing or wrong signature, or stale timestamp."),
            404: OpenApiResponse(ErrorSerializer, description="Unknown, disabled or deleted webhook."),
            409: OpenApiResponse(ErrorSerializer, description="The workflow is not deployed."),
            429: OpenApiResponse(ErrorSerializer, description="Too many calls of this webhook (see Retry-After)."),
            503: OpenApiResponse(ErrorSerializer, description="Airflow unavailable."),
        },
    )
    def post(self, request, webhook_id):
        """Start a run of the webhook's workflow with the body's params."""
        webhook = selectors.webhook_active_get(webhook_id=webhook_id)
        if webhook is None or request.tenant.status != request.tenant.Status.ACTIVE:
            return _error("not_found", "No such webhook.", status.HTTP_404_NOT_FOUND)
        request._request.audit_webhook = webhook  # the actor of what this call records
        try:
            result = services_webhooks.webhook_call(
                tenant=request.tenant,
                webhook=webhook,
                timestamp=request.headers.get("X-FlowUI-Timestamp"),
                signature=request.headers.get("X-FlowUI-Signature"),
                body=request.body,
                idempotency_key=request.headers.get("Idempotency-Key"),
            )
        except services_webhooks.WebhookUnauthorized as exc:
            return _error("signature_invalid", str(exc), status.HTTP_401_UNAUTHORIZED)
        except services_webhooks.WebhookBadRequest as exc:
            return _error("invalid", str(exc), status.HTTP_400_BAD_REQUEST, fields=exc.fields)
        except supervision.ParamsInvalid as exc:
            return _error("invalid", str(exc), status.HTTP_400_BAD_REQUEST, fields={"params": exc.errors})
        except supervision.WorkflowNotDeployed as exc:
            return _error("not_deployed", str(exc), status.HTTP_409_CONFLICT)
        except services_webhooks.WebhookCallInProgress as exc:
            return _error("conflict", str(exc), status.HTTP_409_CONFLICT)
        return Response({"run_id": result.run_id}, status=202 if result.created else 200)
