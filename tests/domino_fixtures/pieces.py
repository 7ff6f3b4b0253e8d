"""A Domino pieces repository written for the tests, in Domino's layout (config.toml, dependencies/, pieces/<Name>/
with piece.py, models.py, metadata.json, .domino/): as a Domino author writes it, nothing FlowUI-specific."""

from __future__ import annotations

import json

WRITE_CSV_PIECE = """from pathlib import Path

from domino.base_piece import BasePiece

from .models import InputModel, OutputModel


class WriteCsvPiece(BasePiece):
    def piece_function(self, input_data: InputModel):
        self.logger.info("writing %d rows", input_data.rows)
        file_path = Path(self.results_path) / "numbers.csv"
        lines = ["n,square"] + [f"{n},{n * n}" for n in range(1, input_data.rows + 1)]
        file_path.write_text("\\n".join(lines) + "\\n")
        self.display_result = {"file_type": "csv", "file_path": str(file_path)}
        return OutputModel(message=f"wrote {input_data.rows} rows", csv_file_path=str(file_path))
"""

WRITE_CSV_MODELS = """from pydantic import BaseModel, Field


class InputModel(BaseModel):
    rows: int = Field(default=3, ge=1, le=1000, description="How many rows to write")


class OutputModel(BaseModel):
    message: str = Field(description="What was done")
    csv_file_path: str = Field(description="Path of the CSV written into results_path")
"""

COUNT_ROWS_PIECE = """import csv

from domino.base_piece import BasePiece

from .models import InputModel, OutputModel


class CountRowsPiece(BasePiece):
    def piece_function(self, input_data: InputModel, secrets_data=None):
        with open(input_data.input_file_path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        total = sum(int(row[input_data.column]) for row in rows)
        self.logger.info("counted %d rows", len(rows))
        return OutputModel(row_count=len(rows), column_total=total)
"""

COUNT_ROWS_MODELS = """from pydantic import BaseModel, Field


class InputModel(BaseModel):
    input_file_path: str = Field(description="CSV file to count")
    column: str = Field(default="square", description="Numeric column to sum")


class OutputModel(BaseModel):
    row_count: int = Field(description="Number of data rows")
    column_total: int = Field(description="Sum of the column")
"""

READ_OTHER_PIECE = """from pathlib import Path

from domino.base_piece import BasePiece

from .models import InputModel, OutputModel


class ReadOtherTenantPiece(BasePiece):
    def piece_function(self, input_data: InputModel):
        return OutputModel(content=Path(input_data.target).read_text())
"""

READ_OTHER_MODELS = """from pydantic import BaseModel, Field


class InputModel(BaseModel):
    target: str = Field(description="A file to read")


class OutputModel(BaseModel):
    content: str = Field(description="What was read")
"""

GPU_MODELS = """from pydantic import BaseModel, Field


class InputModel(BaseModel):
    steps: int = Field(default=1, description="Steps")


class OutputModel(BaseModel):
    done: bool = Field(description="Done")


class SecretsModel(BaseModel):
    HF_TOKEN: str = Field(description="A token")
"""

GPU_PIECE = """from domino.base_piece import BasePiece

from .models import InputModel, OutputModel


class GpuTrainPiece(BasePiece):
    def piece_function(self, input_data: InputModel, secrets_data):
        return OutputModel(done=bool(secrets_data.HF_TOKEN))
"""


def _metadata(name: str, description: str, dependency: dict, **extra) -> str:
    data = {
        "name": name,
        "description": description,
        "dependency": dependency,
        "tags": ["test", "domino"],
        "style": {
            "node_label": name.replace("Piece", " piece"),
            "node_type": "default",
            "node_style": {"backgroundColor": "#b3cde8"},
            "useIcon": True,
            "icon_class_name": "fa-solid:table",
            "iconStyle": {"cursor": "pointer"},
        },
        "container_resources": {
            "requests": {"cpu": 100, "memory": 128},
            "limits": {"cpu": 500, "memory": 512},
            "use_gpu": False,
        },
    } | extra
    return json.dumps(data, indent=4)


def domino_repo_files() -> dict[str, str]:
    requirements = {"requirements_file": "requirements_0.txt"}
    return {
        "config.toml": '[repository]\nREGISTRY_NAME = "flowui-tests"\nREPOSITORY_NAME = "test_domino_pieces"\n'
        'REPOSITORY_LABEL = "Test pieces"\nVERSION = "0.2.1"\n',
        "README.md": "# Test Domino pieces\n",
        "dependencies/requirements_0.txt": "# the pieces need only the standard library and pydantic\n",
        "dependencies/Dockerfile_gpu": "FROM ghcr.io/tauffer-consulting/domino-base-piece:gpu\n",
        ".domino/dependencies_map.json": json.dumps({"group0": {"pieces": ["WriteCsvPiece", "CountRowsPiece"]}}),
        "pieces/WriteCsvPiece/piece.py": WRITE_CSV_PIECE,
        "pieces/WriteCsvPiece/models.py": WRITE_CSV_MODELS,
        "pieces/WriteCsvPiece/metadata.json": _metadata("WriteCsvPiece", "Writes a CSV of squares", requirements),
        "pieces/CountRowsPiece/piece.py": COUNT_ROWS_PIECE,
        "pieces/CountRowsPiece/models.py": COUNT_ROWS_MODELS,
        "pieces/CountRowsPiece/metadata.json": _metadata("CountRowsPiece", "Counts CSV rows", requirements),
        "pieces/ReadOtherTenantPiece/piece.py": READ_OTHER_PIECE,
        "pieces/ReadOtherTenantPiece/models.py": READ_OTHER_MODELS,
        "pieces/ReadOtherTenantPiece/metadata.json": _metadata("ReadOtherTenantPiece", "Reads a file", requirements),
        "pieces/GpuTrainPiece/piece.py": GPU_PIECE,
        "pieces/GpuTrainPiece/models.py": GPU_MODELS,
        "pieces/GpuTrainPiece/metadata.json": _metadata(
            "GpuTrainPiece", "Trains on a GPU", {"dockerfile": "Dockerfile_gpu"}
        ),
    }
