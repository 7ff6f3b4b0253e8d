"""Make sure PostgreSQL and Redis are reachable; start them when installed but stopped."""

from __future__ import annotations

import glob
import shutil
import subprocess
import time

from devstack.procs import port_open


class ServiceMissing(RuntimeError):
    """A service is neither running nor installed; the message says what to install."""


def _wait(host: str, port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if port_open(host, port):
            return True
        time.sleep(0.3)
    return False


def ensure_postgres(host: str = "127.0.0.1", port: int = 5432) -> str:
    if port_open(host, port):
        return "running"
    versions = sorted(glob.glob("/etc/postgresql/*"))
    if not versions or not shutil.which("pg_ctlcluster"):
        raise ServiceMissing(
            f"PostgreSQL is not running on {host}:{port} and is not installed (apt-get install postgresql)"
        )
    version = versions[-1].rsplit("/", 1)[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
        check=False,
        capture_output=True,
    )
    if not _wait(host, port, 20):
        raise ServiceMissing(f"PostgreSQL {version} was started but does not answer on {host}:{port}")
    return "started"


def ensure_redis(host: str = "127.0.0.1", port: int = 6379) -> str:
    if port_open(host, port):
        return "running"
    if not shutil.which("redis-server"):
        raise ServiceMissing(
            f"Redis is not running on {host}:{port} and is not installed (apt-get install redis-server)"
        )
    subprocess.run(
        ["redis-server", "--daemonize", "yes", "--bind", host, "--port", str(port), "--save", "", "--appendonly", "no"],
        check=False,
        capture_output=True,
    )
    if not _wait(host, port, 10):
        raise ServiceMissing(f"Redis was started but does not answer on {host}:{port}")
    return "started"


def ensure_database(name: str, host: str = "127.0.0.1", port: int = 5432, user: str = "postgres") -> None:
    """Create the database if missing (psycopg is in the platform venv)."""
    import psycopg

    with psycopg.connect(host=host, port=port, user=user, dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
