"""Human times for the portal: `{{ value|humantime }}` ("3 min ago", the exact ISO time in a title on hover)
and `{{ seconds|duration }}` ("12 s", "3 min 4 s"). The one copy of these rules."""

from __future__ import annotations

from datetime import UTC, datetime

from django import template
from django.utils.html import format_html

register = template.Library()


def _parse(value) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def duration_text(seconds) -> str:
    """12 s, 1.5 s, 3 min 4 s, 2 h 5 min, 3 d 4 h; an em dash when unknown."""
    try:
        total = float(seconds)
    except (TypeError, ValueError):
        return "—"
    if total < 0:
        return "—"
    if total < 10:
        return f"{total:.1f} s"
    whole = round(total)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def ago_text(moment: datetime, now: datetime | None = None) -> str:
    delta = ((now or datetime.now(UTC)) - moment).total_seconds()
    if -5 <= delta < 5:
        return "just now"
    if delta < 0:
        return f"in {duration_text(-delta)}"
    if delta < 60:
        return f"{int(delta)} s ago"
    if delta < 3600:
        return f"{int(delta // 60)} min ago"
    if delta < 86400:
        return f"{int(delta // 3600)} h ago"
    if delta < 86400 * 30:
        return f"{int(delta // 86400)} d ago"
    return moment.strftime("%Y-%m-%d")


@register.filter
def humantime(value):
    """A <time> element: relative text, the exact ISO time as datetime and title."""
    moment = _parse(value)
    if moment is None:
        return "—"
    exact = moment.astimezone(UTC).isoformat(timespec="seconds")
    return format_html('<time datetime="{}" title="{}">{}</time>', exact, exact, ago_text(moment))


@register.filter
def duration(value):
    return duration_text(value)
