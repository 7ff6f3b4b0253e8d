"""`python -m flowui_runtime.cli` (validate, run, new) as an operator author runs it: real subprocesses on
real folders, no Django."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def cli(*args: str, cwd: Path, stdin: str | None = None, env_extra: dict | None = None, timeout: float = 120):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env["PYTHONPATH"] = str(REPO)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "flowui_runtime.cli", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_no_traceback(result):
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr


# --- new --------------------------------------------------------------------------------------
def test_it_scaffolds_an_operator_whose_test_passes_and_which_validates_and_runs(tmp_path):
    result = cli("new", "word_tools", "--repo", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "operators" / "word_tools"
    for name in ("model.py", "operator.py", "metadata.json", "test_operator.py", "example_input.json"):
        assert (folder / name).is_file(), name
    assert (tmp_path / "operators" / "conftest.py").is_file()
    assert json.loads((folder / "metadata.json").read_text())["name"] == "word_tools"

    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    tests = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:django",
            "-p",
            "no:cacheprovider",
            "--import-mode=importlib",
            "operators/word_tools",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout

    validated = cli("validate", str(folder), cwd=tmp_path)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "ok    word_tools 0.1.0" in validated.stdout and "WARN" not in validated.stdout

    ran = cli("run", "word_tools", "--input", str(folder / "example_input.json"), cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    output = json.loads(ran.stdout)
    assert output["result"] == "hello hello " and output["length"] == 12
    assert Path(output["result_path"]).read_text() == "hello hello "


def test_it_refuses_bad_names_and_existing_operators_without_touching_them(tmp_path):
    assert cli("new", "word_tools", "--repo", str(tmp_path), cwd=tmp_path).returncode == 0
    model = tmp_path / "operators" / "word_tools" / "model.py"
    model.write_text("# edited by the author\n")
    again = cli("new", "word_tools", "--repo", str(tmp_path), cwd=tmp_path)
    assert again.returncode == 2 and "already exists; nothing was changed" in again.stderr
    assert model.read_text() == "# edited by the author\n"
    case = cli("new", "Word_Tools", "--repo", str(tmp_path), cwd=tmp_path)
    assert case.returncode == 2 and "more than case" in case.stderr
    bad = cli("new", "2fast", "--repo", str(tmp_path), cwd=tmp_path)
    assert bad.returncode == 2 and "'2fast' is not a valid operator name" in bad.stderr
    missing = cli("new", "x", "--repo", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    for result in (again, case, bad, missing):
        assert_no_traceback(result)


# --- validate ---------------------------------------------------------------------------------
def test_it_validates_the_bundled_collection_without_errors_or_warnings():
    result = cli("validate", str(REPO), cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ERROR" not in result.stdout and "WARN" not in result.stdout
    count = len([p for p in (REPO / "operators").iterdir() if (p / "operator.py").is_file()])
    assert count >= 8 and f"{count} of {count} operators valid" in result.stdout


def test_it_reports_broken_operators_with_clear_errors_and_warnings(tmp_path):
    operators = tmp_path / "operators"
    good = operators / "good"
    good.mkdir(parents=True)
    (good / "model.py").write_text(
        "from pydantic import BaseModel, Field\n"
        "class Inner(BaseModel):\n    depth: int\n"
        "class InputModel(BaseModel):\n    x: int\n    y: int = Field(description='y')\n    inner: Inner | None = None\n"
    )
    (good / "operator.py").write_text("def operator_function(input_model):\n    return {}\n")
    no_operator = operators / "no_operator"
    no_operator.mkdir()
    (no_operator / "model.py").write_text("from pydantic import BaseModel\nclass InputModel(BaseModel):\n    pass\n")
    bad_json = operators / "bad_json"
    bad_json.mkdir()
    (bad_json / "model.py").write_text("from pydantic import BaseModel\nclass InputModel(BaseModel):\n    pass\n")
    (bad_json / "operator.py").write_text("def operator_function(input_model):\n    return {}\n")
    (bad_json / "metadata.json").write_text('{"name": "bad_json", "style": {"colour": "red"}}')
    raising = operators / "raising"
    raising.mkdir()
    (raising / "model.py").write_text("raise RuntimeError('model exploded')\n")
    (raising / "operator.py").write_text("def operator_function(input_model):\n    return {}\n")

    result = cli("validate", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 1
    out = result.stdout
    assert "ok    good 0.1.0" in out
    assert "WARN  good: InputModel fields without a description: x, inner, inner.depth" in out
    assert "WARN  good: no metadata.json" in out and "WARN  good: no test_operator.py" in out
    assert "ERROR no_operator: missing required file: operator.py" in out
    assert "ERROR bad_json: metadata.json: field 'style.colour'" in out
    assert "ERROR raising:" in out and "model exploded" in out
    assert "1 of 4 operators valid" in out
    assert_no_traceback(result)

    as_json = cli("validate", str(tmp_path), "--json", cwd=tmp_path)
    report = json.loads(as_json.stdout)
    assert report["operators"]["good"]["ok"] and report["operators"]["good"]["input_schema"]["required"] == ["x", "y"]
    assert not report["operators"]["raising"]["ok"]


def test_it_explains_a_path_that_is_no_operator(tmp_path):
    missing = cli("validate", str(tmp_path / "nope"), cwd=tmp_path)
    assert missing.returncode == 2 and "is not a folder" in missing.stderr
    empty = cli("validate", str(tmp_path), cwd=tmp_path)
    assert empty.returncode == 2 and "holds neither operators/ nor an operator" in empty.stderr
    usage = cli("frobnicate", cwd=tmp_path)
    assert usage.returncode == 2 and "invalid choice" in usage.stderr
    for result in (missing, empty, usage):
        assert_no_traceback(result)


# --- run --------------------------------------------------------------------------------------
def test_it_runs_a_bundled_operator_on_storage_files_and_prints_its_output(tmp_path):
    (tmp_path / "sales.csv").write_text("region,amount\nnorth,10\nsouth,20\nnorth,5\n")
    (tmp_path / "input.json").write_text(
        json.dumps(
            {
                "dataset_path": "sales.csv",
                "group_by": ["region"],
                "aggregations": [{"column": "amount", "func": "sum", "name": "total"}],
            }
        )
    )
    run_dir = tmp_path / "runs" / "one"
    result = cli(
        "run", "group_by_stats", "--repo", str(REPO), "--input", "input.json", "--run-dir", str(run_dir), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    # Produced files come back relative to the storage root (here the current folder), as in a real run.
    assert output == {"dataset_path": "runs/one/stats.csv", "group_count": 2, "column_names": ["region", "total"]}
    assert (run_dir / "stats.csv").read_text() == "region,total\nnorth,15\nsouth,20\n"
    assert json.loads((run_dir / "result.json").read_text())["status"] == "success"


def test_it_runs_with_input_from_stdin_and_secrets_from_a_file(tmp_path):
    (tmp_path / "secrets.json").write_text('{"auth_token": "t0ken"}')
    code = {"code": "import os\nresult = sorted(os.listdir('.'))", "variables": {"a": 1}}
    # python_snippet runs untrusted code: only in the sandbox (--sandbox runs it as a local task would).
    refused = cli("run", "python_snippet", "--repo", str(REPO), "--input", "-", cwd=tmp_path, stdin=json.dumps(code))
    assert refused.returncode == 1 and "only runs sandboxed" in refused.stderr
    result = cli("run", "python_snippet", "--repo", str(REPO), "--input", "-", "--sandbox", cwd=tmp_path,
                 stdin=json.dumps(code))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert ".snippet" in json.loads(result.stdout)["result"]
    # http_request takes secrets; an unreachable URL fails the operator (exit 1) with its reason.
    request = json.dumps({"url": "http://127.0.0.1:9/", "timeout_s": 2})
    failed = cli(
        "run",
        "http_request",
        "--repo",
        str(REPO),
        "--input",
        "-",
        "--secrets",
        "secrets.json",
        cwd=tmp_path,
        stdin=request,
    )
    assert failed.returncode == 1
    assert "GET http://127.0.0.1:9/ failed" in failed.stderr and "FAILED http_request" in failed.stderr
    assert "t0ken" not in failed.stdout + failed.stderr


def test_it_explains_invalid_input_and_user_mistakes_without_tracebacks(tmp_path):
    (tmp_path / "bad_value.json").write_text('{"dataset_path": "x.csv", "top_values": -1, "typo": 1}')
    invalid = cli("run", "describe_dataset", "--repo", str(REPO), "--input", "bad_value.json", cwd=tmp_path)
    assert invalid.returncode == 2
    assert "Input is not valid for operator 'describe_dataset'" in invalid.stderr
    assert "top_values: Input should be greater than or equal to 0 (got -1)" in invalid.stderr
    assert "input key(s) not in InputModel, ignored: typo" in invalid.stderr
    assert invalid.stdout == ""

    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "broken.json").write_text("{nope")
    cases = {
        ("run", "describe_dataset", "--repo", str(REPO), "--input", "list.json"): "must hold a JSON object",
        ("run", "describe_dataset", "--repo", str(REPO), "--input", "broken.json"): "is not valid JSON",
        ("run", "describe_dataset", "--repo", str(REPO), "--input", "absent.json"): "cannot read the input file",
        ("run", "describe_datasets", "--repo", str(REPO), "--input", "list.json"): "no operator 'describe_datasets'",
        ("run", "describe_dataset", "--input", "list.json"): "has no operators/ folder",
        ("run", "describe_dataset", "--repo", str(REPO)): "the following arguments are required: --input",
    }
    for args, message in cases.items():
        result = cli(*args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert_no_traceback(result)


def test_it_stops_an_operator_that_runs_too_long(tmp_path):
    code = json.dumps({"code": "import time\ntime.sleep(60)", "timeout_s": 120})
    result = cli(
        "run",
        "python_snippet",
        "--repo",
        str(REPO),
        "--input",
        "-",
        "--timeout",
        "2",
        "--sandbox",
        cwd=tmp_path,
        stdin=code,
        timeout=60,
    )
    assert result.returncode == 2 and "did not finish within 2 s" in result.stderr
    assert_no_traceback(result)


def test_it_checks_dependency_groups_against_the_repository_map(tmp_path):
    (tmp_path / "dependencies").mkdir()
    (tmp_path / "dependencies" / "dependencies_map.json").write_text(
        json.dumps({"groups": {"data": {"requirements": ["pydantic==2.14.4"], "operators": ["listed"]}}})
    )
    made = cli("new", "in_data", "--repo", str(tmp_path), "--group", "data", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert json.loads((tmp_path / "operators" / "in_data" / "metadata.json").read_text())["dependency_group"] == "data"
    unknown = cli("new", "in_gpu", "--repo", str(tmp_path), "--group", "gpu", cwd=tmp_path)
    assert unknown.returncode == 2 and "'gpu' is not defined" in unknown.stderr and "(defined: data)" in unknown.stderr
    assert not (tmp_path / "operators" / "in_gpu").exists()

    assert cli("new", "listed", "--repo", str(tmp_path), cwd=tmp_path).returncode == 0
    assert cli("new", "orphan", "--repo", str(tmp_path), cwd=tmp_path).returncode == 0
    orphan_metadata = tmp_path / "operators" / "orphan" / "metadata.json"
    orphan_metadata.write_text(orphan_metadata.read_text().replace('"default"', '"gpu"'))

    result = cli("validate", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 1
    assert "ok    in_data 0.1.0" in result.stdout
    assert (
        "WARN  listed: metadata.json says dependency_group 'default' but dependencies/dependencies_map.json "
        "lists it in 'data' (the map wins)"
    ) in result.stdout
    assert "ERROR orphan: dependency group 'gpu' is not defined in dependencies/dependencies_map.json" in result.stdout
    assert "2 of 3 operators valid" in result.stdout
    single = cli("validate", str(tmp_path / "operators" / "orphan"), "--json", cwd=tmp_path)
    entry = json.loads(single.stdout)["operators"]["orphan"]
    assert single.returncode == 1 and not entry["ok"] and "group_warnings" not in entry


def test_it_warns_about_unknown_metadata_keys_and_file_outputs_typed_str(tmp_path):
    made = cli("new", "lenient", "--repo", str(tmp_path), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "operators" / "lenient"
    metadata = json.loads((folder / "metadata.json").read_text())
    metadata["style"] = {"color": "#123456", "node_label": "Lenient"}
    metadata["x-owner"] = "data team"
    (folder / "metadata.json").write_text(json.dumps(metadata))
    model = (folder / "model.py").read_text()
    (folder / "model.py").write_text(model + "\n\nclass OutputModel(OutputModel):\n    counts_file: str = ''\n")
    result = cli("validate", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr  # warnings do not fail validation
    assert "WARN  lenient: metadata.json: unknown key 'style.node_label' ignored" in result.stdout
    assert "WARN  lenient: metadata.json: unknown key 'x-owner' ignored" in result.stdout
    assert "'counts_file' looks like a file but is not typed pathlib.Path" in result.stdout
    assert "style.color" not in result.stdout  # read as colour


# --- test, schema, organize, and writes outside the run folder ---------------------------------
def test_it_runs_the_operators_own_tests_and_explains_what_is_missing(tmp_path, tmp_path_factory):
    assert cli("new", "tested", "--repo", str(tmp_path), cwd=tmp_path).returncode == 0
    passed = cli("test", "tested", cwd=tmp_path)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "2 passed" in passed.stdout and "ok tested: its tests pass" in passed.stderr

    test_file = tmp_path / "operators" / "tested" / "test_operator.py"
    test_file.write_text(test_file.read_text() + "\n\ndef test_it_fails():\n    assert 1 == 2\n")
    failed = cli("test", "tested", cwd=tmp_path)
    assert failed.returncode == 1 and "1 failed, 2 passed" in failed.stdout
    assert "FAILED tested: its tests did not pass" in failed.stderr

    bare = tmp_path_factory.mktemp("bare")  # a Python without pytest: a venv with nothing installed
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare / "venv")], check=True)
    no_pytest = cli("test", "tested", "--python", str(bare / "venv" / "bin" / "python"), cwd=tmp_path)
    assert no_pytest.returncode == 2 and "pytest is not installed for" in no_pytest.stderr
    test_file.unlink()
    no_file = cli("test", "tested", cwd=tmp_path)
    assert no_file.returncode == 2 and f"{test_file}: no such file" in no_file.stderr
    for result in (failed, no_pytest, no_file):
        assert_no_traceback(result)


def test_it_prints_the_json_schemas_and_names_the_broken_line(tmp_path):
    assert cli("new", "shaped", "--repo", str(tmp_path), cwd=tmp_path).returncode == 0
    whole = cli("schema", "shaped", cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr
    schemas = json.loads(whole.stdout)
    assert set(schemas) == {"input", "output", "secrets"}
    assert schemas["input"]["properties"]["text"]["type"] == "string"
    output = json.loads(cli("schema", "shaped", "--which", "output", cwd=tmp_path).stdout)
    assert output["title"] == "OutputModel" and "result_path" in output["properties"]

    model = tmp_path / "operators" / "shaped" / "model.py"
    model.write_text(model.read_text() + "\nclass Broken(:\n")
    broken = cli("schema", "shaped", cwd=tmp_path)
    assert broken.returncode == 1 and "ERROR shaped: model.py" in broken.stderr and "line" in broken.stderr
    assert_no_traceback(broken)


def test_it_organizes_the_dependencies_map_from_the_declared_groups(tmp_path):
    deps = tmp_path / "dependencies"
    deps.mkdir()
    data_group = {"image": "x/data:1", "requirements": ["pandas==3.1.1"], "operators": ["gone"]}
    (deps / "dependencies_map.json").write_text(json.dumps({"groups": {"data": data_group}}))
    assert cli("new", "plain", "--repo", str(tmp_path), cwd=tmp_path).returncode == 0
    assert cli("new", "tabular", "--repo", str(tmp_path), "--group", "data", cwd=tmp_path).returncode == 0

    organized = cli("organize", cwd=tmp_path)
    assert organized.returncode == 0, organized.stderr
    groups = json.loads((deps / "dependencies_map.json").read_text())["groups"]
    assert groups["data"] == {"image": "x/data:1", "requirements": ["pandas==3.1.1"], "operators": ["tabular"]}
    assert groups["default"]["operators"] == ["plain"]
    again = cli("organize", "--repo", str(tmp_path), cwd=tmp_path)
    assert again.returncode == 0 and "is up to date" in again.stdout
    assert cli("validate", str(tmp_path), cwd=tmp_path).returncode == 0

    metadata = tmp_path / "operators" / "plain" / "metadata.json"
    metadata.write_text(metadata.read_text().replace('"default"', '"gpu"'))
    before = (deps / "dependencies_map.json").read_text()
    unknown = cli("organize", cwd=tmp_path)
    assert unknown.returncode == 1
    assert "operators/plain/metadata.json: field 'dependency_group': 'gpu' is not a group of" in unknown.stderr
    assert (deps / "dependencies_map.json").read_text() == before  # nothing written on an error
    assert_no_traceback(unknown)


def test_it_finds_the_bundled_map_organized_already(tmp_path):
    for name in ("operators", "dependencies"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    before = (tmp_path / "dependencies" / "dependencies_map.json").read_text()
    result = cli("organize", cwd=tmp_path)
    assert result.returncode == 0 and "is up to date" in result.stdout, result.stdout + result.stderr
    assert (tmp_path / "dependencies" / "dependencies_map.json").read_text() == before


def test_it_warns_when_a_run_writes_outside_its_run_folder(tmp_path):
    assert cli("new", "leaky", "--repo", str(tmp_path), cwd=tmp_path).returncode == 0
    folder = tmp_path / "operators" / "leaky"
    clean = cli("run", "leaky", "--input", str(folder / "example_input.json"), cwd=tmp_path)
    assert clean.returncode == 0 and "WARN" not in clean.stderr, clean.stderr

    operator = folder / "operator.py"
    operator.write_text(
        operator.read_text().replace(
            '    result_path.write_text(result, encoding="utf-8")\n',
            '    result_path.write_text(result, encoding="utf-8")\n'
            '    (Path(os.environ["FLOWUI_STORAGE_ROOT"]) / "stray.txt").write_text("x")\n'
            '    (Path(__file__).parent / "cache.txt").write_text("x")\n'
            '    (Path.home() / "scratch.txt").write_text("x")  # HOME is a fresh folder, as in the sandbox\n',
        )
    )
    leaky = cli("run", "leaky", "--input", str(folder / "example_input.json"), cwd=tmp_path)
    assert leaky.returncode == 0, leaky.stderr  # a warning, not a failure
    warning = next(line for line in leaky.stderr.splitlines() if line.startswith("WARN"))
    assert "leaky wrote files outside its run folder" in warning
    assert str(tmp_path / "stray.txt") in warning and str(folder / "cache.txt") in warning
    assert "scratch.txt" not in warning
