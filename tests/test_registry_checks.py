"""The sync's checks and the sandbox, Django-free (what the authoring CLI runs offline)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from flowui_runtime.checks import (
    dependencies_map_parse,
    duplicate_names_mark,
    metadata_parse,
    operator_dir_check,
    validate_path,
)
from flowui_runtime.inspect import InspectJob, extract_schemas

MODEL = "from pydantic import BaseModel, Field\n\nclass InputModel(BaseModel):\n    x: int = Field(description='x')\n"
OPERATOR = "from model import InputModel\n\ndef operator_function(input_model):\n    return {}\n"


def write_operator(
    root: Path, name: str, *, model: str = MODEL, operator: str | None = OPERATOR, metadata: dict | None = None
) -> Path:
    folder = root / "operators" / name
    folder.mkdir(parents=True)
    (folder / "model.py").write_text(model)
    if operator is not None:
        (folder / "operator.py").write_text(operator)
    if metadata is not None:
        (folder / "metadata.json").write_text(json.dumps(metadata))
    return folder


def test_it_defaults_missing_metadata_and_names_each_bad_field():
    metadata = metadata_parse(None, folder="alpha")
    assert (metadata.name, metadata.version, metadata.dependency_group) == ("alpha", "0.1.0", "default")
    try:
        metadata_parse(json.dumps({"version": "one", "resources": {"cpu": 0}, "execution_modes": ["ssh"]}), folder="a")
    except ValueError as exc:
        text = str(exc)
    assert "field 'version': must look like 1.2.3" in text
    assert "field 'resources.cpu': Input should be greater than 0" in text
    assert "field 'execution_modes': each must be one of local, batch, kubernetes" in text


def test_it_checks_files_syntax_and_the_operator_function(tmp_path):
    folder = write_operator(tmp_path, "alpha", operator="def run(x):\n    pass\n")
    assert operator_dir_check(folder).errors == ["operator.py does not define operator_function(input_model)"]
    folder = write_operator(tmp_path, "beta", model="class InputModel(:\n")
    assert operator_dir_check(folder).errors == ["model.py line 1: syntax error: invalid syntax"]
    folder = write_operator(tmp_path, "9bad", operator=None)
    errors = operator_dir_check(folder).errors
    assert "folder name '9bad' is not a valid operator name" in errors[0]
    assert "missing required file: operator.py" in errors


def test_it_fails_only_the_intruder_of_a_duplicate_name(tmp_path):
    checks = {
        "load": operator_dir_check(write_operator(tmp_path, "load")),
        "copy": operator_dir_check(write_operator(tmp_path, "copy", metadata={"name": "load"})),
    }
    duplicate_names_mark(checks)
    assert checks["load"].ok
    assert "duplicate operator name 'load': also claimed by operators/load" in checks["copy"].errors


def test_it_reads_both_forms_of_the_dependencies_map():
    bare = dependencies_map_parse(json.dumps({"ml": {"requirements": ["x==1"], "operators": ["a"]}}))
    wrapped = dependencies_map_parse(json.dumps({"groups": {"ml": {"requirements": ["x==1"], "operators": ["a"]}}}))
    assert bare == wrapped and bare.group_of("a") == "ml" and bare.group_of("b") == "default"
    try:
        dependencies_map_parse(json.dumps({"ml": {"requirement": []}}))
    except ValueError as exc:
        assert "field 'groups.ml.requirement': unknown key (not allowed)" in str(exc)


def test_it_limits_the_sandbox_memory_and_isolates_batched_operators(tmp_path):
    hog = write_operator(tmp_path, "hog", model="blob = bytearray(3 * 1024 ** 3)\n")
    first = write_operator(tmp_path, "first", model=MODEL + "import helper\n")
    (first / "helper.py").write_text("VALUE = 1\n")
    second = write_operator(tmp_path, "second", model="import helper\nassert helper.VALUE == 2\n" + MODEL)
    (second / "helper.py").write_text("VALUE = 2\n")
    started = time.monotonic()
    jobs = [InspectJob(key=p.name, operator_dir=p) for p in (hog, first, second)]
    results = {r.key: r for r in extract_schemas(jobs, memory_mb=512, workers=1)}
    assert time.monotonic() - started < 15
    assert "MemoryError" in results["hog"].error and "memory limit" in results["hog"].error
    assert results["first"].ok and results["second"].ok  # each imported its own helper.py


def test_it_validates_a_repository_offline(tmp_path):
    write_operator(tmp_path, "alpha", metadata={"name": "alpha", "version": "1.0.0"})
    write_operator(tmp_path, "beta", model="raise SystemExit(3)\n")
    report = validate_path(tmp_path, timeout_s=10)
    assert report["operators"]["alpha"]["ok"]
    assert report["operators"]["alpha"]["input_schema"]["required"] == ["x"]
    assert report["operators"]["beta"]["errors"] == ["model.py line 1: called exit(3) while being imported"]
