"""The REST API under load, served by the production server (gunicorn, as `make run` and the image start it).

    .venv/bin/python bench/api_load.py [--seconds 30] [--connections 32] [--workflows 200]

Uses its own PostgreSQL database and a tenant `bench` holding N workflows, starts gunicorn with
flowui/gunicorn_conf.py (DEBUG off, WEB_CONCURRENCY workers x WEB_THREADS threads as set, else its defaults) on a
free port, then with an asyncio client (aiohttp, one keep-alive connection per concurrent client), in --rounds
alternating slices of each phase (a slower stretch of the machine falls on both alike):
- `hello`: 10 s against a trivial Django view on the tenant domain (/favicon.ico: the same middleware stack,
  no database query of its own), the ceiling of this server on this machine;
- `api`: the main measurement, alternating `GET /api/workflows/` and `GET /api/workflows/<slug>/` (a random
  slug) with an API token.
The client runs on the same 2 cores as the server: both phases pay for it alike.
The API rate limit is raised for the run (a throttled request would count as an error).

The last line printed is one JSON object: {"rps", "p50_ms", "p99_ms", "errors", "hello_rps", "ratio",
"requests", "workers", "threads"}. Target: errors == 0, p99_ms <= 500, ratio (rps / hello_rps) >= 0.3.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HOME = REPO / "var" / "bench" / "api_load"
sys.path.insert(0, str(REPO))

from devstack import procs  # noqa: E402
from devstack.services import ensure_database  # noqa: E402
from flowui import gunicorn_conf  # noqa: E402


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def spec(i: int) -> dict:
    operator = {"repository": "bench-echo", "name": "echo", "version": "1.0.0"}
    return {
        "nodes": [
            {"id": "first", "operator": operator, "inputs": {"text": {"value": f"hello {i}"}}},
            {"id": "second", "operator": operator, "inputs": {"text": {"from": "first", "field": "text"}}},
        ],
        "edges": [{"source": "first", "target": "second"}],
        "tags": ["bench"],
    }


def bench_env(database: str, redis_db: int) -> dict[str, str]:
    """The platform's settings for a bench run (also bench/api_cpu.py): its own database (made here) and Redis
    number, files under HOME, DEBUG off, the API rate limit out of the way."""
    HOME.mkdir(parents=True, exist_ok=True)
    ensure_database(database)
    return {
        "DJANGO_SETTINGS_MODULE": "flowui.settings",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "VOLUME_MOUNT_PATH_HOST": str(HOME / "volume"),
        "FLOWUI_DAGS_DIR": str(HOME / "dags"),
        "FLOWUI_SECRETS_DIR": str(HOME / "secrets"),
        "FLOWUI_API_RATE": "10000000/min",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
    }


def prepare(workflows: int) -> tuple[str, list[str]]:
    """Tenant `bench` with exactly `workflows` workflows and an editor's API token: (token, slugs)."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django_tenants.utils import tenant_context

    from tenants.services import api_token_create, membership_set, public_tenant_ensure, tenant_ensure
    from workflows import services
    from workflows.models import Workflow

    call_command("migrate_schemas", "--noinput", "-v", "0")
    public_tenant_ensure()
    tenant = tenant_ensure(schema_name="bench", name="Bench", domain="bench.localhost")
    user, _ = get_user_model().objects.get_or_create(username="bench-api", defaults={"email": "b@example.com"})
    membership_set(user=user, tenant=tenant, role="editor")
    _, token = api_token_create(user=user, tenant=tenant, name=f"bench {time.time():.0f}")
    with tenant_context(tenant):
        have = Workflow.objects.count()
        for i in range(have, workflows):
            services.workflow_create(name=f"Bench workflow {i:04d}", spec=spec(i), user=None)
        slugs = list(Workflow.objects.order_by("slug").values_list("slug", flat=True)[:workflows])
    return token, slugs


async def load(base: str, paths, headers: dict, seconds: float, connections: int) -> dict:
    import aiohttp

    latencies: list[float] = []
    errors = 0
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds

    async def client(session) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            path = paths()
            started = time.perf_counter()
            try:
                async with session.get(base + path, headers=headers) as response:
                    await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1
                    if response.status != 200:
                        errors += 1
            except (TimeoutError, aiohttp.ClientError):
                errors += 1
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=connections, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(client(session) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    return {"latencies": latencies, "elapsed": elapsed, "errors": errors, "statuses": statuses}


def pooled(parts: list[dict]) -> dict:
    """Figures of one or more `load` slices: requests over the summed time, percentiles of all latencies."""
    latencies = sorted(value for part in parts for value in part["latencies"])
    elapsed = sum(part["elapsed"] for part in parts)
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    statuses: dict[int, int] = {}
    for part in parts:
        for status, count in part["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    return {
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(q[49] * 1000, 1),
        "p99_ms": round(q[98] * 1000, 1),
        "errors": sum(part["errors"] for part in parts),
        "requests": len(latencies),
        "statuses": statuses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--hello-seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workflows", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=6, help="alternating hello/api slices")
    parser.add_argument("--database", default="flowui_bench_api")
    parser.add_argument("--redis-db", type=int, default=6)
    args = parser.parse_args()

    env = bench_env(args.database, args.redis_db)
    os.environ.update(env)
    token, slugs = prepare(args.workflows)
    log(f"tenant bench: {len(slugs)} workflows")

    from devstack.__main__ import web_command

    port = procs.free_port()
    run_dir = HOME / "run"
    procs.stop("web", run_dir)
    server_env = dict(os.environ, **env)
    procs.start("web", web_command(str(port)), run_dir=run_dir, env=server_env, cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while not procs.port_open("127.0.0.1", port):
            if time.monotonic() > deadline or procs.running_pid("web", run_dir) is None:
                raise SystemExit(f"gunicorn did not start (see {run_dir / 'web.log'})")
            time.sleep(0.2)
        base = f"http://127.0.0.1:{port}"
        host = {"Host": "bench.localhost"}
        api_headers = {**host, "Authorization": f"Bearer {token}", "Accept": "application/json"}

        def api_path() -> str:
            return "/api/workflows/" if random.random() < 0.5 else f"/api/workflows/{random.choice(slugs)}/"

        # Warm every worker (imports, first connections: tens of seconds on a busy machine) before measuring.
        warm_deadline = time.monotonic() + 300
        while time.monotonic() < warm_deadline:
            warm = pooled([asyncio.run(load(base, api_path, api_headers, 3, args.connections))])
            log(f"warm-up: {warm}")
            if warm["errors"] == 0 and warm["p99_ms"] < 2000 and warm["requests"] > args.connections:
                break

        # Both phases in alternating slices, so that a slower or faster stretch of this (virtual) machine falls
        # on both alike: the ratio compares like with like. Latencies and counts are pooled over the slices.
        hello_parts, api_parts = [], []
        for _ in range(args.rounds):
            hello_parts.append(
                asyncio.run(
                    load(base, lambda: "/favicon.ico", host, args.hello_seconds / args.rounds, args.connections)
                )
            )
            api_parts.append(
                asyncio.run(load(base, api_path, api_headers, args.seconds / args.rounds, args.connections))
            )
        hello, api = pooled(hello_parts), pooled(api_parts)
        log(f"hello: {hello}")
        log(f"api:   {api}")
    finally:
        procs.stop("web", run_dir)
    print(
        json.dumps(
            {
                "rps": api["rps"],
                "p50_ms": api["p50_ms"],
                "p99_ms": api["p99_ms"],
                "errors": api["errors"],
                "hello_rps": hello["rps"],
                "ratio": round(api["rps"] / hello["rps"], 3) if hello["rps"] else None,
                "requests": api["requests"],
                "workers": gunicorn_conf.workers,
                "threads": gunicorn_conf.threads,
            }
        )
    )


if __name__ == "__main__":
    main()
