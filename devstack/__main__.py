"""`python -m devstack run|stop|services|airflow-start|airflow-stop`: what `make run` and `make stop` call.

`run` brings the whole platform up in the foreground and stops everything it started on Ctrl-C;
`stop` (from another terminal) stops what a `run` started, found through its pid files in var/run/.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from devstack import procs
from devstack.airflow import AirflowInstance, AirflowNotReady, celery_broker_url
from devstack.services import ServiceMissing, ensure_database, ensure_postgres, ensure_redis
from devstack.supervisor import CeleryPing, Component, Supervisor, process_component

REPO = Path(__file__).resolve().parent.parent
VAR = REPO / "var"
RUN_DIR = VAR / "run"
PY = str(REPO / ".venv" / "bin" / "python")
PLATFORM_PROCS = ("web", "celery-worker", "celery-beat")
SUPERVISE_INTERVAL_S = 5.0


def _say(message: str) -> None:
    print(f"flowui: {message}", flush=True)


def _db_name() -> str:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flowui")
    return url.rsplit("/", 1)[-1]


def services() -> None:
    try:
        pg = ensure_postgres()
        rd = ensure_redis()
        ensure_database(_db_name())
    except ServiceMissing as exc:
        sys.exit(f"flowui: {exc}")
    _say(f"PostgreSQL {pg}, Redis {rd}, database {_db_name()!r} ready")


def dev_airflow() -> AirflowInstance:
    home = VAR / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    password_file = home / "admin-password"
    if not password_file.exists():
        password_file.write_text(secrets.token_urlsafe(12))
    # Airflow parses the platform's DAGs folder (FLOWUI_DAGS_DIR, read like the platform's settings read it),
    # never the tenants' storage volume.
    from flowui.config import env_path

    # AIRFLOW_EXECUTOR=celery: the CeleryExecutor with AIRFLOW_CELERY_WORKERS workers (default 2), its broker on
    # the platform's Redis at the next database number (AIRFLOW_CELERY_BROKER_URL overrides).
    executor = os.environ.get("AIRFLOW_EXECUTOR", "local").strip().lower() or "local"
    if executor not in ("local", "celery"):
        sys.exit(f"flowui: AIRFLOW_EXECUTOR must be 'local' or 'celery', not {executor!r}")
    broker, workers = "", ()
    if executor == "celery":
        redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        broker = os.environ.get("AIRFLOW_CELERY_BROKER_URL") or celery_broker_url(redis_url)
        count = os.environ.get("AIRFLOW_CELERY_WORKERS", "2")
        if not count.isdigit() or not 1 <= int(count) <= 16:
            sys.exit(f"flowui: AIRFLOW_CELERY_WORKERS must be a number from 1 to 16, not {count!r}")
        workers = tuple(f"airflow-worker{i}" for i in range(1, int(count) + 1))
    return AirflowInstance(
        home=home,
        dags_folder=env_path("FLOWUI_DAGS_DIR", "var/dags"),
        port=int(os.environ.get("AIRFLOW_PORT", "8280")),
        password=password_file.read_text().strip(),
        extra_env={"FLOWUI_VENVS_DIR": str(VAR / "venvs"), "FLOWUI_SECRETS_DIR": str(_secrets_dir())},
        executor=executor,
        celery_broker_url=broker,
        celery_workers=workers,
    )


def _secrets_dir() -> Path:
    """The platform's FLOWUI_SECRETS_DIR as settings resolve it (relative paths are under the checkout)."""
    folder = Path(os.environ.get("FLOWUI_SECRETS_DIR", VAR / "secrets"))
    return folder if folder.is_absolute() else REPO / folder


def platform_components(env: dict[str, str], port: str) -> list[Component]:
    """Celery worker, Celery beat and the web server, as the supervisor restarts them."""
    worker_node = f"flowui-devstack@{socket.gethostname()}"
    broker = env.get("CELERY_BROKER_URL") or env.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    return [
        process_component(
            "celery-worker",
            [PY, "-m", "celery", "-A", "flowui", "worker", "-c", "2", "-l", "info", "-n", worker_node],
            run_dir=RUN_DIR,
            env=env,
            cwd=REPO,
            heartbeat_age=CeleryPing(broker, worker_node),
            stale_after_s=60,
            grace_s=60,
        ),
        process_component(
            "celery-beat",
            [PY, "-m", "celery", "-A", "flowui", "beat", "-l", "info", "-s", str(VAR / "celerybeat-schedule")],
            run_dir=RUN_DIR,
            env=env,
            cwd=REPO,
        ),
        process_component("web", web_command(port), run_dir=RUN_DIR, env=env, cwd=REPO),
    ]


def web_command(port: str) -> list[str]:
    """gunicorn with whitenoise, configured like the platform image (docker/Dockerfile.platform)."""
    return [PY, "-m", "gunicorn", "-c", "flowui/gunicorn_conf.py", "--bind", f"127.0.0.1:{port}"]


def platform_env(airflow: AirflowInstance) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "flowui.settings")
    env.update({"AIRFLOW_URL": airflow.url, "AIRFLOW_USERNAME": airflow.username, "AIRFLOW_PASSWORD": airflow.password})
    return env


def manage(*args: str, env: dict[str, str]) -> None:
    result = subprocess.run([PY, "manage.py", *args], cwd=REPO, env=env)
    if result.returncode != 0:
        sys.exit(f"flowui: `manage.py {' '.join(args)}` failed (exit {result.returncode})")


def bootstrap(env: dict[str, str]) -> None:
    _say("migrating the shared and tenant schemas")
    manage("migrate_schemas", "--noinput", "-v", "0", env=env)
    manage("flowui_bootstrap", env=env)
    manage("dag_files_restore", env=env)
    manage("collectstatic", "--noinput", "-v", "0", env=env)  # served by whitenoise from var/static
    if (REPO / "registry" / "management" / "commands" / "registry_sync_bundled.py").exists():
        _say("syncing the bundled operators")
        manage("registry_sync_bundled", env=env)


def stop() -> None:
    supervisor = procs.running_pid("supervisor", RUN_DIR)
    if supervisor and supervisor != os.getpid():
        # A `make run` is in the foreground: let it shut down what it started, in order.
        os.kill(supervisor, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while procs.pid_alive(supervisor) and time.monotonic() < deadline:
            time.sleep(0.3)
        if not procs.pid_alive(supervisor):
            _say("stopped the running platform")
            return
    _stop_children()


def _stop_children() -> None:
    stopped = [name for name in PLATFORM_PROCS if procs.stop(name, RUN_DIR)]
    airflow = dev_airflow()
    was_running = airflow.is_running()
    airflow.stop()
    if was_running:
        stopped.append("airflow")
    _say("stopped " + (", ".join(stopped) if stopped else "nothing (nothing was running)"))


def sandbox_check() -> None:
    """Local-mode tasks, syncs and venv builds run tenant code in bubblewrap: refuse to start without it."""
    from flowui_runtime import sandbox

    if not sandbox.enabled():
        _say(f"WARNING {sandbox.OFF_WARNING}")
        return
    try:
        sandbox.check_available(network=True, probe=True)
    except sandbox.SandboxUnavailable as exc:
        sys.exit(f"flowui: {exc}")


def run() -> None:
    services()
    sandbox_check()
    airflow = dev_airflow()
    env = platform_env(airflow)
    bootstrap(env)
    _say(f"starting Airflow on {airflow.url} (first start takes ~20 s)")
    try:
        airflow.start()
    except AirflowNotReady as exc:
        sys.exit(f"flowui: {exc}")
    for name in PLATFORM_PROCS:
        procs.stop(name, RUN_DIR)
    port = os.environ.get("FLOWUI_PORT", "8000")
    platform = platform_components(env, port)
    for component in platform:
        component.start()
    deadline = time.monotonic() + 30
    while not procs.port_open("127.0.0.1", int(port)) and time.monotonic() < deadline:
        time.sleep(0.3)
    password = (VAR / "admin-password").read_text().strip() if (VAR / "admin-password").exists() else "?"
    print(
        f"""
FlowUI is running (Ctrl-C or `make stop` stops it):
  portal (demo tenant)  http://demo.localhost:{port}/
  platform admin        http://localhost:{port}/admin/
  API docs (demo)       http://demo.localhost:{port}/api/docs/
  health                http://127.0.0.1:{port}/healthz
  Airflow               {airflow.url}/  (user {airflow.username}, password in var/airflow/admin-password)
  log in as             admin / {password}
  logs                  var/run/*.log, {airflow.run_dir}/*.log
""",
        flush=True,
    )

    def _shutdown(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _shutdown)
    (RUN_DIR / "supervisor.pid").write_text(str(os.getpid()))
    supervisor = Supervisor([*airflow.supervised(), *platform], log=_say)
    try:
        while True:
            time.sleep(SUPERVISE_INTERVAL_S)
            supervisor.check_once()
    except KeyboardInterrupt:
        pass
    _stop_children()
    (RUN_DIR / "supervisor.pid").unlink(missing_ok=True)


def main(argv: list[str]) -> None:
    commands = {
        "run": run,
        "stop": stop,
        "services": services,
        "airflow-start": lambda: dev_airflow().start(),
        "airflow-stop": lambda: dev_airflow().stop(),
    }
    if len(argv) != 1 or argv[0] not in commands:
        sys.exit(f"usage: python -m devstack {{{'|'.join(commands)}}}")
    commands[argv[0]]()


if __name__ == "__main__":
    main(sys.argv[1:])
