"""Platform-level pages: landing, tenant home, health."""

from __future__ import annotations

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from flowui.lib.airflow import AirflowClient, AirflowError


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


def _check_airflow() -> str:
    client = AirflowClient(settings.AIRFLOW_URL, settings.AIRFLOW_USERNAME, settings.AIRFLOW_PASSWORD, 3)
    health = client.health()
    # The triggerer is optional (only deferrable tasks need it); these three must be healthy.
    required = ("metadatabase", "scheduler", "dag_processor")
    unhealthy = [name for name in required if (health.get(name) or {}).get("status") != "healthy"]
    return "ok" if not unhealthy else "unhealthy: " + ", ".join(sorted(unhealthy))


FAVICON = settings.BASE_DIR / "static" / "favicon.ico"


@require_GET
def favicon(request):
    """/favicon.ico on every domain (browsers ask for it before any page links it), cached for a day."""
    response = HttpResponse(FAVICON.read_bytes(), content_type="image/x-icon")
    response["Cache-Control"] = "public, max-age=86400"
    return response


@require_GET
def healthz(request):
    checks = {"database": _check_database, "redis": _check_redis, "airflow": _check_airflow}
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            results[name] = check()
        except (AirflowError, redis.RedisError, OSError, Exception) as exc:  # a health page must not 500
            results[name] = f"down: {exc}"
    healthy = all(value == "ok" for value in results.values())
    return JsonResponse({"status": "ok" if healthy else "degraded", **results}, status=200 if healthy else 503)


def landing(request):
    tenants = []
    if request.user.is_authenticated:
        from tenants.selectors import tenant_primary_domain, tenants_for_user

        tenants = [(t, tenant_primary_domain(tenant=t)) for t in tenants_for_user(user=request.user)]
    return render(request, "landing.html", {"tenants": tenants, "port": request.get_port()})
