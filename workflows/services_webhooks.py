"""Webhooks: create, change (name, enabled), delete, and the signed call that starts a run (writes; kept apart from services.py).

A call is `POST /api/hooks/<id>/` with `X-FlowUI-Timestamp: <unix seconds>` and
`X-FlowUI-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>`. The timestamp must be within
WEBHOOK_TOLERANCE_S of now (a captured call cannot be replayed later), the signature is compared in constant
time, and an `Idempotency-Key` seen before answers the first call's run id without starting another run.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from flowui import crypto
from flowui.inputs import has_nul
from tenants.audit import CURRENT_TENANT, audit_record
from tenants.models_audit import AuditAction
from workflows import supervision
from workflows.models import Webhook, WebhookCall, Workflow

WEBHOOK_TOLERANCE_S = 300
IDEMPOTENCY_KEY_RE = re.compile(r"^[\x21-\x7e]{1,200}$")  # visible ASCII, 1-200 characters


class WebhookUnauthorized(Exception):
    """Missing or wrong signature, or a timestamp too far from now (401)."""


class WebhookBadRequest(Exception):
    """The body or a header is malformed (400)."""

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.fields = fields or {"body": [message]}


class WebhookCallInProgress(Exception):
    """Another call with the same Idempotency-Key is starting its run right now (409)."""


@dataclass(frozen=True)
class WebhookCallResult:
    run_id: str
    created: bool  # False: an earlier call with the same Idempotency-Key started this run


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """The value of X-FlowUI-Signature for a call: "sha256=" + hex HMAC-SHA256(secret, "<timestamp>." + body)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _webhook_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name or len(name) > 100 or has_nul(name):
        raise ValidationError({"name": "Give a name of 1-100 characters."})
    return name


def webhook_create(*, workflow: Workflow, name: str, user=None) -> tuple[Webhook, str]:
    """Create a webhook; returns it and its secret (shown once; stored encrypted to check signatures)."""
    name = _webhook_name(name)
    secret = "whsec_" + secrets.token_urlsafe(32)
    webhook = Webhook.objects.create(
        workflow=workflow,
        name=name,
        secret_encrypted=crypto.encrypt(secret),
        created_by_id=user.pk if user is not None and getattr(user, "is_authenticated", False) else None,
    )
    _audit(AuditAction.WEBHOOK_CREATE, webhook, user=user)
    return webhook, secret


def _audit(action: str, webhook: Webhook, detail: str = "", user=None, tenant=CURRENT_TENANT) -> None:
    audit_record(
        tenant=tenant,
        action=action,
        object_type="webhook",
        object_id=webhook.pk,
        object_repr=f"{webhook.name} ({webhook.workflow.slug})",
        detail=detail,
        user=user,
    )


def webhook_update(*, webhook: Webhook, name: str | None = None, enabled: bool | None = None, user=None) -> Webhook:
    """Rename a webhook and/or switch it off or on (None: unchanged). A disabled hook's URL answers 404, as an
    unknown one does; enabling it again keeps its id, URL and secret."""
    changes = []
    if name is not None and (name := _webhook_name(name)) != webhook.name:
        changes.append(f"renamed from {webhook.name!r}")
        webhook.name = name
    if enabled is not None and bool(enabled) != webhook.enabled:
        webhook.enabled = bool(enabled)
        changes.append("enabled" if webhook.enabled else "disabled")
    if changes:
        webhook.save(update_fields=["name", "enabled"])
        _audit(AuditAction.WEBHOOK_UPDATE, webhook, detail="; ".join(changes), user=user)
    return webhook


def webhook_calls_forget(*, now: datetime | None = None) -> int:
    """Forget the current tenant's webhook calls older than FLOWUI_WEBHOOK_IDEMPOTENCY_HOURS (housekeeping): their
    Idempotency-Keys start runs again, and a call whose run never started stops blocking its key. The number
    forgotten."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.FLOWUI_WEBHOOK_IDEMPOTENCY_HOURS)
    deleted, _ = WebhookCall.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def webhook_delete(*, webhook: Webhook) -> None:
    _audit(AuditAction.WEBHOOK_DELETE, webhook)
    webhook.delete()


def webhook_verify(
    *, webhook: Webhook, timestamp: str | None, signature: str | None, body: bytes, now: float | None = None
) -> None:
    """Raise WebhookUnauthorized unless the timestamp is fresh and the signature matches."""
    if not timestamp or not signature:
        raise WebhookUnauthorized("Sign the call: X-FlowUI-Timestamp and X-FlowUI-Signature headers are required.")
    try:
        stamp = int(timestamp)
    except ValueError:
        raise WebhookUnauthorized("X-FlowUI-Timestamp must be the call's time in unix seconds.") from None
    if abs((time.time() if now is None else now) - stamp) > WEBHOOK_TOLERANCE_S:
        raise WebhookUnauthorized(f"X-FlowUI-Timestamp is more than {WEBHOOK_TOLERANCE_S} s away from now.")
    expected = webhook_signature(secret=crypto.decrypt(webhook.secret_encrypted), timestamp=timestamp, body=body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode(errors="replace")):
        raise WebhookUnauthorized("The signature does not match this webhook's secret.")


def _params_from_body(body: bytes) -> Any:
    if not body.strip():
        return None
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookBadRequest('The body must be JSON: {"params": {...}}.') from None
    if not isinstance(data, dict):
        raise WebhookBadRequest('The body must be a JSON object: {"params": {...}}.')
    unknown = sorted(set(data) - {"params"})
    if unknown:
        raise WebhookBadRequest("Unknown fields in the body.", {name: ["unknown field"] for name in unknown})
    params = data.get("params")
    if params is not None and not isinstance(params, dict):
        raise WebhookBadRequest("params must be an object.", {"params": ["must be an object of names to values"]})
    return params


def webhook_call(
    *,
    tenant,
    webhook: Webhook,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    idempotency_key: str | None = None,
) -> WebhookCallResult:
    """Check the signature, then start a run of the webhook's workflow with the body's params.

    Raises WebhookUnauthorized (401), WebhookBadRequest / supervision.ParamsInvalid (400),
    supervision.WorkflowNotDeployed (409), WebhookCallInProgress (409) and Airflow errors (503/502).
    """
    webhook_verify(webhook=webhook, timestamp=timestamp, signature=signature, body=body)
    if idempotency_key is not None and not IDEMPOTENCY_KEY_RE.match(idempotency_key):
        raise WebhookBadRequest(
            "Idempotency-Key must be 1-200 visible ASCII characters.",
            {"Idempotency-Key": ["1-200 visible ASCII characters"]},
        )
    if idempotency_key:
        earlier = WebhookCall.objects.filter(webhook=webhook, idempotency_key=idempotency_key).first()
        if earlier is not None:
            if not earlier.run_id:
                raise WebhookCallInProgress("A call with this Idempotency-Key is starting its run; try again.")
            return WebhookCallResult(run_id=earlier.run_id, created=False)
    workflow = webhook.workflow
    params = _params_from_body(body)
    if workflow.deployed_version_id is None:
        raise supervision.WorkflowNotDeployed("Deploy the workflow before calling its webhooks.")
    supervision.params_validate(workflow=workflow, overrides=params)  # 400 before anything is recorded
    try:
        with transaction.atomic():
            call = WebhookCall.objects.create(webhook=webhook, idempotency_key=idempotency_key or "")
    except IntegrityError:  # the same key, concurrently
        earlier = WebhookCall.objects.filter(webhook=webhook, idempotency_key=idempotency_key).first()
        if earlier is None or not earlier.run_id:
            raise WebhookCallInProgress("A call with this Idempotency-Key is starting its run; try again.") from None
        return WebhookCallResult(run_id=earlier.run_id, created=False)
    try:
        run = supervision.run_trigger(
            tenant=tenant, workflow=workflow, params=params, note=f"Triggered by webhook {webhook.name}"
        )
    except Exception:
        call.delete()  # the key may be used again once Airflow answers
        raise
    call.run_id = run["run_id"]
    call.save(update_fields=["run_id"])
    key_text = f", Idempotency-Key {idempotency_key}" if idempotency_key else ""
    _audit(AuditAction.WEBHOOK_CALL, webhook, f"run {run['run_id']}{key_text}", tenant=tenant)
    Webhook.objects.filter(pk=webhook.pk).update(last_called_at=timezone.now())
    return WebhookCallResult(run_id=run["run_id"], created=True)
