"""The workflow's notification settings (a section of the settings page, also a page of its own):
on failure / success / retry, e-mail addresses, a Slack-compatible webhook URL (write-only)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from workflows.notifications import NotificationSettingsInvalid, notification_settings_data, notification_settings_save
from workflows.views_common import workflow_or_404


def workflow_notifications(request, slug: str):
    workflow = workflow_or_404(slug)
    errors: dict[str, list[str]] = {}
    saved = False
    form = None
    if request.method == "POST":
        if not request.membership.has_role("editor"):
            raise PermissionDenied("This needs the editor role.")
        post = request.POST
        webhook_url = post.get("webhook_url", "").strip()
        try:
            notification_settings_save(
                workflow=workflow,
                on_failure=post.get("on_failure") == "1",
                on_success=post.get("on_success") == "1",
                on_retry=post.get("on_retry") == "1",
                emails=post.get("emails", ""),
                # empty keeps the stored URL; the "remove" box deletes it
                webhook_url="" if post.get("webhook_remove") == "1" else (webhook_url or None),
            )
            saved = True
        except NotificationSettingsInvalid as exc:
            errors = exc.fields
            form = {
                "on_failure": post.get("on_failure") == "1",
                "on_success": post.get("on_success") == "1",
                "on_retry": post.get("on_retry") == "1",
                "emails": [e for e in post.get("emails", "").replace("\n", ",").split(",") if e.strip()],
                "webhook_url_value": webhook_url,
            }
    data = notification_settings_data(workflow=workflow)
    context = {"workflow": workflow, "notify": {**data, **(form or {})}, "errors": errors, "saved": saved}
    template = "workflows/partials/notifications_form.html" if request.htmx else "workflows/notifications.html"
    return render(request, template, context, status=400 if errors else 200)
