"""A workflow's schedule in words and in fire times: the one place that reads a schedule for people.

Airflow 3 runs a cron schedule (and the presets, which are cron aliases) with its CronTriggerTimetable: a run
fires at each cron time from the start date on; with catchup off (every FlowUI DAG) past times are skipped.
`next_fire_times` follows that rule with croniter, the library Airflow's own cron timetables are built on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from croniter import croniter

# Airflow's preset aliases (airflow.timetables / airflow.utils.dates).
CRON_PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
}
PRESET_TEXT = {
    "@once": "Runs once, at the start date.",
    "@hourly": "Every hour, at minute 0.",
    "@daily": "Every day at 00:00 UTC.",
    "@weekly": "Every Sunday at 00:00 UTC.",
    "@monthly": "On day 1 of every month at 00:00 UTC.",
    "@yearly": "On 1 January at 00:00 UTC.",
    "@continuous": "Continuously: a new run as soon as the previous one ends.",
}
SCHEDULE_KEYS = ("schedule", "start_date", "params", "tags")


def cron_text(schedule: str | None) -> tuple[str, str]:
    """(human-readable description, error) of a schedule: None, a preset, or a cron expression."""
    if not schedule:
        return "Runs only when started by hand.", ""
    if schedule in PRESET_TEXT:
        return PRESET_TEXT[schedule], ""
    if not croniter.is_valid(schedule):
        return "", f"{schedule!r} is not a cron expression (five fields: minute hour day month weekday)."
    try:
        from cron_descriptor import Options, get_description

        options = Options()
        options.use_24hour_time_format = True
        return get_description(schedule, options) + " (UTC).", ""
    except Exception as exc:  # cron_descriptor raises its own family of errors for odd expressions
        return "", f"Cannot describe {schedule!r}: {exc}"


def _start(start_date: str | None) -> datetime | None:
    if not start_date:
        return None
    try:
        value = datetime.fromisoformat(start_date)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def next_fire_times(
    *, schedule: str | None, start_date: str | None = None, now: datetime | None = None, count: int = 5
) -> dict[str, Any]:
    """{"kind": "manual"|"continuous"|"once"|"cron"|"invalid", "text": str, "times": [datetime, ...]}:
    when Airflow will start the next `count` runs of this schedule (UTC), past times skipped (catchup off)."""
    now = now or datetime.now(UTC)
    start = _start(start_date)
    text, error = cron_text(schedule)
    if error:
        return {"kind": "invalid", "text": error, "times": []}
    if not schedule:
        return {"kind": "manual", "text": text, "times": []}
    if schedule == "@continuous":
        return {"kind": "continuous", "text": "continuously", "times": []}
    if schedule == "@once":
        times = [start] if start is not None and start > now else []
        return {"kind": "once", "text": text, "times": times}
    expression = CRON_PRESETS.get(schedule, schedule)
    # The first fire time is the first cron time at or after both the start date and now.
    base = max(start, now) if start is not None else now
    iterator = croniter(expression, base.astimezone(UTC), ret_type=datetime)
    first = base.astimezone(UTC).replace(second=0, microsecond=0)
    times = [first] if croniter.match(expression, first) and first >= base else []
    while len(times) < count:
        times.append(iterator.get_next(datetime))
    return {"kind": "cron", "text": text, "times": times[:count]}


def schedule_changes(*, saved: dict[str, Any] | None, deployed: dict[str, Any] | None) -> list[str]:
    """The schedule settings (schedule, start date, params, tags) saved but not deployed yet: [] when the
    deployed version has them all (or nothing is deployed, so there is nothing to redeploy)."""
    if not saved or deployed is None:
        return []
    return [key for key in SCHEDULE_KEYS if (saved or {}).get(key) != (deployed or {}).get(key)]
