"""Keep `make run`'s processes up: restart a component that exits or stops heartbeating, with backoff.

A `Component` says how to find its pid, start and stop it and (optionally) how old its last heartbeat is.
`Supervisor.check_once()` looks at each component once; `run()` loops until told to stop. A component that
keeps failing is restarted after 1, 2, 4, ... seconds (at most `backoff_max_s`); one that stayed up for
`stable_s` starts again from the shortest delay. Every restart is one log line naming the reason.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from devstack import procs


@dataclass
class Component:
    name: str
    start: Callable[[], object]
    pid: Callable[[], int | None]
    stop: Callable[[], object]
    # Seconds since the component's last heartbeat; None when unknown (then only its process is judged).
    heartbeat_age: Callable[[], float | None] | None = None
    stale_after_s: float = 60.0
    # After a (re)start, heartbeats are not judged for this long (the old heartbeat is still recorded).
    grace_s: float = 60.0
    log_hint: str = ""


@dataclass
class _State:
    started_at: float
    failures: int = 0
    next_restart_at: float = 0.0
    waiting_logged: bool = False


@dataclass
class Supervisor:
    components: list[Component]
    log: Callable[[str], None] = print
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    stable_s: float = 120.0
    restarts: dict[str, int] = field(default_factory=dict)
    _states: dict[str, _State] = field(default_factory=dict)

    def __post_init__(self) -> None:
        now = time.monotonic()
        for component in self.components:
            self._states[component.name] = _State(started_at=now)
            self.restarts.setdefault(component.name, 0)

    def problem(self, component: Component, now: float) -> str | None:
        """Why the component needs a restart, or None when it is fine."""
        if component.pid() is None:
            return "exited"
        state = self._states[component.name]
        if component.heartbeat_age is None or now - state.started_at < component.grace_s:
            return None
        try:
            age = component.heartbeat_age()
        except Exception as exc:  # a broken probe must not stop the supervisor
            self.log(f"{component.name}: heartbeat probe failed: {exc}")
            return None
        if age is not None and age > component.stale_after_s:
            return f"no heartbeat for {age:.0f} s"
        return None

    def check_once(self) -> list[str]:
        """Restart what needs it (when its backoff allows). Returns the names restarted."""
        restarted = []
        for component in self.components:
            now = time.monotonic()
            state = self._states[component.name]
            reason = self.problem(component, now)
            if reason is None:
                if state.failures and now - state.started_at >= self.stable_s:
                    state.failures = 0
                continue
            if now < state.next_restart_at:
                if not state.waiting_logged:
                    self.log(f"{component.name} {reason}; restarting in {state.next_restart_at - now:.0f} s (backoff)")
                    state.waiting_logged = True
                continue
            state.failures += 1
            delay = min(self.backoff_max_s, self.backoff_base_s * 2 ** (state.failures - 1))
            hint = f"; see {component.log_hint}" if component.log_hint else ""
            self.log(f"{component.name} {reason}: restarting (restart #{self.restarts[component.name] + 1}{hint})")
            try:
                component.stop()
            except Exception as exc:
                self.log(f"{component.name}: stop failed: {exc}")
            try:
                component.start()
            except Exception as exc:
                self.log(f"{component.name}: start failed: {exc}")
            state.started_at = time.monotonic()
            state.next_restart_at = state.started_at + delay
            state.waiting_logged = False
            self.restarts[component.name] += 1
            restarted.append(component.name)
        return restarted

    def run(self, stop: threading.Event, interval_s: float = 2.0) -> None:
        while not stop.wait(interval_s):
            self.check_once()


# --- probes ---------------------------------------------------------------------------------------
class CeleryPing:
    """Seconds since a Celery worker (by node name) last answered a broadcast ping through the broker."""

    def __init__(self, broker_url: str, node: str, timeout_s: float = 1.0):
        from celery import Celery

        self.app = Celery("flowui-supervisor", broker=broker_url)
        self.node = node
        self.timeout_s = timeout_s
        self.last_answer = time.monotonic()

    def __call__(self) -> float:
        try:
            replies = self.app.control.ping(destination=[self.node], timeout=self.timeout_s)
        except Exception:
            replies = []
        if any(self.node in reply for reply in replies):
            self.last_answer = time.monotonic()
        return time.monotonic() - self.last_answer

    def reset(self) -> None:
        self.last_answer = time.monotonic()


def process_component(name: str, argv: list[str], *, run_dir, env: dict[str, str], cwd=None, **kwargs) -> Component:
    """A component started by procs.start (own process group, pid file, log file in run_dir)."""

    return Component(
        name=name,
        start=lambda: procs.start(name, argv, run_dir=run_dir, env=env, cwd=cwd),
        pid=lambda: procs.running_pid(name, run_dir),
        stop=lambda: procs.stop(name, run_dir, grace_s=10),
        log_hint=str(run_dir / f"{name}.log"),
        **kwargs,
    )
