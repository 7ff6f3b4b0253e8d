"""The container entrypoint on its own: `python -m flowui_runtime run ...` as Batch jobs and pods run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

MODEL = """from pathlib import Path
from pydantic import BaseModel, Field


class InputModel(BaseModel):
    rows: int = Field(ge=1)
    name: str


class OutputModel(BaseModel):
    total: int
    report: Path


class SecretsModel(BaseModel):
    api_key: str
    region: str = "eu"
"""


def _operator(tmp_path: Path, body: str, model: str = MODEL, name: str = "demo") -> Path:
    folder = tmp_path / "code_repository" / "operators" / name
    folder.mkdir(parents=True)
    (folder / "model.py").write_text(model)
    (folder / "operator.py").write_text(body)
    return folder


def _run(tmp_path: Path, operator_dir: Path, payload, *, env_extra=None, secrets=None):
    input_file = tmp_path / "input.json"
    input_file.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    run_dir = tmp_path / "runs" / "dag" / "run" / "task"
    command = [sys.executable, "-m", "flowui_runtime", "run", "--operator-dir", str(operator_dir),
               "--input-file", str(input_file), "--run-dir", str(run_dir)]  # fmt: skip
    if secrets is not None:
        (tmp_path / "secrets.json").write_text(json.dumps(secrets))
        command += ["--secrets-file", str(tmp_path / "secrets.json")]
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), "FLOWUI_STORAGE_ROOT": str(tmp_path),
           **(env_extra or {})}  # fmt: skip
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    result_file = run_dir / "result.json"
    result = json.loads(result_file.read_text()) if result_file.exists() else None
    return completed, result, run_dir


GOOD = """import os
from operator import itemgetter  # the standard library's operator module, not this file

from model import InputModel, OutputModel


def operator_function(input_model: InputModel, secrets) -> OutputModel:
    print("cwd is the run folder:", os.getcwd() == os.environ["FLOWUI_RUN_DIR"])
    print("secret", secrets.api_key[:2], secrets.region)
    with open("report.txt", "w") as out:
        out.write(input_model.name)
    return OutputModel(total=itemgetter(0)([input_model.rows * 2]), report="report.txt")
"""


def test_it_runs_an_operator_and_writes_its_result_with_files_relative_to_storage(tmp_path):
    folder = _operator(tmp_path, GOOD)
    completed, result, run_dir = _run(tmp_path, folder, {"rows": 3, "name": "x"}, secrets={"api_key": "k3y"},
                                      env_extra={"REGION": "us"})  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "cwd is the run folder: True" in completed.stdout and "secret k3 us" in completed.stdout
    assert result["status"] == "success" and result["error"] is None
    assert result["output"] == {"total": 6, "report": "runs/dag/run/task/report.txt"}
    assert result["files"] == ["report"]
    assert (run_dir / "report.txt").read_text() == "x"


def test_it_refuses_invalid_input_with_one_line_per_field_and_exit_code_2(tmp_path):
    folder = _operator(tmp_path, GOOD)
    completed, result, _ = _run(tmp_path, folder, {"rows": 0}, secrets={"api_key": "k"})
    assert completed.returncode == 2
    assert result["status"] == "failed"
    assert result["error"].splitlines() == [
        "Input is not valid for operator 'demo':",
        "  - rows: Input should be greater than or equal to 1 (got 0)",
        "  - name: Field required",
    ]
    assert "Traceback" not in completed.stderr and "name: Field required" in completed.stderr


@pytest.mark.parametrize(
    ("payload", "expected"),
    [("not json", "cannot be read as JSON"), ("[1, 2]", "must hold a JSON object")],
)
def test_it_refuses_an_unreadable_input_file(tmp_path, payload, expected):
    folder = _operator(tmp_path, GOOD)
    completed, result, _ = _run(tmp_path, folder, payload)
    assert completed.returncode == 2 and expected in result["error"]


def test_it_names_missing_secrets(tmp_path):
    folder = _operator(tmp_path, GOOD)
    completed, result, _ = _run(tmp_path, folder, {"rows": 1, "name": "x"})
    assert completed.returncode == 2
    assert result["error"].splitlines() == ["Secrets are missing or invalid for 'demo':", "  - api_key: Field required"]


def test_it_fails_with_the_traceback_when_the_operator_raises(tmp_path):
    body = "def operator_function(input_model):\n    return 1 / 0\n"
    folder = _operator(tmp_path, body)
    completed, result, _ = _run(tmp_path, folder, {"rows": 1, "name": "x"})
    assert completed.returncode == 1
    assert "Traceback (most recent call last)" in completed.stderr and "ZeroDivisionError" in completed.stderr
    assert result["error"].startswith("Operator 'demo' raised ZeroDivisionError: division by zero")
    assert "operator.py" in result["error"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("def operator_function(i):\n    return {'total': 'many', 'report': 'r'}\n",
         "returned an output not valid for OutputModel:\n  - total: Input should be a valid integer"),
        ("def operator_function(i):\n    return {'total': 1, 'report': 'nowhere.txt'}\n",
         "the produced file 'nowhere.txt' does not exist"),
    ],
)  # fmt: skip
def test_it_fails_an_output_that_does_not_match_the_output_model(tmp_path, body, expected):
    folder = _operator(tmp_path, body)
    completed, result, _ = _run(tmp_path, folder, {"rows": 1, "name": "x"})
    assert completed.returncode == 1
    assert expected in result["error"]


def test_it_reports_an_operator_folder_it_cannot_load(tmp_path):
    folder = _operator(tmp_path, "def something_else():\n    pass\n")
    completed, result, _ = _run(tmp_path, folder, {"rows": 1, "name": "x"})
    assert completed.returncode == 3
    assert result["error"] == "Operator 'demo' cannot be loaded: operator.py defines no operator_function()"
    (folder / "model.py").write_text("import not_installed_anywhere\n")
    completed, result, _ = _run(tmp_path, folder, {"rows": 1, "name": "x"})
    assert completed.returncode == 3
    assert "importing model.py raised ModuleNotFoundError" in result["error"]
