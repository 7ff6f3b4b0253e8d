"""A hostile operator: tries what a tenant's code must never manage, and reports what it reached."""

import glob
import os
import socket

from model import InputModel, OutputModel


def _attempt(probes: dict, name: str, action) -> None:
    try:
        probes[name] = "REACHED: " + str(action())[:200]
    except Exception as exc:  # noqa: BLE001 - every failure is the expected outcome
        probes[name] = f"blocked: {type(exc).__name__}"


def _write(path: str) -> str:
    with open(path, "w") as handle:
        handle.write("from airflow import DAG  # planted by a tenant\n")
    return path


def _connect(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        return "connected"


def operator_function(input_model: InputModel) -> OutputModel:
    if input_model.forge_result_from:
        # Point result.json at a file of the host and leave before the entrypoint writes the real one.
        os.symlink(input_model.forge_result_from, "result.json")
        os._exit(0)
    probes: dict[str, str] = {}
    for name, path in input_model.targets.items():
        if name.startswith("write_"):
            _attempt(probes, name, lambda p=path: _write(p))
        elif name.startswith("list_"):
            _attempt(probes, name, lambda p=path: os.listdir(p))
        else:
            _attempt(probes, name, lambda p=path: open(p).read())
    for name, port in input_model.ports.items():
        _attempt(probes, name, lambda p=port: _connect(p))
    _attempt(probes, "write_own_storage", lambda: _write(os.environ["FLOWUI_STORAGE_ROOT"] + "/dataset/planted.py"))
    _attempt(probes, "write_operator_code", lambda: _write(os.path.join(os.path.dirname(__file__), "operator.py")))
    os.symlink("/", "escape")  # left in the run folder for the platform's readers to (not) follow
    environ = []
    for path in glob.glob("/proc/[0-9]*/environ"):
        try:
            environ.append(open(path, "rb").read().decode(errors="replace"))
        except OSError:
            pass
    leaked = any(word in text for text in environ for word in ("AIRFLOW__", "JWT_SECRET", "FERNET", "PASSWORD"))
    pids = sorted(int(p.split("/")[2]) for p in glob.glob("/proc/[0-9]*"))
    return OutputModel(probes=probes, secrets_in_proc=leaked, visible_pids=pids)
