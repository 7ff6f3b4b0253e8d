"""Container health checks that need no curl: `python -m flowui.healthcheck web` (docker-compose.yaml).

`web`: /healthz on this container answers (200, or 503 with its JSON saying what is down: the web server itself
is alive then; Airflow and Celery have their own checks). Exit 0 when healthy, 1 otherwise, one line either way.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request


def web(port: int = 8000) -> int:
    # The public domain routes /healthz (django-tenants resolves the Host); plain HTTP is exempt from the
    # production HTTPS redirect.
    host = os.environ.get("FLOWUI_PUBLIC_DOMAIN", "localhost")
    request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=8) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except OSError as exc:
        print(f"web: no answer: {exc}")
        return 1
    try:
        state = json.loads(body).get("status")
    except ValueError:
        state = None
    print(f"web: /healthz {status} {state}")
    return 0 if status in (200, 503) and state in ("ok", "degraded") else 1


def main(argv: list[str]) -> int:
    checks = {"web": web}
    if len(argv) != 1 or argv[0] not in checks:
        print(f"usage: python -m flowui.healthcheck {{{'|'.join(checks)}}}", file=sys.stderr)
        return 2
    return checks[argv[0]]()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
