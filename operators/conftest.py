"""Fixtures for the operators' own tests (test_operator.py in each folder). Standard library + pytest only,
so the collection's tests run anywhere the operator's dependency group is installed.

- `operator_module`: the operator of the test's folder, loaded like the runtime does: model.py as module
  `model` (the folder first on sys.path), operator.py under a private name (never `operator`, which is the
  standard library's). Its InputModel/OutputModel are attributes of the returned module.
- `run_env`: a run folder as working directory, with FLOWUI_RUN_DIR and FLOWUI_STORAGE_ROOT set.
- `http_root`: a real local http.server serving a temporary folder; yields (folder, base_url).
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest


def load_operator(folder: Path):
    folder = Path(folder).resolve()
    sys.modules.pop("model", None)
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location(f"flowui_operator_{folder.name}", folder / "operator.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.model = sys.modules["model"]
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("model", None)
    return module


@pytest.fixture
def operator_module(request):
    return load_operator(Path(request.path).parent)


@pytest.fixture
def run_env(tmp_path, monkeypatch):
    storage = tmp_path / "storage"
    run_dir = storage / "runs" / "dag" / "run" / "task"
    run_dir.mkdir(parents=True)
    monkeypatch.chdir(run_dir)
    monkeypatch.setenv("FLOWUI_RUN_DIR", str(run_dir))
    monkeypatch.setenv("FLOWUI_STORAGE_ROOT", str(storage))
    return SimpleNamespace(storage=storage, run_dir=run_dir)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


@pytest.fixture
def http_root(tmp_path):
    root = tmp_path / "http"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def s3_endpoint(monkeypatch):
    """A real moto S3 server on loopback (moto's ThreadedMotoServer); AWS_ENDPOINT_URL points at it."""
    server_module = pytest.importorskip("moto.server")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    yield url
    server.stop()
