import time
from pathlib import Path

import pytest


def run(module, **values):
    return module.operator_function(module.InputModel(**values))


def test_it_runs_code_with_variables_and_returns_result_and_prints(operator_module, run_env):
    code = (
        "import os, pathlib\n"
        "total = sum(rows) * factor\n"
        "print('total is', total)\n"
        "pathlib.Path('note.txt').write_text(name)\n"
        "result = {'total': total, 'cwd': os.getcwd(), 'when': __import__('datetime').date(2024, 1, 2)}\n"
    )
    out = run(operator_module, code=code, variables={"rows": [1, 2, 3], "factor": 2, "name": "x"})
    assert out.result == {"total": 12, "cwd": str(run_env.run_dir), "when": "2024-01-02"}
    assert out.stdout == "total is 12\n" and out.duration_s > 0
    assert (run_env.run_dir / "note.txt").read_text() == "x"
    assert sorted(p.name for p in run_env.run_dir.iterdir()) == ["note.txt"]


def test_it_does_not_pass_secrets_to_the_code(operator_module, run_env, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak")
    monkeypatch.setenv("DJANGO_SECRET_KEY", "do-not-leak")
    out = run(operator_module, code="import os\nresult = dict(os.environ)")
    assert "do-not-leak" not in str(out.result)
    assert out.result["FLOWUI_STORAGE_ROOT"] == str(run_env.storage)


def test_it_reports_the_error_of_failing_code(operator_module, run_env):
    with pytest.raises(RuntimeError, match="exit code 1.*ZeroDivisionError: division by zero"):
        run(operator_module, code="x = 1\ny = x / 0\n")
    with pytest.raises(RuntimeError, match="SyntaxError"):
        run(operator_module, code="def (:\n")
    assert (run_env.run_dir / ".snippet" / "snippet.py").read_text() == "def (:\n"


def test_it_stops_code_that_runs_too_long_with_its_children(operator_module, run_env):
    code = (
        "import pathlib, subprocess, time\n"
        "child = subprocess.Popen(['sleep', '30'])\n"
        "pathlib.Path('child.pid').write_text(str(child.pid))\n"
        "time.sleep(30)\n"
    )
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="did not finish within 1 s"):
        run(operator_module, code=code, timeout_s=1)
    assert time.monotonic() - started < 10
    child = Path(f"/proc/{(run_env.run_dir / 'child.pid').read_text()}")
    deadline = time.monotonic() + 5
    while child.exists() and "Z" not in _state(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not child.exists() or "Z" in _state(child)


def _state(proc: Path) -> str:
    try:
        return (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def test_it_limits_memory_and_validates_variable_names(operator_module, run_env):
    with pytest.raises(RuntimeError, match="MemoryError"):
        run(operator_module, code="block = bytearray(600 * 1024 * 1024)", memory_limit_mb=256)
    with pytest.raises(ValueError, match="identifiers: 'not valid'"):
        operator_module.InputModel(code="pass", variables={"not valid": 1})
