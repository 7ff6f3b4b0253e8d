"""The Domino compat layer through the runtime entrypoint (what every execution mode runs), without Django:
pieces converted by flowui_runtime.domino_layout run unchanged, with secrets, display_result and file outputs."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flowui_runtime.checks import validate_path
from flowui_runtime.domino_compat import files_as_paths
from flowui_runtime.domino_layout import domino_repository_map, piece_operator_write
from tests.domino_fixtures.pieces import domino_repo_files

REPO = Path(__file__).resolve().parent.parent

DISPLAY_PIECE = """from domino.base_piece import BasePiece
from models import InputModel, OutputModel


class ShowPiece(BasePiece):
    def piece_function(self, input_data):
        self.display_result = {"file_type": "txt", "base64_content": input_data.encoded}
        return {"report_file": None, "shown": True}
"""

DISPLAY_MODELS = """from typing import Optional

from pydantic import BaseModel


class InputModel(BaseModel):
    encoded: str


class OutputModel(BaseModel):
    report_file: Optional[str] = None
    shown: bool
"""


@pytest.fixture
def operators(tmp_path) -> Path:
    files = domino_repo_files() | {
        "pieces/ShowPiece/piece.py": DISPLAY_PIECE,
        "pieces/ShowPiece/models.py": DISPLAY_MODELS,
        "pieces/ShowPiece/metadata.json": json.dumps({"name": "ShowPiece"}),
    }
    source = tmp_path / "domino"
    for relative, text in files.items():
        (source / relative).parent.mkdir(parents=True, exist_ok=True)
        (source / relative).write_text(text)
    names = sorted(p.name for p in (source / "pieces").iterdir())
    mapped = domino_repository_map(
        piece_names=names, read_text=lambda p: (source / p).read_text() if (source / p).is_file() else None
    )
    out = tmp_path / "converted"
    for name in names:
        piece_operator_write(piece_dir=source / "pieces" / name, target=out / name, metadata=mapped.metadata[name])
    return out


def run(operators: Path, tmp_path: Path, name: str, values: dict, secrets: dict | None = None) -> dict:
    storage = tmp_path / "storage"
    run_dir = storage / "runs" / "dag" / "run" / name
    run_dir.mkdir(parents=True, exist_ok=True)
    (tmp_path / "input.json").write_text(json.dumps(values))
    command = [sys.executable, "-m", "flowui_runtime", "run", "--operator-dir", str(operators / name),
               "--input-file", str(tmp_path / "input.json"), "--run-dir", str(run_dir)]  # fmt: skip
    if secrets is not None:
        (tmp_path / "secrets.json").write_text(json.dumps(secrets))
        command += ["--secrets-file", str(tmp_path / "secrets.json")]
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), "FLOWUI_STORAGE_ROOT": str(storage)}
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    result = json.loads((run_dir / "result.json").read_text())
    result["stderr"], result["run_dir"] = completed.stderr, run_dir
    return result


def test_it_passes_secrets_data_and_writes_display_results(operators, tmp_path):
    result = run(operators, tmp_path, "GpuTrainPiece", {"steps": 2}, secrets={"HF_TOKEN": "t0ken"})
    assert result["status"] == "success" and result["output"] == {"done": True}, result
    missing = run(operators, tmp_path, "GpuTrainPiece", {"steps": 2}, secrets={})
    assert missing["exit_code"] == 2 and "HF_TOKEN" in missing["error"]

    shown = run(operators, tmp_path, "ShowPiece", {"encoded": base64.b64encode(b"hello").decode()})
    assert shown["status"] == "success" and shown["output"] == {"report_file": None, "shown": True}, shown
    assert (shown["run_dir"] / "display_result.txt").read_text() == "hello"
    assert json.loads((shown["run_dir"] / "display_result.json").read_text()) == {
        "file_type": "txt",
        "file": "display_result.txt",
    }


def test_it_refuses_a_missing_produced_file_and_reports_piece_errors(operators, tmp_path):
    bad = run(operators, tmp_path, "CountRowsPiece", {"input_file_path": "/nonexistent.csv"})
    assert bad["exit_code"] == 1 and "FileNotFoundError" in bad["error"]
    invalid = run(operators, tmp_path, "WriteCsvPiece", {"rows": 0})
    assert invalid["exit_code"] == 2 and "rows: Input should be greater than or equal to 1" in invalid["error"]


def test_it_types_domino_file_outputs_as_paths_and_installs_no_domino_package():
    from pydantic import BaseModel

    class OutputModel(BaseModel):
        csv_file_path: str
        report_file: str | None = None
        message_path_count: int = 0
        note: str = ""

    retyped = files_as_paths(OutputModel)
    assert issubclass(retyped, OutputModel)
    assert retyped.model_fields["csv_file_path"].annotation is Path
    assert retyped.model_fields["report_file"].annotation == Path | None
    assert retyped.model_fields["message_path_count"].annotation is int
    assert retyped.model_fields["note"].annotation is str
    # The platform's environment has no `domino` package: the stand-in exists only on a piece's sys.path.
    assert importlib.util.find_spec("domino") is None


def test_it_checks_a_domino_checkout_offline_as_the_sync_maps_it(tmp_path):
    for relative, text in domino_repo_files().items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    (tmp_path / "pieces" / "CountRowsPiece" / "models.py").write_text("from pydantic import BaseModel\n1 / 0\n")
    report = validate_path(tmp_path, sandboxed=True)
    assert report["errors"] == []
    entries = report["operators"]
    assert entries["WriteCsvPiece"]["ok"] and entries["WriteCsvPiece"]["version"] == "0.2.1"
    assert entries["WriteCsvPiece"]["output_schema"]["properties"]["csv_file_path"]["format"] == "path"
    assert entries["CountRowsPiece"]["errors"] == ["models.py line 2: ZeroDivisionError: division by zero"]
    assert entries["GpuTrainPiece"]["warnings"][0].startswith("Domino piece: dependency.dockerfile 'Dockerfile_gpu'")
