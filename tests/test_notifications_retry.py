"""Run notifications are retried: a send that may succeed later is tried again after RETRY_DELAYS with the same
message, a final refusal is not, a `sending` row whose worker died is sent again; against a real local HTTP
server and a real SMTP server (aiosmtpd) that fail on cue."""

from __future__ import annotations

import re
import smtplib
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from workflows import notifications
from workflows.models import NotificationDelivery, Workflow
from workflows.outbound import OutboundError, UrlRefused

RUN = {"run_id": "manual__2026-12-03T09:00:00", "state": "failed", "end_date": "2026-12-03T09:01:00+00:00"}


@pytest.fixture
def hook(settings):
    """A webhook on loopback (let through: FLOWUI_NOTIFY_ALLOW_PRIVATE) that answers the statuses in `answers` in
    turn (then 200): (answers, received bodies, url)."""
    settings.FLOWUI_NOTIFY_ALLOW_PRIVATE = True
    answers: list[int] = []
    received: list[bytes] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            received.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            self.send_response(answers.pop(0) if answers else 200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield answers, received, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def notifying(tenant, *, webhook_url: str = "", emails: list[str] | None = None):
    workflow = Workflow.objects.create(name="Notified", slug="notified")
    return notifications.notification_settings_save(
        workflow=workflow,
        on_failure=True,
        on_success=False,
        on_retry=False,
        emails=emails or [],
        webhook_url=webhook_url,
    )


def test_it_retries_a_webhook_that_failed_for_now_with_the_same_message(tenant_a, hook):
    answers, received, url = hook
    answers += [503]
    with tenant_context(tenant_a):
        found = notifying(tenant_a, webhook_url=url)
        started = timezone.now()
        assert notifications._deliver(tenant=tenant_a, found=found, run=RUN, event="failure") == 0
        delivery = NotificationDelivery.objects.get()
        assert (delivery.state, delivery.attempts) == ("failed", 1) and "HTTP 503" in delivery.error
        assert started + timedelta(seconds=59) < delivery.next_attempt_at < timezone.now() + timedelta(seconds=61)

        assert notifications.deliveries_retry_due(now=started + timedelta(seconds=30)) == 0
        assert len(received) == 1  # not due yet
        assert notifications.deliveries_retry_due(now=started + timedelta(seconds=90)) == 1
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts, delivery.error, delivery.next_attempt_at) == ("sent", 2, "", None)
        assert received[0] == received[1] and b"Notified" in received[1]
        assert notifications.deliveries_retry_due(now=started + timedelta(days=1)) == 0
        assert len(received) == 2


def test_it_does_not_retry_a_refusal_and_gives_up_after_the_last_delay(tenant_a, hook):
    answers, received, url = hook
    with tenant_context(tenant_a):
        found = notifying(tenant_a, webhook_url=url)
        answers += [404]
        notifications._deliver(tenant=tenant_a, found=found, run=RUN, event="failure")
        refused = NotificationDelivery.objects.get()
        assert (refused.state, refused.next_attempt_at) == ("failed", None) and "HTTP 404" in refused.error

        answers += [500] * 10
        notifications._deliver(tenant=tenant_a, found=found, run={**RUN, "run_id": "r2"}, event="failure")
        at = timezone.now()
        for _ in range(10):
            at += timedelta(hours=3)
            notifications.deliveries_retry_due(now=at)
        failing = NotificationDelivery.objects.get(run_id="r2")
        assert (failing.state, failing.attempts, failing.next_attempt_at) == ("failed", 5, None)
        assert len(received) == 1 + 5  # the refused one once, the failing one 1 + len(RETRY_DELAYS) times
        assert len(notifications.RETRY_DELAYS) == 4


def test_it_sends_again_what_a_dead_worker_left_sending(tenant_a, hook):
    _, received, url = hook
    with tenant_context(tenant_a):
        found = notifying(tenant_a, webhook_url=url)
        left = NotificationDelivery.objects.create(
            workflow=found.workflow, run_id="r3", channel="webhook", event="failure", subject="s", body="b"
        )
        now = timezone.now()
        assert notifications.deliveries_retry_due(now=now + timedelta(minutes=5)) == 0  # in flight
        assert notifications.deliveries_retry_due(now=now + timedelta(minutes=11)) == 1
        left.refresh_from_db()
        assert (left.state, left.attempts) == ("sent", 2) and received == [b'{"text": "*s*\\nb"}']


def test_it_stops_retrying_what_its_worker_left_sending_on_every_attempt(tenant_a, hook):
    _, received, url = hook
    with tenant_context(tenant_a):
        found = notifying(tenant_a, webhook_url=url)
        left = NotificationDelivery.objects.create(
            workflow=found.workflow, run_id="r4", channel="webhook", event="failure", subject="s", body="b", attempts=5
        )
        assert notifications.deliveries_retry_due(now=timezone.now() + timedelta(minutes=11)) == 0
        left.refresh_from_db()
        assert (left.state, left.next_attempt_at, received) == ("failed", None, [])
        assert "5 attempts" in left.error


def test_it_drops_a_retry_whose_channel_was_removed(tenant_a, settings, hook):
    answers, received, url = hook
    answers += [502]
    with tenant_context(tenant_a):
        found = notifying(tenant_a, webhook_url=url, emails=["ops@example.com"])
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        notifications._deliver(tenant=tenant_a, found=found, run=RUN, event="failure")
        notifications.notification_settings_save(
            workflow=found.workflow,
            on_failure=True,
            on_success=False,
            on_retry=False,
            emails=["ops@example.com"],
            webhook_url="",
        )
        assert notifications.deliveries_retry_due(now=timezone.now() + timedelta(hours=1)) == 0
        webhook = NotificationDelivery.objects.get(channel="webhook")
        assert (webhook.state, webhook.next_attempt_at, len(received)) == ("failed", None, 1)
        assert NotificationDelivery.objects.get(channel="email").state == "sent"


def test_it_retries_mail_the_server_deferred(tenant_a, smtp_server):
    handler, _ = smtp_server
    handler.answers.append("451 4.3.0 Try again later")
    with tenant_context(tenant_a):
        found = notifying(tenant_a, emails=["ops@example.com"])
        notifications._deliver(tenant=tenant_a, found=found, run=RUN, event="failure")
        deferred = NotificationDelivery.objects.get()
        assert deferred.state == "failed" and "451" in deferred.error and deferred.next_attempt_at
        assert notifications.deliveries_retry_due(now=deferred.next_attempt_at) == 1
    assert len(handler.messages) == 1 and "Notified" in handler.messages[0]["content"]


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (OutboundError("no answer"), True),
        (OutboundError("busy", status=503), True),
        (OutboundError("slow down", status=429), True),
        (OutboundError("gone", status=410), False),
        (UrlRefused("a private address"), False),
        (ConnectionRefusedError(), True),
        (smtplib.SMTPServerDisconnected(), True),
        (smtplib.SMTPDataError(451, b"later"), True),
        (smtplib.SMTPDataError(554, b"rejected"), False),
        (smtplib.SMTPRecipientsRefused({"a@example.com": (550, b"no such user")}), False),
        (smtplib.SMTPRecipientsRefused({"a@example.com": (452, b"mailbox full")}), True),
        (ValueError("bad header"), False),
    ],
)
def test_it_retries_only_what_may_pass(error, retried):
    assert notifications._retryable(error) is retried


def test_it_shows_the_next_attempt_on_the_run_page(tenant_a, hook):
    from django.template.loader import render_to_string

    answers, _, url = hook
    answers += [503]
    with tenant_context(tenant_a):
        found = notifying(tenant_a, webhook_url=url)
        notifications._deliver(tenant=tenant_a, found=found, run=RUN, event="failure")
        html = render_to_string(
            "workflows/partials/run_live.html", {"deliveries": list(NotificationDelivery.objects.all())}
        )
    assert 'data-channel="webhook" data-state="failed"' in html and "HTTP 503" in html
    assert re.search(r"attempt 1; trying again <time datetime=\"[^\"]+\" title=\"[^\"]+\">in [0-9]", html), html
