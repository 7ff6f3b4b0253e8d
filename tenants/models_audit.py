"""The audit log (public schema, so platform staff see every tenant in the admin): who did what, when, from
where, to which object. Rows are written by tenants.audit.audit_record, called from the services."""

from __future__ import annotations

from django.db import models


class AuditAction(models.TextChoices):
    WORKFLOW_CREATE = "workflow.create", "Workflow created"
    WORKFLOW_SAVE_VERSION = "workflow.save_version", "Workflow version saved"
    WORKFLOW_DEPLOY = "workflow.deploy", "Workflow deployed"
    WORKFLOW_DELETE = "workflow.delete", "Workflow deleted"
    WORKFLOW_PAUSE = "workflow.pause", "Workflow paused"
    WORKFLOW_UNPAUSE = "workflow.unpause", "Workflow unpaused"
    RUN_TRIGGER = "run.trigger", "Run triggered"
    RUN_CANCEL = "run.cancel", "Run cancelled"
    RUN_CLEAR = "run.clear", "Run cleared"
    TASK_RETRY = "task.retry", "Task retried"
    TOKEN_CREATE = "token.create", "API token created"
    TOKEN_REVOKE = "token.revoke", "API token revoked"
    WEBHOOK_CREATE = "webhook.create", "Webhook created"
    WEBHOOK_DELETE = "webhook.delete", "Webhook deleted"
    WEBHOOK_UPDATE = "webhook.update", "Webhook changed"
    WEBHOOK_CALL = "webhook.call", "Webhook called"
    MEMBER_ADD = "member.add", "Member added"
    MEMBER_ROLE_CHANGE = "member.role_change", "Member role changed"
    MEMBER_REMOVE = "member.remove", "Member removed"
    SECRET_SET = "secret.set", "Secret set"
    SECRET_DELETE = "secret.delete", "Secret deleted"
    REPOSITORY_CREATE = "repository.create", "Repository created"
    REPOSITORY_SYNC = "repository.sync", "Repository sync requested"
    REPOSITORY_PIN = "repository.pin", "Repository pinned"


class AuditEvent(models.Model):
    class ActorType(models.TextChoices):
        USER = "user", "User"
        TOKEN = "token", "API token"
        WEBHOOK = "webhook", "Webhook"
        SYSTEM = "system", "System"

    tenant = models.ForeignKey(
        "tenants.Tenant", null=True, blank=True, on_delete=models.CASCADE, related_name="audit_events"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    actor_id = models.CharField(max_length=64, blank=True)  # user id, token id or webhook id
    actor_name = models.CharField(max_length=200, blank=True)  # "alice", "alice (token ci, flw_ab12cd34)", ...
    ip = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    object_type = models.CharField(max_length=32, blank=True)
    object_id = models.CharField(max_length=250, blank=True)
    object_repr = models.CharField(max_length=250, blank=True)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="audit_tenant_time"),
            models.Index(fields=["tenant", "action", "-created_at"], name="audit_tenant_action_time"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_name or self.actor_type} {self.action} {self.object_repr}"
        )
