"""The bubblewrap sandbox for tenant code (flowui_runtime.sandbox), attacked directly.

Each test runs a hostile Python script in the sandbox the way FlowUIOperator, the registry's schema
extraction and venv builds do, and checks that what it tries fails. Network tests only ever address
loopback, the sandbox's own namespace, and a host this test makes in a network namespace of its own.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from flowui_runtime import safefs, sandbox, sandbox_network

REPO = Path(__file__).resolve().parent.parent
AIRFLOW_PYTHON = str(REPO / ".airflow-venv" / "bin" / "python")


def run_in_sandbox(code: str, *, tmp_path: Path, network: bool = False, limits=None, env=None, timeout=60) -> dict:
    """Run `code` (which prints one JSON object as its last line) like a local task: a storage root read-only,
    a run folder writable. Returns the parsed JSON plus "exit_code" and "output"."""
    storage = tmp_path / "storage"
    run = storage / "runs" / "dag" / "run" / "task"
    run.mkdir(parents=True, exist_ok=True)
    (storage / "dataset").mkdir(exist_ok=True)
    (storage / "dataset" / "sales.csv").write_text("a,b\n1,2\n")
    box, python = sandbox.python_sandbox(
        python=AIRFLOW_PYTHON,
        venv=sandbox.venv_of(AIRFLOW_PYTHON),
        env=env or {"FLOWUI_RUN_DIR": f"{sandbox.INSIDE_STORAGE}/runs/dag/run/task"},
        ro=[(str(storage), sandbox.INSIDE_STORAGE)],
        rw=[(str(run), f"{sandbox.INSIDE_STORAGE}/runs/dag/run/task")],
        cwd=f"{sandbox.INSIDE_STORAGE}/runs/dag/run/task",
        network=network,
        limits=limits,
    )
    process = box.popen([python, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    finally:
        process.kill_all()
    lines = [line for line in output.splitlines() if line.startswith("{")]
    result = json.loads(lines[-1]) if lines else {}
    result.update({"exit_code": process.returncode, "output": output})
    return result


PROBE = r"""
import glob, json, os, socket, sys
out = {}
def attempt(name, fn):
    try:
        out[name] = "REACHED: " + str(fn())[:200]
    except Exception as exc:
        out[name] = "blocked: " + type(exc).__name__
def connect(host, port):
    s = socket.socket(); s.settimeout(2); s.connect((host, port)); s.close(); return "connected"
def write(path):
    with open(path, "w") as f: f.write("x")
    return path
paths = json.loads(sys.argv[1])
attempt("other_tenant", lambda: os.listdir(paths["other_tenant"]))
attempt("checkout", lambda: open(paths["checkout_file"]).read())
attempt("var", lambda: os.listdir(paths["var"]))
attempt("host_tmp_write", lambda: write(paths["host_tmp_file"]))
attempt("storage_write", lambda: write("/flowui/storage/dataset/evil.csv"))
attempt("runtime_write", lambda: write("/flowui/runtime/flowui_runtime/evil.py"))
attempt("venv_write", lambda: write("/flowui/venv/evil.pth"))
attempt("postgres", lambda: connect("127.0.0.1", 5432))
attempt("redis", lambda: connect("127.0.0.1", 6379))
environ = []
for path in glob.glob("/proc/[0-9]*/environ"):
    try:
        environ.append(open(path, "rb").read().decode(errors="replace"))
    except OSError:
        pass
out["proc_pids"] = sorted(int(p.split("/")[2]) for p in glob.glob("/proc/[0-9]*"))
out["secrets_in_proc"] = any("AIRFLOW__" in e or "SECRET" in e or "PASSWORD" in e for e in environ)
out["uid"] = os.getuid()
out["env"] = sorted(os.environ)
out["root_entries"] = sorted(os.listdir("/"))
out["dataset"] = open("/flowui/storage/dataset/sales.csv").read()
out["run_write"] = write(os.environ["FLOWUI_RUN_DIR"] + "/out.txt")
print(json.dumps(out))
"""


@pytest.fixture
def hostile_paths(tmp_path, settings):
    other = tmp_path / "globex-storage"
    other.mkdir()
    (other / "secret.csv").write_text("globex only\n")
    host_tmp = Path("/tmp") / f"flowui-sandbox-test-{uuid.uuid4().hex[:8]}"
    yield {
        "other_tenant": str(other),
        "checkout_file": str(REPO / "README.md"),
        "var": str(REPO / "var"),
        "host_tmp_file": str(host_tmp),
    }
    host_tmp.unlink(missing_ok=True)


def test_it_keeps_hostile_code_inside_its_run_folder(tmp_path, hostile_paths):
    code = PROBE.replace("json.loads(sys.argv[1])", repr(hostile_paths))
    result = run_in_sandbox(code, tmp_path=tmp_path)
    assert result["exit_code"] == 0, result["output"]
    for probe in ("other_tenant", "checkout", "var", "storage_write", "runtime_write",
                  "venv_write", "postgres", "redis"):  # fmt: skip
        assert result[probe].startswith("blocked"), (probe, result[probe])
    assert result["host_tmp_write"].startswith("REACHED")  # its own /tmp, a private tmpfs:
    assert not Path(hostile_paths["host_tmp_file"]).exists()  # nothing reached the host's /tmp
    assert not (tmp_path / "storage" / "dataset" / "evil.csv").exists()
    assert result["secrets_in_proc"] is False
    assert max(result["proc_pids"]) < 100  # its own pid namespace: none of the host's processes
    assert result["uid"] == sandbox.SANDBOX_UID
    assert "flowui" in result["root_entries"] and "work" not in result["root_entries"]
    assert result["dataset"] == "a,b\n1,2\n"  # the tenant's storage is readable
    assert (tmp_path / "storage" / "runs" / "dag" / "run" / "task" / "out.txt").read_text() == "x"
    allowed_env = {"FLOWUI_RUN_DIR", "PATH", "HOME", "TMPDIR", "LANG", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE",
                   "PYTHONNOUSERSITE", "PWD", "LC_CTYPE"}  # fmt: skip
    assert set(result["env"]) <= allowed_env, sorted(set(result["env"]) - allowed_env)


def test_it_enforces_memory_process_and_file_size_limits(tmp_path):
    code = r"""
import json, os, subprocess
out = {}
try:
    block = bytearray(400 * 1024 * 1024)
    out["memory"] = "REACHED"
except MemoryError:
    out["memory"] = "blocked"
children = []
try:
    for _ in range(200):
        children.append(subprocess.Popen(["sleep", "30"]))
    out["processes"] = "REACHED"
except OSError:
    out["processes"] = "blocked after %d" % len(children)
for child in children:
    child.kill()
try:
    with open("big.bin", "wb") as f:
        f.write(b"0" * (3 * 1024 * 1024))
    out["file_size"] = "REACHED"
except OSError:
    out["file_size"] = "blocked"
print(json.dumps(out))
"""
    limits = sandbox.Limits(memory_mb=300, processes=64, file_size_mb=2)
    result = run_in_sandbox(code, tmp_path=tmp_path, limits=limits)
    assert result["memory"] == "blocked", result["output"]
    assert result["processes"].startswith("blocked"), result["output"]
    assert result["file_size"] == "blocked", result["output"]


def test_it_refuses_to_run_without_bubblewrap_with_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on PATH
    monkeypatch.setattr(sandbox, "_checked", {})
    with pytest.raises(sandbox.SandboxUnavailable, match="apt-get install bubblewrap"):
        sandbox.check_available()


# --- network --------------------------------------------------------------------------------------------------
class _NamespaceHost:
    """A host of the test's own: a network namespace joined to this machine by a veth pair, with a documentation
    address (198.51.100.2) and a link-local one (169.254.77.2), and a TCP server on both that counts visitors."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.ns, self.host_if, self.ns_if = f"flowui-t{tag}", f"fvh{tag}", f"fvn{tag}"
        self.port = 18000 + int(tag[:3], 16) % 2000
        self.server: subprocess.Popen | None = None

    def up(self) -> None:
        for command in (
            f"ip netns add {self.ns}",
            f"ip link add {self.host_if} type veth peer name {self.ns_if}",
            f"ip link set {self.ns_if} netns {self.ns}",
            f"ip addr add 198.51.100.1/24 dev {self.host_if}",
            f"ip addr add 169.254.77.1/24 dev {self.host_if}",
            f"ip link set {self.host_if} up",
            f"ip -n {self.ns} addr add 198.51.100.2/24 dev {self.ns_if}",
            f"ip -n {self.ns} addr add 169.254.77.2/24 dev {self.ns_if}",
            f"ip -n {self.ns} link set {self.ns_if} up",
            f"ip -n {self.ns} link set lo up",
        ):
            subprocess.run(command.split(), check=True, capture_output=True, timeout=10)
        server = (
            "import socket, sys\n"
            "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            f"s.bind(('0.0.0.0', {self.port})); s.listen(16); print('ready', flush=True)\n"
            "while True:\n"
            "    c, addr = s.accept(); print('visit', c.getsockname()[0], flush=True); c.sendall(b'hello'); c.close()\n"
        )
        self.server = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, sys.executable, "-c", server], stdout=subprocess.PIPE, text=True
        )
        assert self.server.stdout.readline().strip() == "ready"
        self.visits: list[str] = []
        threading.Thread(target=self._count, daemon=True).start()

    def _count(self) -> None:
        for line in self.server.stdout:
            self.visits.append(line.split()[-1])

    def down(self) -> None:
        if self.server is not None:
            self.server.kill()
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True, timeout=10)


@pytest.fixture
def namespace_host():
    if shutil.which("ip") is None or os.geteuid() != 0:
        pytest.fail("the network tests need root and iproute2 (ip netns) to make their own host")
    host = _NamespaceHost()
    try:
        host.up()
        yield host
    finally:
        host.down()


def _host_address() -> str:
    return next(a for a in sandbox_network.host_addresses() if not a.startswith("127."))


def test_it_reaches_the_internet_side_only_when_declared_and_never_platform_hosts(tmp_path, namespace_host):
    # From this machine both addresses of the test's host answer: what the sandbox cannot reach is filtered.
    visits_at_start = len(namespace_host.visits)
    for address in ("198.51.100.2", "169.254.77.2"):
        with socket.create_connection((address, namespace_host.port), timeout=5) as conn:
            assert conn.recv(5) == b"hello"
    # The host's visits are read from its output by a thread: wait until both of these are counted, so that
    # none of them is taken for the sandbox's below (a full run once saw the second one counted late).
    deadline = time.monotonic() + 10
    while len(namespace_host.visits) < visits_at_start + 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert namespace_host.visits[visits_at_start:] == ["198.51.100.2", "169.254.77.2"]
    visits_before = len(namespace_host.visits)
    listener = socket.socket()  # a platform service bound to every address of this machine
    listener.bind(("0.0.0.0", 0))
    listener.listen(4)
    platform_port = listener.getsockname()[1]
    code = f"""
import json, socket
out = {{}}
for name, host, port in (("public", "198.51.100.2", {namespace_host.port}),
                         ("link_local", "169.254.77.2", {namespace_host.port}),
                         ("metadata", "169.254.169.254", 80),
                         ("gateway_to_host_loopback", "10.0.2.2", {platform_port}),
                         ("host_address", "{_host_address()}", {platform_port}),
                         ("loopback", "127.0.0.1", {platform_port})):
    try:
        s = socket.create_connection((host, port), timeout=3)
        out[name] = "REACHED " + s.recv(5).decode(errors="replace")
        s.close()
    except OSError as exc:
        out[name] = "blocked: " + type(exc).__name__
print(json.dumps(out))
"""
    try:
        with_network = run_in_sandbox(code, tmp_path=tmp_path, network=True)
        without = run_in_sandbox(code, tmp_path=tmp_path / "offline", network=False)
    finally:
        listener.close()
    assert with_network["public"] == "REACHED hello", with_network["output"]
    for name in ("link_local", "metadata", "gateway_to_host_loopback", "host_address", "loopback"):
        assert with_network[name].startswith("blocked"), (name, with_network[name])
    for name in ("public", "link_local", "metadata", "gateway_to_host_loopback", "host_address", "loopback"):
        assert without[name].startswith("blocked"), (name, without[name])
    # Only the sandbox's one allowed visit reached the test host, at its public address (counted by the reader
    # thread: wait for it, then a moment for any other to show).
    deadline = time.monotonic() + 10
    while len(namespace_host.visits) < visits_before + 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    assert namespace_host.visits[visits_before:] == ["198.51.100.2"]


# --- the platform's own file access in run folders ----------------------------------------------------------------
def test_it_never_writes_or_reads_through_a_symlink_in_a_run_folder(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    target = tmp_path / "dag_folder_file.py"
    (run / "input.json").symlink_to(target)
    safefs.write_new(run / "input.json", '{"a": 1}')
    assert not target.exists() and (run / "input.json").read_text() == '{"a": 1}'

    (run / "log.txt").symlink_to(target)
    with safefs.open_append(run / "log.txt") as sink:
        sink.write("line\n")
    assert not target.exists() and not (run / "log.txt").is_symlink()

    secret = tmp_path / "other-tenant.json"
    secret.write_text('{"status": "success", "output": {"stolen": true}}')
    (run / "result.json").symlink_to(secret)
    with pytest.raises(safefs.UnsafeFile):
        safefs.read_regular(run / "result.json", max_bytes=1024)
    os.mkfifo(run / "fifo.json")
    with pytest.raises(safefs.UnsafeFile):
        safefs.read_regular(run / "fifo.json", max_bytes=1024)


def test_it_never_runs_a_sandbox_command_bare_when_the_sandbox_is_off(monkeypatch, tmp_path):
    """With FLOWUI_SANDBOX=off the command (whose paths exist only inside) is refused, not run on the host;
    callers that honour the setting (tasks, schema extraction, venv builds) run their own host command."""
    monkeypatch.setenv("FLOWUI_SANDBOX", "off")
    box, python = sandbox.python_sandbox(python=AIRFLOW_PYTHON, venv=sandbox.venv_of(AIRFLOW_PYTHON), env={})
    with pytest.raises(sandbox.SandboxUnavailable, match="only runs in the sandbox"):
        box.popen([python, "-c", "print(1)"])
