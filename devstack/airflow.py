"""A real Apache Airflow 3.x for development and the test suite: LocalExecutor, or the CeleryExecutor with
its own Celery workers (`executor="celery"`, broker on the platform's Redis at another database number).

Airflow lives in its own virtualenv (AIRFLOW_VENV, default .airflow-venv/). One `AirflowInstance` is one
AIRFLOW_HOME with its api-server, scheduler and dag-processor (and, with Celery, one `airflow celery worker`
per name in `celery_workers`), each in its own process group.
The runtime is installed in the Airflow venv as its distribution (`make setup`: `-e ./runtime`, flowui-runtime);
this checkout's package also goes first on PYTHONPATH (a folder holding only it), because worktrees share one
Airflow venv and each must run its own runtime code.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from devstack import procs

REPO = Path(__file__).resolve().parent.parent
COMPONENTS = ("api-server", "scheduler", "dag-processor")


class AirflowNotReady(RuntimeError):
    pass


@dataclass
class AirflowInstance:
    """`dags_folder` is the platform's FLOWUI_DAGS_DIR (one sub-folder per tenant, written by the platform only),
    never the tenants' storage volume: tenant code can write there, and whatever Airflow parses runs as code."""

    home: Path
    dags_folder: Path
    port: int = 8280
    venv: Path = field(default_factory=lambda: Path(os.environ.get("AIRFLOW_VENV", REPO / ".airflow-venv")))
    username: str = "admin"
    password: str = "admin"
    extra_env: dict[str, str] = field(default_factory=dict)
    executor: str = "local"  # "local" (LocalExecutor) or "celery" (CeleryExecutor + celery_workers)
    celery_broker_url: str = ""  # redis://host:port/N: the platform's Redis, a database of Airflow's own
    celery_queue: str = "default"  # the queue tasks go to and the workers read
    celery_workers: tuple[str, ...] = ()  # worker names: `airflow celery worker --celery-hostname NAME@host`
    celery_concurrency: int = 2

    @property
    def components(self) -> tuple[str, ...]:
        """Process names: Airflow's three components, then the Celery workers (`celery-<name>`)."""
        if self.executor != "celery":
            return COMPONENTS
        return COMPONENTS + tuple(f"celery-{name}" for name in self.celery_workers)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    def _secret(self, name: str, nbytes: int) -> str:
        path = self.home / name
        if not path.exists():
            path.write_text(secrets.token_hex(nbytes))
            path.chmod(0o600)
        return path.read_text().strip()

    def pythonpath(self) -> Path:
        """A folder holding only the runtime package, so Airflow cannot import the Django apps."""
        folder = self.home / "pythonpath"
        folder.mkdir(parents=True, exist_ok=True)
        link = folder / "flowui_runtime"
        if not link.is_symlink():
            if link.exists():
                shutil.rmtree(link)
            link.symlink_to(REPO / "flowui_runtime")
        return folder

    def env(self) -> dict[str, str]:
        self.home.mkdir(parents=True, exist_ok=True)
        self.dags_folder.mkdir(parents=True, exist_ok=True)
        passwords = self.home / "passwords.json"
        passwords.write_text(json.dumps({self.username: self.password}))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "AIRFLOW__", "DJANGO_"))}
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": "4",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL": "1",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{self.username}:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
                "AIRFLOW__CORE__FERNET_KEY": "",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__BASE_URL": self.url,
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API_AUTH__JWT_SECRET": self._secret("jwt_secret", 48),
                "AIRFLOW__API__SECRET_KEY": self._secret("api_secret", 24),
                # The DAG folder is listed on every pass of the dag-processor's loop (about once a second): with
                # a 1 s interval against a ~1 s loop a pass can skip the listing (Airflow's manager.py), so a new
                # file may wait one more pass. Listing even 1,000 files is a few ms.
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "0",
                "AIRFLOW__DAG_PROCESSOR__BUNDLE_REFRESH_CHECK_INTERVAL": "0",
                # Unchanged files are re-parsed only every 10 min: FlowUI's DAG files change only when the platform
                # writes them, and a changed (newer mtime) or new file is parsed at once, but only once the queue of
                # periodic re-parses is empty; with 30 s, hundreds of files kept it full and an edit waited ~40 s.
                "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.port + 1),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.port + 2),
                "AIRFLOW__CORE__DAG_IGNORE_FILE_SYNTAX": "glob",
                "PYTHONPATH": str(self.pythonpath()),
                "PATH": f"{self.venv / 'bin'}:{os.environ.get('PATH', '')}",
            }
        )
        if self.executor == "celery":
            if not self.celery_broker_url:
                raise AirflowNotReady("the CeleryExecutor needs a broker URL (celery_broker_url)")
            env.update(
                {
                    "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                    "AIRFLOW__CELERY__BROKER_URL": self.celery_broker_url,
                    "AIRFLOW__CELERY__RESULT_BACKEND": self.celery_broker_url,
                    "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.celery_concurrency),
                    "AIRFLOW__OPERATORS__DEFAULT_QUEUE": self.celery_queue,
                }
            )
        elif self.executor != "local":
            raise AirflowNotReady(f"unknown Airflow executor {self.executor!r}: use 'local' or 'celery'")
        env.update(self.extra_env)
        return env

    def airflow_bin(self) -> Path:
        binary = self.venv / "bin" / "airflow"
        if not binary.exists():
            raise AirflowNotReady(f"Airflow is not installed in {self.venv}: run `make setup` first")
        return binary

    def migrate(self) -> None:
        result = subprocess.run(
            [str(self.airflow_bin()), "db", "migrate"], env=self.env(), capture_output=True, text=True
        )
        if result.returncode != 0:
            raise AirflowNotReady(f"`airflow db migrate` failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")

    def _started_dags_folder(self) -> str:
        marker = self.run_dir / "dags_folder"
        return marker.read_text().strip() if marker.exists() else ""

    def is_running(self) -> bool:
        return all(procs.running_pid(name, self.run_dir) for name in self.components)

    def start(self, timeout_s: float = 120) -> None:
        """Start (or reuse) the three components and wait until all are healthy."""
        if self.is_running() and self.healthy(since=0) and self._started_dags_folder() == str(self.dags_folder):
            return
        self.stop()  # not running, unhealthy, or parsing another DAGs folder (e.g. the tenants' volume, before)
        for port in (self.port, self.port + 1, self.port + 2):
            if procs.port_open("127.0.0.1", port):
                raise AirflowNotReady(f"port {port} is taken by another process; set AIRFLOW_PORT to a free port")
        self.migrate()
        env = self.env()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "dags_folder").write_text(str(self.dags_folder))
        started = time.time()
        for name in self.components:
            self.start_component(name, env)
        self.wait_healthy(since=started, timeout_s=timeout_s)
        # The first execution-API call pays a few seconds of lazy initialisation: pay it now.
        try:
            urllib.request.urlopen(f"{self.url}/execution/health", timeout=30).read()
        except (urllib.error.URLError, OSError):
            pass

    def start_component(self, name: str, env: dict[str, str] | None = None) -> int:
        """Start one component (api-server, scheduler, dag-processor or celery-<worker>); the supervisor's
        restart."""
        argv = [str(self.airflow_bin()), name]
        if name.startswith("celery-"):
            worker = name.removeprefix("celery-")
            # Each worker's name is its Celery hostname; no log server (the api-server reads the log files
            # under this AIRFLOW_HOME), so several workers fit on one machine.
            argv = [
                str(self.airflow_bin()),
                "celery",
                "worker",
                "--celery-hostname",
                f"{worker}@%h",
                "--queues",
                self.celery_queue,
                "--concurrency",
                str(self.celery_concurrency),
                "--skip-serve-logs",
                "--without-mingle",
                "--without-gossip",
            ]
        return procs.start(name, argv, run_dir=self.run_dir, env=env or self.env(), cwd=self.home)

    def heartbeat_ages(self) -> dict[str, float | None]:
        """Seconds since each component's last heartbeat, from /api/v2/monitor/health. The api-server's is 0
        when it answers; all are None when it does not (then nothing is known about the others)."""
        try:
            health = self.health()
        except (urllib.error.URLError, OSError, ValueError):
            return dict.fromkeys(COMPONENTS)
        now = time.time()
        ages: dict[str, float | None] = {"api-server": 0.0}
        for name, part, key in (
            ("scheduler", "scheduler", "latest_scheduler_heartbeat"),
            ("dag-processor", "dag_processor", "latest_dag_processor_heartbeat"),
        ):
            beat = (health.get(part) or {}).get(key)
            ages[name] = max(0.0, now - _parse_ts(beat)) if beat else None
        return ages

    def supervised(self, *, stale_after_s: float = 60.0, grace_s: float = 60.0) -> list:
        """The three components as supervisor.Component objects (restart on exit or stale heartbeat)."""
        from devstack.supervisor import Component

        env = self.env()
        cache: dict[str, object] = {"at": 0.0, "ages": {}}

        def age_of(name: str):
            def probe() -> float | None:
                # One health call per supervision round for the three components.
                if time.monotonic() - cache["at"] > 1.0:
                    ages = self.heartbeat_ages()
                    if ages["api-server"] is None:
                        cache.setdefault("api_down_since", time.monotonic())
                        ages["api-server"] = time.monotonic() - cache["api_down_since"]
                    else:
                        cache.pop("api_down_since", None)
                    cache.update(at=time.monotonic(), ages=ages)
                return cache["ages"].get(name)

            return probe

        return [
            Component(
                name=f"airflow {name}",
                start=lambda name=name: self.start_component(name, env),
                pid=lambda name=name: procs.running_pid(name, self.run_dir),
                stop=lambda name=name: procs.stop(name, self.run_dir, grace_s=10),
                heartbeat_age=age_of(name),
                stale_after_s=stale_after_s,
                grace_s=grace_s,
                log_hint=str(self.run_dir / f"{name}.log"),
            )
            for name in COMPONENTS
        ] + [
            Component(
                name=f"airflow {name}",
                start=lambda name=name: self.start_component(name, env),
                pid=lambda name=name: procs.running_pid(name, self.run_dir),
                stop=lambda name=name: procs.stop(name, self.run_dir, grace_s=10),
                log_hint=str(self.run_dir / f"{name}.log"),
            )
            for name in self.components[len(COMPONENTS) :]
        ]

    def health(self) -> dict:
        with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=3) as response:
            return json.loads(response.read())

    def healthy(self, since: float) -> bool:
        try:
            health = self.health()
        except (urllib.error.URLError, OSError, ValueError):
            return False
        for part, beat_key in (
            ("scheduler", "latest_scheduler_heartbeat"),
            ("dag_processor", "latest_dag_processor_heartbeat"),
        ):
            info = health.get(part) or {}
            if info.get("status") != "healthy":
                return False
            beat = info.get(beat_key)
            if since and beat and _parse_ts(beat) < since:
                return False  # a heartbeat from before this start: an older, dead process
        return health.get("metadatabase", {}).get("status") == "healthy"

    def wait_healthy(self, since: float, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.healthy(since):
                return
            for name in self.components:
                if procs.running_pid(name, self.run_dir) is None:
                    log = (self.run_dir / f"{name}.log").read_text(errors="replace")[-3000:]
                    raise AirflowNotReady(f"airflow {name} exited during start-up:\n{log}")
            time.sleep(0.5)
        raise AirflowNotReady(f"Airflow at {self.url} not healthy after {timeout_s:.0f} s (logs in {self.run_dir})")

    def stop(self) -> None:
        # Workers of an earlier start with other settings (e.g. `make stop` without AIRFLOW_EXECUTOR) too.
        leftover = sorted(p.stem for p in self.run_dir.glob("celery-*.pid")) if self.run_dir.exists() else []
        for name in dict.fromkeys([*leftover, *reversed(self.components)]):
            procs.stop(name, self.run_dir)


def celery_broker_url(redis_url: str, offset: int = 1) -> str:
    """The platform's Redis at another database number (platform's + `offset`, modulo 16), so Airflow's
    Celery queues never mix with the platform's Celery queues: redis://h:6379/0 -> redis://h:6379/1."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(redis_url)
    current = parts.path.strip("/") or "0"
    if not current.isdigit():
        raise ValueError(f"not a Redis URL with a database number: {redis_url!r}")
    return urlunsplit(parts._replace(path=f"/{(int(current) + offset) % 16}"))


def _parse_ts(value: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
