"""REST API of a workflow's run notifications: `GET/PUT /api/workflows/<slug>/notifications/` (viewers read,
editors write). The webhook URL is write-only (a credential): answers say only whether it is set, and its host.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from workflows.api import ERRORS, SLUG, WorkflowApiView, _error
from workflows.notifications import NotificationSettingsInvalid, notification_settings_data, notification_settings_save


class NotificationSettingsSerializer(serializers.Serializer):
    on_failure = serializers.BooleanField(default=True)
    on_success = serializers.BooleanField(default=False)
    on_retry = serializers.BooleanField(default=False, help_text="When a task of a running run is up for retry.")
    emails = serializers.ListField(child=serializers.CharField(max_length=254), max_length=20, default=list)
    webhook_url = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        write_only=True,
        help_text="Slack-compatible incoming webhook (https:// to a public host). Omit to keep, empty to remove.",
    )


class NotificationSettingsOutSerializer(serializers.Serializer):
    on_failure = serializers.BooleanField()
    on_success = serializers.BooleanField()
    on_retry = serializers.BooleanField()
    emails = serializers.ListField(child=serializers.CharField())
    webhook_url_set = serializers.BooleanField()
    webhook_host = serializers.CharField(required=False, help_text="The host of the stored webhook URL.")


class NotificationSettingsView(WorkflowApiView):
    @extend_schema(
        operation_id="notifications_get",
        parameters=[SLUG],
        responses={200: NotificationSettingsOutSerializer, **ERRORS},
    )
    def get(self, request, slug):
        """Who is notified about the workflow's finished runs, and when."""
        workflow = self.get_workflow(slug)
        return Response(notification_settings_data(workflow=workflow))

    @extend_schema(
        operation_id="notifications_set",
        parameters=[SLUG],
        request=NotificationSettingsSerializer,
        responses={200: NotificationSettingsOutSerializer, **ERRORS},
    )
    def put(self, request, slug):
        """Replace the notification settings (e-mail through the platform's SMTP server, a webhook POST of
        {"text": ...}); delivered within 30 s of a run's end, once per run, channel and event."""
        workflow = self.get_workflow(slug)
        data = self.parse(NotificationSettingsSerializer, request.data)
        try:
            notification_settings_save(
                workflow=workflow,
                on_failure=data["on_failure"],
                on_success=data["on_success"],
                on_retry=data["on_retry"],
                emails=data["emails"],
                webhook_url=data.get("webhook_url"),
            )
        except NotificationSettingsInvalid as exc:
            return _error("invalid", str(exc), status.HTTP_400_BAD_REQUEST, fields=exc.fields)
        return Response(notification_settings_data(workflow=workflow))
