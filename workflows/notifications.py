"""Run notifications: per workflow, on failure (optionally on success and on retry), an e-mail through Django's
mail backend (SMTP, EMAIL_* settings) and a POST of `{"text": ...}` to a Slack-compatible incoming webhook.

How the platform learns a run ended: Celery beat calls `notifications_dispatch` every
FLOWUI_NOTIFY_INTERVAL_S seconds, which runs `notifications_check` for each active tenant: it asks Airflow
(REST, the tenant's own DAGs only) for the runs of each notifying workflow that ended since the last
LOOKBACK (never before the settings were switched on). DAG code holds no platform credentials and calls
nothing back. One row per notification: a NotificationDelivery (unique per run, channel and event) is inserted
before sending; whoever inserts it sends, a concurrent check fails the insert and skips.

Retries: a send that fails for a reason that may pass (no answer, an HTTP 5xx, 408 or 429, an SMTP 4xx, a dropped
connection) is recorded `failed` with its error (shown on the run page) and tried again by a later check after
RETRY_DELAYS (1 min, 5 min, 30 min, 2 h), with the message as first written; a refusal that will not pass (a URL
the platform refuses, an HTTP 4xx, an SMTP 5xx) is final. A row left `sending` for STUCK_AFTER lost its worker
mid-send and is tried again: delivery is at least once (twice if the worker died after the message left).
Whoever moves a due row back to `sending` (a conditional UPDATE) sends it; a concurrent check skips it.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from flowui import crypto
from flowui.lib.airflow import AirflowError
from tenants.selectors import tenant_primary_domain
from workflows import supervision
from workflows.models import NotificationDelivery, NotificationSettings, Workflow
from workflows.outbound import OutboundError, UrlRefused, outbound_url_check, post_json
from workflows.selectors import notification_settings_active, notification_settings_get
from workflows.supervision_many import runs_ended_since_many

logger = logging.getLogger(__name__)

LOOKBACK = timedelta(hours=1)
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
STUCK_AFTER = timedelta(minutes=10)
MAX_EMAILS = 20
Channel, Event, State = NotificationDelivery.Channel, NotificationDelivery.Event, NotificationDelivery.State


class NotificationSettingsInvalid(Exception):
    def __init__(self, fields: dict[str, list[str]]):
        super().__init__("The notification settings are not valid.")
        self.fields = fields


# --- settings ---------------------------------------------------------------------------------
def emails_parse(value: str | list[str]) -> list[str]:
    """Addresses from a comma/space/newline separated text or a list; ValidationError naming a bad one."""
    items = value if isinstance(value, list) else str(value or "").replace("\n", ",").replace(" ", ",").split(",")
    addresses = list(dict.fromkeys(str(item).strip() for item in items if str(item).strip()))
    if len(addresses) > MAX_EMAILS:
        raise ValidationError(f"at most {MAX_EMAILS} addresses")
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError(f"{address!r} is not an e-mail address") from None
    return addresses


def notification_settings_data(*, workflow: Workflow) -> dict[str, Any]:
    """What the settings page and the API show: the webhook URL is a credential, so only its host."""
    found = notification_settings_get(workflow=workflow)
    if found is None:
        return {"on_failure": True, "on_success": False, "on_retry": False, "emails": [], "webhook_url_set": False}
    webhook_host = ""
    if found.webhook_url_encrypted:
        webhook_host = (crypto.decrypt(found.webhook_url_encrypted).split("/") + ["", "", ""])[2]
    return {
        "on_failure": found.on_failure,
        "on_success": found.on_success,
        "on_retry": found.on_retry,
        "emails": [e for e in found.emails.split(",") if e],
        "webhook_url_set": bool(found.webhook_url_encrypted),
        "webhook_host": webhook_host,
    }


def notification_settings_save(
    *,
    workflow: Workflow,
    on_failure: bool,
    on_success: bool,
    on_retry: bool,
    emails: str | list[str],
    webhook_url: str | None = None,
) -> NotificationSettings:
    """Save the workflow's notification settings. `webhook_url` None keeps the stored URL, "" removes it.
    Raises NotificationSettingsInvalid naming each bad field."""
    errors: dict[str, list[str]] = {}
    try:
        addresses = emails_parse(emails)
    except ValidationError as exc:
        errors["emails"] = list(exc.messages)
        addresses = []
    encrypted = None
    if webhook_url:
        try:
            outbound_url_check(webhook_url.strip())
            encrypted = crypto.encrypt(webhook_url.strip())
        except UrlRefused as exc:
            errors["webhook_url"] = [f"This URL is not allowed: {exc}."]
    if errors:
        raise NotificationSettingsInvalid(errors)
    found = notification_settings_get(workflow=workflow) or NotificationSettings(
        workflow=workflow, active_since=timezone.now()
    )
    was_silent = found.pk is None or not (found.emails or found.webhook_url_encrypted)
    found.on_failure, found.on_success, found.on_retry = bool(on_failure), bool(on_success), bool(on_retry)
    found.emails = ",".join(addresses)
    if webhook_url is not None:
        found.webhook_url_encrypted = encrypted or ""
    if was_silent:
        found.active_since = timezone.now()  # runs that ended while nobody listened are not announced
    found.save()
    return found


# --- delivery ---------------------------------------------------------------------------------
def _run_link(tenant, workflow: Workflow, run_id: str) -> str:
    domain = tenant_primary_domain(tenant=tenant)
    if domain is None:
        return ""
    scheme = "https" if settings.FLOWUI_PRODUCTION else "http"
    return f"{scheme}://{domain}/workflows/{workflow.slug}/runs/{run_id}/"


def _message(*, tenant, workflow: Workflow, run: dict[str, Any], event: str, detail: str) -> tuple[str, str]:
    what = {"failure": "failed", "success": "succeeded", "retry": "is retrying a task"}[event]
    subject = f"[FlowUI] {workflow.name}: run {what}"
    lines = [
        f"Workflow {workflow.name} ({workflow.slug}): run {run['run_id']} {what}.",
        f"State: {run.get('state')}; ended: {run.get('end_date') or '-'}.",
    ]
    if detail:
        lines.append(detail)
    link = _run_link(tenant, workflow, run["run_id"])
    if link:
        lines.append(f"Run page: {link}")
    return subject, "\n".join(lines)


def _send(found: NotificationSettings, channel: str, subject: str, body: str) -> None:
    if channel == Channel.EMAIL:
        to = [e for e in found.emails.split(",") if e]
        EmailMessage(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=to).send()
    else:
        post_json(crypto.decrypt(found.webhook_url_encrypted), {"text": f"*{subject}*\n{body}"})


def _retryable(exc: Exception) -> bool:
    """Whether a failed send may succeed later (see the module's docstring)."""
    if isinstance(exc, OutboundError):
        return exc.status is None or exc.status >= 500 or exc.status in (408, 429)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, (UrlRefused, ValueError)):
        return False
    return isinstance(exc, (OSError, smtplib.SMTPException))  # refused or dropped connections, timeouts


def _attempt(delivery: NotificationDelivery, found: NotificationSettings) -> bool:
    """Send a delivery this caller owns (state `sending`) and record the outcome; whether it was sent."""
    try:
        _send(found, delivery.channel, delivery.subject, delivery.body)
    except (OSError, smtplib.SMTPException, OutboundError, UrlRefused, ValueError) as exc:
        delivery.state, delivery.error = State.FAILED, f"{exc.__class__.__name__}: {exc}"[:2000]
        retry = _retryable(exc) and delivery.attempts <= len(RETRY_DELAYS)
        delivery.next_attempt_at = timezone.now() + RETRY_DELAYS[delivery.attempts - 1] if retry else None
        logger.warning(
            "Notification %s of %s failed (attempt %d, %s): %s",
            delivery.channel,
            delivery.run_id,
            delivery.attempts,
            f"again at {delivery.next_attempt_at:%H:%M:%S}" if retry else "final",
            exc,
        )
    else:
        delivery.state, delivery.error, delivery.sent_at = State.SENT, "", timezone.now()
        delivery.next_attempt_at = None
    delivery.save(update_fields=["state", "error", "sent_at", "next_attempt_at"])
    return delivery.state == State.SENT


def _deliver(*, tenant, found: NotificationSettings, run: dict[str, Any], event: str, detail: str = "") -> int:
    """Send the run's event on every configured channel that has not had it yet; the number sent."""
    channels = [c for c, on in ((Channel.EMAIL, found.emails), (Channel.WEBHOOK, found.webhook_url_encrypted)) if on]
    sent = 0
    for channel in channels:
        subject, body = _message(tenant=tenant, workflow=found.workflow, run=run, event=event, detail=detail)
        try:
            with transaction.atomic():
                delivery = NotificationDelivery.objects.create(
                    workflow=found.workflow,
                    run_id=run["run_id"],
                    channel=channel,
                    event=event,
                    run_ended_at=run.get("end_date"),
                    subject=subject[:300],
                    body=body,
                )
        except IntegrityError:
            continue  # delivered (or being delivered) by an earlier or concurrent check
        sent += _attempt(delivery, found)
    return sent


def deliveries_retry_due(*, now=None) -> int:
    """Send again, once each, the current tenant's deliveries that are due: failed ones whose next attempt has
    come, and `sending` ones older than STUCK_AFTER. Only where the workflow still notifies on that channel, and
    not past the last of RETRY_DELAYS (a worker that dies on every attempt stops too). The number sent."""
    now = now or timezone.now()
    due = NotificationDelivery.objects.filter(
        Q(state=State.FAILED, next_attempt_at__lte=now) | Q(state=State.SENDING, attempted_at__lte=now - STUCK_AFTER)
    ).select_related("workflow__notification_settings")
    sent = 0
    for delivery in due.order_by("id")[:100]:  # the rest on the next check
        found = getattr(delivery.workflow, "notification_settings", None)
        configured = found is not None and (
            found.emails if delivery.channel == Channel.EMAIL else found.webhook_url_encrypted
        )
        if not configured:
            given_up = "not retried: the workflow no longer notifies on this channel"
        elif not delivery.body:
            given_up = "not retried: recorded before retries kept the message"
        elif delivery.attempts > len(RETRY_DELAYS):
            given_up = f"not retried: {delivery.attempts} attempts made"
        else:
            given_up = ""
        if given_up:
            NotificationDelivery.objects.filter(pk=delivery.pk, state=delivery.state).update(
                state=State.FAILED, next_attempt_at=None, error=f"{delivery.error} ({given_up})".lstrip()
            )
            continue
        claimed = NotificationDelivery.objects.filter(
            pk=delivery.pk, state=delivery.state, attempts=delivery.attempts
        ).update(state=State.SENDING, attempts=F("attempts") + 1, attempted_at=now, next_attempt_at=None)
        if not claimed:
            continue  # a concurrent check took it
        delivery.state, delivery.attempts, delivery.attempted_at = State.SENDING, delivery.attempts + 1, now
        sent += _attempt(delivery, found)
    return sent


def _failed_tasks(tenant, workflow: Workflow, run_id: str) -> str:
    try:
        tasks = supervision.task_instances_list(tenant=tenant, workflow=workflow, run_id=run_id)
    except (AirflowError, supervision.RunNotFound):
        return ""
    failed = [t["task_id"] for t in tasks if t["state"] in ("failed", "upstream_failed")]
    return f"Failed tasks: {', '.join(failed)}." if failed else ""


def notifications_check(*, tenant) -> int:
    """One pass over the current tenant's notifying workflows (in its schema): send what is due. Returns the
    number of notifications sent. Airflow errors of one workflow are logged and leave the others unaffected."""
    now = timezone.now()
    sent = deliveries_retry_due(now=now)
    active = list(notification_settings_active())
    ending = [f for f in active if f.on_failure or f.on_success]
    try:  # one Airflow call for every notifying workflow of the tenant (this runs every few seconds)
        ended = runs_ended_since_many(
            tenant=tenant, since_by_workflow={f.workflow: max(f.active_since, now - LOOKBACK) for f in ending}
        )
    except AirflowError as exc:
        logger.warning("Notifications of %s: Airflow did not answer (%s)", tenant.schema_name, exc)
        ended = {}
    for found in active:
        workflow = found.workflow
        try:
            for run in ended.get(workflow.pk, []):
                event = Event.FAILURE if run["state"] == "failed" else Event.SUCCESS
                if (event == Event.FAILURE and found.on_failure) or (event == Event.SUCCESS and found.on_success):
                    detail = _failed_tasks(tenant, workflow, run["run_id"]) if event == Event.FAILURE else ""
                    sent += _deliver(tenant=tenant, found=found, run=run, event=event, detail=detail)
            if found.on_retry:
                retrying = supervision.tasks_in_state(tenant=tenant, workflow=workflow, states=["up_for_retry"])
                for run_id in sorted({t["run_id"] for t in retrying}):
                    tasks = ", ".join(sorted(t["task_id"] for t in retrying if t["run_id"] == run_id))
                    run = {"run_id": run_id, "state": "running", "end_date": None}
                    sent += _deliver(
                        tenant=tenant, found=found, run=run, event=Event.RETRY, detail=f"Retrying: {tasks}."
                    )
        except AirflowError as exc:
            logger.warning("Notifications of %s: Airflow did not answer (%s)", workflow.slug, exc)
    return sent


NOTIFY_TASK_NAME = "workflows: notify about finished runs"


def notifications_schedule_ensure() -> None:
    """Register the notifications dispatcher with Celery beat (idempotent; an edited interval is kept)."""
    if PeriodicTask.objects.filter(name=NOTIFY_TASK_NAME).exists():
        return
    interval, _ = IntervalSchedule.objects.get_or_create(
        every=settings.FLOWUI_NOTIFY_INTERVAL_S, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.get_or_create(
        name=NOTIFY_TASK_NAME, defaults={"task": "workflows.notifications_dispatch", "interval": interval}
    )
