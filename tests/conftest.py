"""Shared fixtures: real PostgreSQL (tenant schemas), Redis, Airflow, Celery worker, moto_server.

- Two tenants, `acme` (acme.localhost) and `globex` (globex.localhost), are created once per session and
  committed, so live servers, Celery workers and Airflow see them.
- `airflow` starts one real Airflow 3 for the session (own AIRFLOW_HOME and free ports) and points the
  platform's settings at it. Its DAGs folder is the test FLOWUI_DAGS_DIR (outside the tenants' storage).
- `celery_worker` starts a real worker process on the test database (tasks are eager otherwise).
- `moto_server` starts moto on loopback and sets AWS_ENDPOINT_URL for the platform's boto3 clients.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from devstack import procs
from devstack.airflow import AirflowInstance

REPO = Path(__file__).resolve().parent.parent


# --- database and tenants -------------------------------------------------------------------
@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    # Fresh tenant storage and DAG files. Airflow never parses the volume (tests plant symlinks to / and loops
    # in run folders there), only FLOWUI_DAGS_DIR, which only the platform writes.
    for folder in (Path(settings.VOLUME_MOUNT_PATH_HOST), Path(settings.FLOWUI_DAGS_DIR)):
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
    with django_db_blocker.unblock():
        session_tenants_ensure()


def session_tenants_ensure():
    """The public tenant, acme and globex. Cheap when they exist; after a `transactional_db` flush
    (which empties the public tables but keeps the schemas) it re-creates the rows only."""
    from tenants.services import public_tenant_ensure, tenant_ensure

    public_tenant_ensure()
    return (
        tenant_ensure(schema_name="acme", name="Acme", domain="acme.localhost"),
        tenant_ensure(schema_name="globex", name="Globex", domain="globex.localhost"),
    )


@pytest.fixture
def tenant_a(db):
    return session_tenants_ensure()[0]


@pytest.fixture
def tenant_b(db):
    return session_tenants_ensure()[1]


@pytest.fixture
def make_user(db):
    """make_user("alice", tenant=tenant_a, role="editor") -> a user (password "pw") with that membership."""
    from django.contrib.auth import get_user_model

    from tenants.services import membership_set

    def _make(username: str, *, tenant=None, role: str = "viewer", **extra):
        user = get_user_model().objects.create_user(username, f"{username}@example.com", "pw", **extra)
        if tenant is not None:
            membership_set(user=user, tenant=tenant, role=role)
        return user

    return _make


@pytest.fixture
def tenant_client():
    """tenant_client(tenant, user) -> a Django test Client on the tenant's domain, logged in as user."""
    from tenants.selectors import tenant_primary_domain

    def _client(tenant, user=None) -> Client:
        client = Client(HTTP_HOST=tenant_primary_domain(tenant=tenant))
        if user is not None:
            client.force_login(user)
        return client

    return _client


@pytest.fixture
def public_client() -> Client:
    return Client(HTTP_HOST="localhost")


# --- Airflow --------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def airflow_instance() -> AirflowInstance:
    home = Path(settings.FLOWUI_TEST_VAR) / "airflow"
    instance = AirflowInstance(
        home=home,
        dags_folder=Path(settings.FLOWUI_DAGS_DIR),
        port=procs.free_port(),
        password="test-admin-pw",
        extra_env={
            "FLOWUI_VENVS_DIR": str(settings.FLOWUI_VENVS_DIR),
            "FLOWUI_SECRETS_DIR": str(settings.FLOWUI_SECRETS_DIR),
            # A secret name operators declare, also in the worker's environment: it must never reach them
            # (tests/test_runtime_secrets.py).
            "RT_API_KEY": "worker-environment-value",
        },
    )
    # Three consecutive ports must be free (api, worker log server, trigger log server).
    while any(procs.port_open("127.0.0.1", p) for p in (instance.port + 1, instance.port + 2)):
        instance.port = procs.free_port()
    instance.start()
    yield instance
    instance.stop()


@pytest.fixture(scope="session")
def _airflow_settings(airflow_instance):
    settings.AIRFLOW_URL = airflow_instance.url
    settings.AIRFLOW_USERNAME = airflow_instance.username
    settings.AIRFLOW_PASSWORD = airflow_instance.password
    return airflow_instance


@pytest.fixture
def airflow(_airflow_settings, settings):
    """The session's real Airflow, with settings pointing at it for this test."""
    settings.AIRFLOW_URL = _airflow_settings.url
    settings.AIRFLOW_USERNAME = _airflow_settings.username
    settings.AIRFLOW_PASSWORD = _airflow_settings.password
    return _airflow_settings


# --- Celery ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def _celery_worker_process(django_db_setup, _airflow_settings):
    """A real worker on the test database. Started once; tests using it must commit their data."""
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "VOLUME_MOUNT_PATH_HOST": str(settings.VOLUME_MOUNT_PATH_HOST),
            "FLOWUI_DAGS_DIR": str(settings.FLOWUI_DAGS_DIR),
            "FLOWUI_TEST_VAR": str(settings.FLOWUI_TEST_VAR),
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "FLOWUI_TESTING": "true",
            "AIRFLOW_URL": _airflow_settings.url,
            "AIRFLOW_USERNAME": _airflow_settings.username,
            "AIRFLOW_PASSWORD": _airflow_settings.password,
        }
    )
    run_dir = Path(settings.FLOWUI_TEST_VAR) / "run"
    queue = f"test-{db['NAME']}"
    procs.stop("celery-worker", run_dir)
    procs.start(
        "celery-worker",
        [sys.executable, "-m", "celery", "-A", "flowui", "worker", "-c", "2", "-Q", queue, "-l", "info"],
        run_dir=run_dir,
        env=env,
        cwd=REPO,
    )
    time.sleep(1)
    yield queue
    procs.stop("celery-worker", run_dir)


@pytest.fixture
def celery_worker(_celery_worker_process, settings):
    """Tasks go to the real worker process (through Redis) instead of running eagerly."""
    from flowui.celery import app

    # Read the current values first: Celery loads its conf lazily from Django settings on first access.
    previous = (app.conf.task_always_eager, app.conf.task_default_queue)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    app.conf.task_default_queue = _celery_worker_process
    yield _celery_worker_process
    app.conf.task_always_eager, app.conf.task_default_queue = previous


# --- AWS through moto_server ----------------------------------------------------------------
class MotoServer:
    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.port = procs.free_port()
        self.env_extra: dict[str, str] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = dict(os.environ, **self.env_extra)
        moto = str(Path(sys.executable).parent / "moto_server")
        procs.start("moto", [moto, "-H", "127.0.0.1", "-p", str(self.port)], run_dir=self.run_dir, env=env)
        deadline = time.monotonic() + 20
        while not procs.port_open("127.0.0.1", self.port):
            if time.monotonic() > deadline:
                raise RuntimeError("moto_server did not start")
            time.sleep(0.1)
        import urllib.request

        # Batch jobs "run" without Docker (none here): must be set before Batch resources are created.
        request = urllib.request.Request(
            f"{self.url}/moto-api/config", data=b'{"batch": {"use_docker": false}}', method="POST"
        )
        request.add_header("Content-Type", "application/json")
        urllib.request.urlopen(request, timeout=5).read()

    def stop(self) -> None:
        procs.stop("moto", self.run_dir, grace_s=3)

    def reset(self) -> None:
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"), timeout=5).read()


@pytest.fixture(scope="session")
def _moto_session():
    server = MotoServer(Path(settings.FLOWUI_TEST_VAR) / "run")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def moto_server(_moto_session, settings, monkeypatch):
    """A clean moto_server; the platform's boto3 clients point at it (AWS_ENDPOINT_URL)."""
    _moto_session.reset()
    settings.AWS_ENDPOINT_URL = _moto_session.url
    settings.AWS_ACCESS_KEY_ID = "testing"
    settings.AWS_SECRET_ACCESS_KEY = "testing"
    settings.AWS_REGION_NAME = "us-east-1"
    monkeypatch.setenv("AWS_ENDPOINT_URL", _moto_session.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return _moto_session


# --- git ------------------------------------------------------------------------------------
@pytest.fixture
def git_repo(tmp_path):
    """git_repo({"operators/x/model.py": "...", ...}) -> (path, commit) of a fresh real git repository."""

    def _git(path: Path, *args: str) -> str:
        result = subprocess.run(
            ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
            cwd=path,
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout.strip()

    def _make(files: dict[str, str], name: str = "repo") -> tuple[Path, str]:
        path = tmp_path / name
        path.mkdir(parents=True, exist_ok=True)
        if not (path / ".git").exists():
            _git(path, "init", "-q", "-b", "main")
        for rel, content in files.items():
            target = path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        _git(path, "add", "-A")
        _git(path, "commit", "-q", "-m", "update", "--allow-empty")
        return path, _git(path, "rev-parse", "HEAD")

    _make.git = _git
    return _make


@pytest.fixture(autouse=True)
def _no_dns_for_repository_sources(monkeypatch):
    """Checking a tenant repository's host resolves it: in tests only `localhost` and numeric addresses are
    looked up (no DNS query leaves the machine, whatever a fuzzer or a test types); other names fail as
    unresolvable."""
    import socket

    from registry import sources

    def lookup(host: str, port: int) -> list:
        flags = 0 if host == "localhost" else socket.AI_NUMERICHOST
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=flags)

    monkeypatch.setattr(sources, "address_lookup", lookup)


@pytest.fixture
def git_http(tmp_path, settings):
    """A git HTTP server (`git http-backend`) on 127.0.0.1 serving the repositories `git_repo` makes:
    `git_http.url("repo")`. `git_http.allow()` lists it in FLOWUI_GIT_ALLOWED_HOSTS for this test only, so a
    tenant repository may use it over http://."""
    from tests.git_http_support import GitHttpServer

    server = GitHttpServer(tmp_path).start()
    server.url = lambda name="repo": f"{server.base}/{name}/.git"

    def allow() -> None:
        settings.FLOWUI_GIT_ALLOWED_HOSTS = [server.host_port]

    server.allow = allow
    yield server
    server.stop()


@pytest.fixture
def smtp_server(settings):
    """A real local SMTP server (aiosmtpd), with Django's SMTP backend pointed at it: (handler, port). Answers
    queued in `handler.answers` ("451 4.3.0 Try again later", ...) are given to the next messages instead of
    accepting them."""
    from aiosmtpd.controller import Controller

    class Handler:
        def __init__(self):
            self.messages: list[dict] = []
            self.answers: list[str] = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
            if self.answers:
                return self.answers.pop(0)
            self.messages.append(
                {
                    "from": envelope.mail_from,
                    "to": list(envelope.rcpt_tos),
                    "content": envelope.content.decode("utf-8", "replace"),
                    "at": time.time(),
                }
            )
            return "250 OK"

    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=procs.free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    try:
        yield handler, controller.port
    finally:
        controller.stop()
