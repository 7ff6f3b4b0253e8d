"""Login brute force: after FLOWUI_LOGIN_FAILURE_LIMIT failures for one username from one IP, that pair is
locked out with a clear message (django-axes, counters in the Redis cache); other IPs still log in."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.test import Client


def test_it_locks_out_a_username_and_ip_after_repeated_failures(tenant_a, make_user):
    username = f"lock-{uuid.uuid4().hex[:8]}"  # the counters live in Redis, across test sessions
    make_user(username, tenant=tenant_a, role="viewer")
    attacker = Client(HTTP_HOST="acme.localhost", REMOTE_ADDR="198.51.100.9")
    limit = settings.FLOWUI_LOGIN_FAILURE_LIMIT
    for attempt in range(limit - 1):
        wrong = attacker.post("/login/", {"username": username, "password": f"guess-{attempt}"})
        assert wrong.status_code == 200 and "didn't match" in wrong.content.decode()
    locked = attacker.post("/login/", {"username": username, "password": "guess-last"})
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Too many failed logins" in page and username in page and f"failed {limit} times" in page
    # Even the right password is refused from there while locked.
    right = attacker.post("/login/", {"username": username, "password": "pw"})
    assert right.status_code == 429

    # The same user from another address is not locked out; a success resets that pair's counter.
    elsewhere = Client(HTTP_HOST="acme.localhost", REMOTE_ADDR="198.51.100.10")
    assert elsewhere.post("/login/", {"username": username, "password": "pw"}).status_code == 302
    assert elsewhere.get("/").status_code == 200


def test_it_limits_anonymous_api_requests_per_ip(tenant_a, settings, db):
    settings.FLOWUI_API_RATE = "2/min"
    ip = f"192.0.2.{uuid.uuid4().int % 250 + 1}"
    anonymous = Client(HTTP_HOST="acme.localhost", REMOTE_ADDR=ip)
    statuses = [anonymous.get("/api/workflows/").status_code for _ in range(3)]
    assert statuses[:2] == [403, 403] or statuses[:2] == [401, 401], statuses
    assert statuses[2] == 429
    other = Client(HTTP_HOST="acme.localhost", REMOTE_ADDR="192.0.2.251" if ip != "192.0.2.251" else "192.0.2.252")
    assert other.get("/api/workflows/").status_code != 429
