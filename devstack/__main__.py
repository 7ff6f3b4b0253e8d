"""`python -m devstack run|stop|services|airflow-start|airflow-stop`: what `make run` and `make stop` call.

`run` brings the whole platform up in the foreground and stops everything it started on Ctrl-C;
`stop` (from another terminal) stops what a `run` started, found through its pid files in var/run/.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from devstack import procs
from devstack.airflow import AirflowInstance, AirflowNotReady
from devstack.services import ServiceMissing, ensure_database, ensure_postgres, ensure_redis

REPO = Path(__file__).resolve().parent.parent
VAR = REPO / "var"
RUN_DIR = VAR / "run"
PY = str(REPO / ".venv" / "bin" / "python")
PLATFORM_PROCS = ("web", "celery-worker", "celery-beat")


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

    return AirflowInstance(
        home=home,
        dags_folder=env_path("FLOWUI_DAGS_DIR", "var/dags"),
        port=int(os.environ.get("AIRFLOW_PORT", "8280")),
        password=password_file.read_text().strip(),
        extra_env={"FLOWUI_VENVS_DIR": str(VAR / "venvs"), "FLOWUI_SECRETS_DIR": str(_secrets_dir())},
    )


def _secrets_dir() -> Path:
    """The platform's FLOWUI_SECRETS_DIR as settings resolve it (relative paths are under the checkout)."""
    folder = Path(os.environ.get("FLOWUI_SECRETS_DIR", VAR / "secrets"))
    return folder if folder.is_absolute() else REPO / folder


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
    procs.start(
        "celery-worker",
        [PY, "-m", "celery", "-A", "flowui", "worker", "-c", "2", "-l", "info"],
        run_dir=RUN_DIR,
        env=env,
        cwd=REPO,
    )
    procs.start(
        "celery-beat",
        [PY, "-m", "celery", "-A", "flowui", "beat", "-l", "info", "-s", str(VAR / "celerybeat-schedule")],
        run_dir=RUN_DIR,
        env=env,
        cwd=REPO,
    )
    port = os.environ.get("FLOWUI_PORT", "8000")
    procs.start(
        "web", [PY, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"], run_dir=RUN_DIR, env=env, cwd=REPO
    )
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
    try:
        while True:
            time.sleep(2)
            dead = [name for name in PLATFORM_PROCS if procs.running_pid(name, RUN_DIR) is None]
            if dead:
                _say(f"{', '.join(dead)} stopped unexpectedly; see var/run/{dead[0]}.log. Shutting down.")
                break
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
