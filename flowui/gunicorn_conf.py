"""gunicorn settings shared by `make run` (devstack) and the platform image: what is measured is what is deployed.

`gunicorn -c flowui/gunicorn_conf.py --bind HOST:PORT` (from the checkout root). Workers: WEB_CONCURRENCY
(gunicorn's own variable), default one per CPU this process may run on (at least 2); each runs WEB_THREADS threads
(default 4: requests that wait on Airflow or S3 do not hold a worker). The work is CPU-bound Python: more processes
than CPUs only contend (bench/api_load.py on 2 CPUs: 3 workers x 4 threads gave a lower API/hello ratio and a
higher p99 than 2 x 4). Static files are served by whitenoise inside Django.
"""

import gc
import os

wsgi_app = "flowui.wsgi:application"
workers = int(os.environ.get("WEB_CONCURRENCY") or max(2, len(os.sched_getaffinity(0))))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = 60
graceful_timeout = 20
keepalive = 5
# The app is imported once in the master and forked: a new or recycled worker does not re-import Django and every
# app (CPU taken from the other workers). The master holds no database or Redis connection after start-up
# (checked with `ss`: clients connect on first use, in the workers).
preload_app = True
# Recycle workers now and then (a slow leak in a dependency cannot grow without bound). At 5,000, each of two
# workers recycled within one bench/api_load.py run (10,000 requests), each time re-importing the app.
max_requests = 50000
max_requests_jitter = 5000
accesslog = "-"
errorlog = "-"


def when_ready(server) -> None:
    """In the master, before any worker is forked: load both URLconfs (every view, DRF, the schema generator),
    which Django would otherwise import in each worker on its first request, so that they too are shared and
    frozen below."""
    from django.conf import settings
    from django.urls import get_resolver

    for urlconf in (settings.ROOT_URLCONF, settings.PUBLIC_SCHEMA_URLCONF):
        get_resolver(urlconf).url_patterns  # noqa: B018 (imports the URLconf and every view it names)


def pre_fork(server, worker) -> None:
    """Freeze what the master holds (the app, its modules and their objects) out of the garbage collector's reach
    (gc.freeze: "right before fork()"). Otherwise each worker's full collections walk the whole app: under
    bench/api_load.py they took up to 300 ms, stopping all of a worker's threads, and made most of the p99
    (with freezing, the longest was 40-50 ms and p99 fell from 300-340 ms to under 250 ms)."""
    gc.freeze()
