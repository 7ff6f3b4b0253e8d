"""The bundled operator collection (operators/ at the repository root) as the platform sees it: metadata and
dependency groups consistent, every field documented for the editor, and a real pipeline of operators run
through the runtime entrypoint (`python -m flowui_runtime run`), passing produced files downstream as
storage-relative paths like a DAG run does."""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import jsonschema
import pytest

from flowui_runtime.checks import dependencies_map_parse, metadata_parse, validate_path
from flowui_runtime.cli import fields_without_description

REPO = Path(__file__).resolve().parent.parent
OPERATORS = REPO / "operators"
FOLDERS = sorted(p for p in OPERATORS.iterdir() if (p / "operator.py").is_file())


def pins(requirements_file: Path) -> dict[str, str]:
    found = {}
    for line in requirements_file.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\[\]-]+)==([^\s;#]+)", line.strip())
        if match:
            found[match.group(1).split("[")[0].lower()] = match.group(2)
    return found


def test_it_bundles_at_least_eight_operators_with_complete_metadata():
    assert len(FOLDERS) >= 8
    for folder in FOLDERS:
        metadata = metadata_parse((folder / "metadata.json").read_text(), folder=folder.name)
        assert metadata.name == folder.name
        assert len(metadata.description) > 40, folder.name
        assert metadata.tags and metadata.style.label and metadata.style.icon, folder.name
        assert (folder / "test_operator.py").is_file(), folder.name


def test_it_groups_every_operator_in_exactly_one_pinned_dependency_group():
    groups = dependencies_map_parse((REPO / "dependencies" / "dependencies_map.json").read_text()).groups
    platform = pins(REPO / "requirements.txt") | pins(REPO / "requirements-dev.txt")
    listed = [name for group in groups.values() for name in group.operators]
    assert sorted(listed) == sorted(folder.name for folder in FOLDERS)
    for folder in FOLDERS:
        metadata = metadata_parse((folder / "metadata.json").read_text(), folder=folder.name)
        assert folder.name in groups[metadata.dependency_group].operators, folder.name
    for name, group in groups.items():
        assert group.image, name
        for requirement in group.requirements:
            package, _, version = requirement.partition("==")
            assert version, f"{name}: {requirement} is not pinned"
            # The operators' tests run in the platform venv: the same versions as the groups' venvs.
            assert platform.get(package.split("[")[0].lower()) == version, (
                f"{name}: {requirement} differs from requirements*.txt"
            )


def test_it_describes_every_field_of_every_model_and_extracts_the_schemas():
    report = validate_path(REPO)
    assert report["errors"] == []
    assert sorted(report["operators"]) == [folder.name for folder in FOLDERS]
    for folder, entry in report["operators"].items():
        assert entry["ok"], (folder, entry["errors"])
        for key in ("input_schema", "output_schema", "secrets_schema"):
            if entry[key]:
                assert fields_without_description(entry[key]) == [], (folder, key)
    for folder in FOLDERS:
        # The example input each operator ships (README, `cli run`) is valid for its InputModel.
        example = json.loads((folder / "example_input.json").read_text())
        jsonschema.validate(example, report["operators"][folder.name]["input_schema"])
    snippet = report["operators"]["python_snippet"]["input_schema"]["properties"]["code"]
    assert snippet["widget"] == "code" and snippet["language"] == "python"
    assert report["operators"]["http_request"]["secrets_schema"]["properties"]["auth_token"]


# --- a pipeline through the runtime entrypoint ----------------------------------------------------
@pytest.fixture
def storage(tmp_path):
    root = tmp_path / "storage"
    (root / "dataset").mkdir(parents=True)
    return root


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


@pytest.fixture
def web(tmp_path):
    folder = tmp_path / "web"
    folder.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def run_task(storage: Path, operator: str, task_id: str, inputs: dict) -> dict:
    run_dir = storage / "runs" / "pipeline" / "run_1" / task_id
    run_dir.mkdir(parents=True)
    input_file = run_dir / "input.json"
    input_file.write_text(json.dumps(inputs))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AWS_", "DATABASE_URL"))}
    env.update(FLOWUI_STORAGE_ROOT=str(storage), PYTHONPATH=str(REPO))
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "flowui_runtime",
            "run",
            "--operator-dir",
            str(OPERATORS / operator),
            "--input-file",
            str(input_file),
            "--run-dir",
            str(run_dir),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    result = json.loads((run_dir / "result.json").read_text())
    assert completed.returncode == 0 and result["status"] == "success", completed.stderr
    return result["output"]


def test_it_runs_a_pipeline_of_bundled_operators_through_the_runtime(storage, web):
    folder, base_url = web
    rows = ["city,month,sales,visits"] + [
        f"{city},{month},{(10 if city == 'Paris' else 3) * month + 5},{month * 7 % 11}"
        for city in ("Paris", "Rome", "Oslo")
        for month in range(1, 13)
    ]
    (folder / "sales.csv").write_text("\n".join(rows) + "\n")
    (storage / "dataset" / "cities.csv").write_text("name,country\nParis,FR\nRome,IT\nOslo,NO\n")

    loaded = run_task(storage, "load_dataset", "load", {"source": f"{base_url}/sales.csv"})
    assert loaded["dataset_path"] == "runs/pipeline/run_1/load/dataset.csv" and loaded["row_count"] == 36

    filtered = run_task(
        storage,
        "filter_rows",
        "filter",
        {
            "dataset_path": loaded["dataset_path"],
            "conditions": [{"column": "month", "op": ">=", "value": "7"}],
        },
    )
    assert (filtered["rows_in"], filtered["rows_out"]) == (36, 18)

    joined = run_task(
        storage,
        "join_datasets",
        "join",
        {
            "left_path": filtered["dataset_path"],
            "right_path": "dataset/cities.csv",
            "left_on": ["city"],
            "right_on": ["name"],
        },
    )
    assert (joined["row_count"], joined["left_only"], joined["right_only"]) == (18, 0, 0)

    stats = run_task(
        storage,
        "group_by_stats",
        "stats",
        {
            "dataset_path": joined["dataset_path"],
            "group_by": ["country"],
            "aggregations": [{"column": "sales", "func": "sum", "name": "total"}],
            "sort_by": "total",
            "descending": True,
        },
    )
    table = (storage / stats["dataset_path"]).read_text().splitlines()
    assert table == ["country,total", "FR,600", "IT,201", "NO,201"]

    chart = run_task(
        storage,
        "render_chart",
        "chart",
        {
            "dataset_path": stats["dataset_path"],
            "chart_type": "bar",
            "x_column": "country",
            "y_columns": ["total"],
        },
    )
    assert (storage / chart["png_path"]).read_bytes().startswith(b"\x89PNG")
    assert "<td>FR</td>" in (storage / chart["html_path"]).read_text()

    profile = run_task(storage, "describe_dataset", "describe", {"dataset_path": loaded["dataset_path"]})
    assert [column["name"] for column in profile["columns"]] == ["city", "month", "sales", "visits"]

    model = run_task(
        storage,
        "train_model",
        "train",
        {
            "dataset_path": loaded["dataset_path"],
            "target_column": "sales",
            "feature_columns": ["city", "month"],
            "algorithm": "linear",
            "task": "regression",
        },
    )
    assert model["task"] == "regression" and model["metrics"]["r2"] > 0.5
    assert (storage / model["model_path"]).is_file()

    snippet = run_task(
        storage,
        "python_snippet",
        "snippet",
        {
            "code": "import csv\nwith open(storage + '/' + path) as f:\n    result = len(list(csv.DictReader(f)))",
            "variables": {"storage": str(storage), "path": stats["dataset_path"]},
        },
    )
    assert snippet["result"] == 3


def test_it_renders_every_operator_input_form_in_the_editor():
    from flowui.forms_jsonschema import render_form

    report = validate_path(REPO)
    for folder in FOLDERS:
        schema = report["operators"][folder.name]["input_schema"]
        example = json.loads((folder / "example_input.json").read_text())
        html = str(render_form(schema, inputs={name: {"value": value} for name, value in example.items()}))
        for name, prop in schema["properties"].items():
            # Every field is shown (an empty list has its Add item button, no input row).
            assert f'name="in.{name}' in html or f'data-form-action="add:in.{name}"' in html, (folder.name, name)
            assert prop["description"].split("(")[0].split("'")[0][:30] in html.replace("&#x27;", "'"), (
                folder.name,
                name,
            )
    code_form = str(render_form(report["operators"]["python_snippet"]["input_schema"]))
    assert 'class="widget-code" data-language="python"' in code_form


def test_it_runs_the_examples_and_a_first_workflow_on_the_sample_datasets_untouched(storage):
    """Every tenant gets datasets/samples/ as dataset/samples/ (provisioning): the operators' own examples run on
    them as shipped, and so does load -> filter -> chart with the load form's example path."""
    import shutil

    shutil.copytree(REPO / "datasets" / "samples", storage / "dataset" / "samples")
    for folder in FOLDERS:
        example = json.loads((folder / "example_input.json").read_text())
        if folder.name == "s3_transfer" or not any(
            isinstance(v, str) and v.startswith("dataset/") for v in example.values()
        ):
            continue
        run_task(storage, folder.name, f"example_{folder.name}", example)

    loaded = run_task(storage, "load_dataset", "load", {"source": "dataset/samples/sales.csv"})
    assert loaded["column_names"] == ["region", "month", "product", "amount"] and loaded["row_count"] >= 24
    filtered = run_task(
        storage,
        "filter_rows",
        "filter",
        {
            "dataset_path": loaded["dataset_path"],
            "conditions": [{"column": "region", "op": "==", "value": "West"}],
        },
    )
    assert 0 < filtered["rows_out"] < filtered["rows_in"]
    chart = run_task(
        storage,
        "render_chart",
        "chart",
        {
            "dataset_path": filtered["dataset_path"],
            "chart_type": "bar",
            "x_column": "month",
            "y_columns": ["amount"],
        },
    )
    assert (storage / chart["png_path"]).read_bytes().startswith(b"\x89PNG")
