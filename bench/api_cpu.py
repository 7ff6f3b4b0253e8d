"""CPU per API request inside one process: the steadier companion of bench/api_load.py.

    .venv/bin/python bench/api_cpu.py [--samples 300] [--workflows 200]

Same database and tenant as api_load.py (its `prepare`: tenant `bench`, N workflows, an editor's API token).
Calls Django's WSGI application directly (the full middleware stack, DEBUG off, no HTTP server), interleaving
the three requests of api_load.py: `hello` (/favicon.ico on the tenant domain), `detail` (GET /api/workflows/<slug>/)
and `list` (GET /api/workflows/, a page of 50). Each request's CPU is the calling thread's (time.thread_time:
PostgreSQL's and Redis's own work is not in it). On this kind of virtual machine the speed drifts by 10-25 %
within a minute: the lowest tenth of each kind's samples is reported, and the ratios to hello are the figures to
compare between versions (they move far less than the milliseconds).

The last line printed is one JSON object: {"hello_ms", "detail_ms", "list_ms", "detail_per_hello",
"list_per_hello", "samples"}. No target: a measuring tool for changes on the API's path.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import api_load  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--workflows", type=int, default=200)
    parser.add_argument("--database", default="flowui_bench_api")
    parser.add_argument("--redis-db", type=int, default=6)
    args = parser.parse_args()

    static = api_load.HOME / "static"  # whitenoise warns on every request about a missing folder
    static.mkdir(parents=True, exist_ok=True)
    os.environ.update(api_load.bench_env(args.database, args.redis_db), FLOWUI_STATIC_ROOT=str(static))
    token, slugs = api_load.prepare(args.workflows)

    from django.core.wsgi import get_wsgi_application

    app = get_wsgi_application()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_ACCEPT": "application/json"}
    status: list[str] = []

    def start_response(line: str, response_headers, exc_info=None) -> None:
        status.append(line)

    def request_cpu(path: str) -> float:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "bench.localhost",
            "SERVER_PORT": "80",
            "HTTP_HOST": "bench.localhost",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
            **headers,
        }
        status.clear()
        started = time.thread_time()
        body = b"".join(app(environ, start_response))
        spent = time.thread_time() - started
        if not status[0].startswith("200"):
            raise SystemExit(f"{path}: {status[0]} {body[:300]!r}")
        return spent

    kinds = {
        "hello": lambda: "/favicon.ico",
        "detail": lambda: f"/api/workflows/{random.choice(slugs)}/",
        "list": lambda: "/api/workflows/",
    }
    for _ in range(30):  # imports, connections, caches
        for path in kinds.values():
            request_cpu(path())
    samples: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _ in range(args.samples):
        for kind, path in kinds.items():
            samples[kind].append(request_cpu(path()))
    low = {kind: sorted(values)[len(values) // 10] * 1000 for kind, values in samples.items()}
    print(
        json.dumps(
            {
                "hello_ms": round(low["hello"], 3),
                "detail_ms": round(low["detail"], 3),
                "list_ms": round(low["list"], 3),
                "detail_per_hello": round(low["detail"] / low["hello"], 2),
                "list_per_hello": round(low["list"] / low["hello"], 2),
                "samples": args.samples,
            }
        )
    )


if __name__ == "__main__":
    main()
