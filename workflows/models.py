"""Workflow models (tenant schema).

Users live in the public schema; tenant tables keep their id and name (no cross-schema foreign key).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class DeployState(models.TextChoices):
    NOT_DEPLOYED = "not_deployed", "Not deployed"
    PENDING = "pending", "Pending"
    LIVE = "live", "Live"
    FAILED = "failed", "Failed"
    WAITING_FOR_AIRFLOW = "waiting_for_airflow", "Waiting for Airflow"


class Workflow(models.Model):
    name = models.CharField(max_length=200)
    # The DAG id is the tenant prefix + slug, so the slug never changes once created.
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    created_by_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    current_version = models.ForeignKey(
        "WorkflowVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    deploy_state = models.CharField(max_length=24, choices=DeployState.choices, default=DeployState.NOT_DEPLOYED)
    deploy_error = models.TextField(blank=True)
    deployed_version = models.ForeignKey(
        "WorkflowVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    deploy_requested_at = models.DateTimeField(null=True, blank=True)
    deploy_live_at = models.DateTimeField(null=True, blank=True)
    # When the deployed file was written (Airflow import errors older than this are about a previous file).
    deploy_written_at = models.DateTimeField(null=True, blank=True)
    paused = models.BooleanField(default=False)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class WorkflowVersion(models.Model):
    """One saved state of a workflow. Immutable: editing saves a new version."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    spec = models.JSONField()
    author_id = models.BigIntegerField(null=True, blank=True)
    author_name = models.CharField(max_length=150, blank=True)
    message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workflow_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "number"], name="one_number_per_workflow_version"),
        ]

    def __str__(self) -> str:
        return f"{self.workflow_id} v{self.number}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("A workflow version is immutable; save a new version instead.")
        super().save(*args, **kwargs)


class Webhook(models.Model):
    """Starts runs of its workflow from another system: POST /api/hooks/<id>/ signed with the secret
    (HMAC-SHA256 over "<timestamp>." + body; see workflows.services_webhooks). The secret is kept encrypted
    (it is needed in clear to check signatures) and shown once, at creation."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="webhooks")
    name = models.CharField(max_length=100)
    secret_encrypted = models.TextField()
    enabled = models.BooleanField(default=True)
    created_by_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_called_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.workflow.slug})"


class WebhookCall(models.Model):
    """One accepted call of a webhook; with an Idempotency-Key the same key answers the first run id again."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="calls")
    idempotency_key = models.CharField(max_length=200, blank=True)  # "" when the call had none
    run_id = models.CharField(max_length=250, blank=True)  # "" while its run is being started
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["webhook", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="one_call_per_idempotency_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.webhook_id} {self.idempotency_key or '-'} -> {self.run_id or '(starting)'}"


class NotificationSettings(models.Model):
    """Who hears about a workflow's finished runs (workflows.notifications): e-mail addresses and a
    Slack-compatible incoming-webhook URL (stored encrypted: such URLs are credentials), for which events."""

    workflow = models.OneToOneField(Workflow, on_delete=models.CASCADE, related_name="notification_settings")
    on_failure = models.BooleanField(default=True)
    on_success = models.BooleanField(default=False)
    on_retry = models.BooleanField(default=False)
    emails = models.TextField(blank=True)  # comma-separated, validated by the service
    webhook_url_encrypted = models.TextField(blank=True)
    # Runs that ended before this are never notified (no flood of old runs when notifications are switched on).
    active_since = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"notifications of {self.workflow_id}"


class NotificationDelivery(models.Model):
    """One notification of one run on one channel for one event. The unique constraint makes it exactly once:
    whoever inserts the row sends; a concurrent poller's insert fails and it moves on."""

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        WEBHOOK = "webhook", "Webhook"

    class Event(models.TextChoices):
        FAILURE = "failure", "Failure"
        SUCCESS = "success", "Success"
        RETRY = "retry", "Retry"

    class State(models.TextChoices):
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="notification_deliveries")
    run_id = models.CharField(max_length=250)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    event = models.CharField(max_length=16, choices=Event.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.SENDING)
    error = models.TextField(blank=True)
    run_ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Sending is retried (workflows.notifications): attempts so far, when the latest began (a `sending` row much
    # older than that lost its worker), when a failed one is tried again (None: it will not be), and the
    # message as first written, so that a retry sends the same text.
    attempts = models.PositiveSmallIntegerField(default=1)
    attempted_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workflow", "run_id", "channel", "event"], name="one_notification_per_run_channel_event"
            )
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="notification_retry_due")]

    def __str__(self) -> str:
        return f"{self.run_id} {self.channel} {self.event}: {self.state}"
