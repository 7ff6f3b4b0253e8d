"""The production server: `manage.py check --deploy` is clean in production mode, and gunicorn (the command
`make run` and the image use) serves collected static files through whitenoise."""

from __future__ import annotations

import gzip
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import devstack.__main__ as devstack_main
from devstack import procs

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.timeout(300)


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    # DJANGO_ALLOW_ASYNC_UNSAFE is set by the browser tests' live server in this process: not a deployment's.
    dropped = ("DJANGO_SETTINGS_MODULE", "DEBUG", "PYTEST_CURRENT_TEST", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(
        {
            "FLOWUI_PRODUCTION": "true",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "localhost,.localhost,127.0.0.1",
            "CSRF_TRUSTED_ORIGINS": "https://localhost,https://*.localhost",
            "FLOWUI_STATIC_ROOT": str(tmp_path / "static"),
            "FLOWUI_TESTING": "false",
            "AIRFLOW_URL": "http://127.0.0.1:9",
        }
    )
    env.update(extra)
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=180
    )


def test_check_deploy_is_clean_in_production_mode(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


def test_check_deploy_flags_a_weak_secret_key(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(tmp_path, SECRET_KEY="short"))
    assert result.returncode != 0 and "security.W009" in result.stdout + result.stderr


def test_production_settings(tmp_path):
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; print(json.dumps([s.DEBUG, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER, "
        "s.CSRF_TRUSTED_ORIGINS, s.SECURE_SSL_REDIRECT, str(s.STATIC_ROOT)]))"
    )
    env = production_env(tmp_path, DJANGO_SETTINGS_MODULE="flowui.settings")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    import json

    assert json.loads(result.stdout.strip().splitlines()[-1]) == [
        False, True, True, 31536000, ["HTTP_X_FORWARDED_PROTO", "https"],
        ["https://localhost", "https://*.localhost"], True, str(tmp_path / "static"),
    ]  # fmt: skip


def _get(url: str, **headers: str):
    request = urllib.request.Request(url, headers={"Host": "localhost", **headers})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        return opener.open(request, timeout=10)
    except urllib.error.HTTPError as exc:
        return exc


def test_gunicorn_serves_collected_static_files_through_whitenoise(tmp_path):
    env = production_env(tmp_path)
    collected = manage("collectstatic", "--noinput", "-v", "0", env=env)
    assert collected.returncode == 0, collected.stderr
    assert (tmp_path / "static" / "js" / "editor.js").is_file()
    assert (tmp_path / "static" / "js" / "editor.js.gz").is_file()  # compressed at collectstatic time

    port = procs.free_port()
    argv = devstack_main.web_command(str(port))  # exactly what `make run` starts
    assert argv[1:] == ["-m", "gunicorn", "-c", "flowui/gunicorn_conf.py", "--bind", f"127.0.0.1:{port}"]
    assert (
        'CMD ["gunicorn", "-c", "flowui/gunicorn_conf.py", "--bind", "0.0.0.0:8000"]'
        in (REPO / "docker" / "Dockerfile.platform").read_text()
    )
    run_dir = tmp_path / "run"
    procs.start("web", [sys.executable, *argv[1:]], run_dir=run_dir, env={**env, "WEB_CONCURRENCY": "1"}, cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while not procs.port_open("127.0.0.1", port) and time.monotonic() < deadline:
            time.sleep(0.3)
        base = f"http://127.0.0.1:{port}"
        expected = (REPO / "static" / "js" / "editor.js").read_bytes()

        response = _get(f"{base}/static/js/editor.js", **{"X-Forwarded-Proto": "https"})
        assert response.status == 200, (response.status, (run_dir / "web.log").read_text()[-2000:])
        assert response.read() == expected
        assert "max-age" in response.headers["Cache-Control"]
        assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")

        response = _get(f"{base}/static/js/editor.js", **{"X-Forwarded-Proto": "https", "Accept-Encoding": "gzip"})
        assert response.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(response.read()) == expected

        # Plain HTTP is redirected to HTTPS, except the health check (which fails here: no database for it).
        assert _get(f"{base}/static/js/editor.js").status == 301
        assert _get(f"{base}/healthz").status != 301
    finally:
        procs.stop("web", run_dir, grace_s=5)


def test_it_loads_the_urlconfs_and_freezes_the_app_in_the_master_before_forking(tmp_path):
    # In a process of its own: a fresh master, where no request has imported the URLconfs yet.
    script = """
import gc, sys
import django
django.setup()
from flowui import gunicorn_conf
assert "flowui.api_urls" not in sys.modules
gunicorn_conf.when_ready(None)
assert {"flowui.urls_tenant", "flowui.urls_public", "flowui.api_urls"} <= set(sys.modules)
gunicorn_conf.pre_fork(None, None)
print(gc.get_freeze_count())
"""
    env = production_env(tmp_path, DJANGO_SETTINGS_MODULE="flowui.settings")
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[-1]) > 10_000  # the app's objects, out of every later collection's walk
