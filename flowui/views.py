"""Platform-level pages: landing, tenant home, health."""

from __future__ import annotations

from datetime import UTC, datetime

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from flowui.celery import app
from flowui.lib.airflow import AirflowClient, AirflowError
from tenants.selectors import tenant_primary_domain, tenants_for_user


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _check_redis() -> str:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return "ok"


# Airflow components whose heartbeat /healthz reports: (name in the health answer, heartbeat key, required).
# The triggerer is optional (only deferrable tasks need it): reported when Airflow knows one, never required.
AIRFLOW_COMPONENTS = (
    ("scheduler", "latest_scheduler_heartbeat", True),
    ("dag_processor", "latest_dag_processor_heartbeat", True),
    ("triggerer", "latest_triggerer_heartbeat", False),
)


def _heartbeat_age(value: str | None) -> float | None:
    if not value:
        return None
    beat = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return round(max(0.0, (datetime.now(UTC) - beat).total_seconds()), 1)


def _airflow_components() -> tuple[str, dict[str, dict]]:
    """Airflow's own health per component, with the age of each heartbeat. A component is ok only when Airflow
    calls it healthy AND its last heartbeat is younger than FLOWUI_HEALTH_HEARTBEAT_MAX_AGE_S (Airflow keeps
    calling a dead component healthy for 30 s after its last heartbeat)."""
    client = AirflowClient(settings.AIRFLOW_URL, settings.AIRFLOW_USERNAME, settings.AIRFLOW_PASSWORD, 3)
    health = client.health()
    max_age = settings.FLOWUI_HEALTH_HEARTBEAT_MAX_AGE_S
    components: dict[str, dict] = {"api_server": {"status": "ok"}}
    database = (health.get("metadatabase") or {}).get("status")
    components["metadatabase"] = {"status": "ok" if database == "healthy" else f"unhealthy ({database})"}
    for name, key, required in AIRFLOW_COMPONENTS:
        info = health.get(name) or {}
        age = _heartbeat_age(info.get(key))
        if not required and age is None:
            continue
        if info.get("status") != "healthy":
            status = f"unhealthy ({info.get('status')})"
        elif age is None or age > max_age:
            status = f"stale (no heartbeat for {age} s)" if age is not None else "no heartbeat"
        else:
            status = "ok"
        components[name] = {"status": status, "heartbeat_age_s": age}
    failing = [
        name
        for name, info in components.items()
        if info["status"] != "ok" and next((r for n, _, r in AIRFLOW_COMPONENTS if n == name), True)
    ]
    return ("ok" if not failing else "unhealthy: " + ", ".join(sorted(failing))), components


def _check_celery() -> str:
    """At least one Celery worker answers a ping through the broker (1 s at most)."""
    replies = app.control.ping(timeout=1.0, limit=1)
    return "ok" if replies else "down: no Celery worker answered a ping"


FAVICON = settings.BASE_DIR / "static" / "favicon.ico"


@require_GET
def favicon(request):
    """/favicon.ico on every domain (browsers ask for it before any page links it), cached for a day."""
    response = HttpResponse(FAVICON.read_bytes(), content_type="image/x-icon")
    response["Cache-Control"] = "public, max-age=86400"
    return response


@require_GET
def healthz(request):
    """Each part of the platform: database, Redis, Celery workers, and Airflow per component (api-server,
    metadatabase, scheduler, dag-processor, triggerer when present) with heartbeat ages. 200 when all are ok."""
    results: dict[str, object] = {}
    for name, check in (("database", _check_database), ("redis", _check_redis), ("celery", _check_celery)):
        try:
            results[name] = check()
        except Exception as exc:  # a health page must not 500
            results[name] = f"down: {exc}"
    try:
        results["airflow"], results["airflow_components"] = _airflow_components()
    except (AirflowError, OSError, Exception) as exc:
        results["airflow"], results["airflow_components"] = f"down: {exc}", {"api_server": {"status": f"down: {exc}"}}
    healthy = all(results[name] == "ok" for name in ("database", "redis", "celery", "airflow"))
    return JsonResponse({"status": "ok" if healthy else "degraded", **results}, status=200 if healthy else 503)


def landing(request):
    tenants = []
    if request.user.is_authenticated:
        tenants = [(t, tenant_primary_domain(tenant=t)) for t in tenants_for_user(user=request.user)]
    return render(request, "landing.html", {"tenants": tenants, "port": request.get_port()})
