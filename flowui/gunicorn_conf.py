"""gunicorn settings shared by `make run` (devstack) and the platform image: what is measured is what is deployed.

`gunicorn -c flowui/gunicorn_conf.py --bind HOST:PORT` (from the checkout root). Workers: WEB_CONCURRENCY
(gunicorn's own variable), default 3; each runs 4 threads. Static files are served by whitenoise inside Django.
"""

import os

wsgi_app = "flowui.wsgi:application"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
worker_class = "gthread"
threads = 4
timeout = 60
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then (a slow leak in a dependency cannot grow without bound).
max_requests = 5000
max_requests_jitter = 500
accesslog = "-"
errorlog = "-"
