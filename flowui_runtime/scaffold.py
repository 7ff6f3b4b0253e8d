"""Scaffolding of a new operator folder for `python -m flowui_runtime.cli new NAME`.

Writes `operators/NAME/` with model.py, operator.py, metadata.json and a test_operator.py that passes as
written, plus `operators/conftest.py` (the `operator_module` and `run_env` fixtures the test uses) when the
repository has none. Standard library only; nothing is overwritten.
"""

from __future__ import annotations

import json
from pathlib import Path

from flowui_runtime.metadata import NAME_RE


class ScaffoldError(Exception):
    """The operator cannot be created (bad name, folder exists, repository not writable)."""


MODEL_TEMPLATE = '''\
"""Input and output of the {name} operator. Every field needs a description: the editor shows it as help."""

from pathlib import Path

from pydantic import BaseModel, Field


class InputModel(BaseModel):
    text: str = Field(
        description="Text to transform.",
        json_schema_extra={{"widget": "textarea"}},
    )
    repeat: int = Field(default=1, ge=1, le=100, description="How many times the text is repeated.")
    upper_case: bool = Field(default=False, description="Convert the text to upper case.")


class OutputModel(BaseModel):
    result: str = Field(description="The transformed text.")
    length: int = Field(description="Number of characters in the result.")
    # A produced file is a Path field: write the file into the run folder (the working directory) and
    # return its path; downstream operators receive it as a path in the tenant storage.
    result_path: Path = Field(description="The result saved as a text file.")
'''

OPERATOR_TEMPLATE = '''\
"""The {name} operator. Runs with the task's run folder as working directory (also in FLOWUI_RUN_DIR);
the tenant's storage root is in FLOWUI_STORAGE_ROOT. Raise an exception with a clear message to fail."""

import os
from pathlib import Path

from model import InputModel, OutputModel


def operator_function(input_model: InputModel) -> OutputModel:
    text = input_model.text.upper() if input_model.upper_case else input_model.text
    result = text * input_model.repeat
    result_path = Path(os.environ.get("FLOWUI_RUN_DIR") or os.getcwd()) / "result.txt"
    result_path.write_text(result, encoding="utf-8")
    return OutputModel(result=result, length=len(result), result_path=result_path.resolve())
'''

TEST_TEMPLATE = '''\
"""Tests of the {name} operator: `python -m pytest operators/{name}` (fixtures in operators/conftest.py)."""

import pytest


def test_it_transforms_the_text(operator_module, run_env):
    out = operator_module.operator_function(operator_module.InputModel(text="ab", repeat=2, upper_case=True))
    assert (out.result, out.length) == ("ABAB", 4)
    assert out.result_path == run_env.run_dir / "result.txt"
    assert out.result_path.read_text() == "ABAB"


def test_it_rejects_invalid_input(operator_module):
    with pytest.raises(ValueError):
        operator_module.InputModel(text="ab", repeat=0)
'''

CONFTEST_TEMPLATE = '''\
"""Fixtures for the operators' tests (standard library + pytest only).

- `operator_module`: the operator of the test's folder, loaded like the runtime loads it: model.py as module
  `model` (the folder first on sys.path), operator.py under a private name (never `operator`, which is the
  standard library's). Its InputModel/OutputModel are attributes of the returned module; `.model` is model.py.
- `run_env`: a run folder as working directory, with FLOWUI_RUN_DIR and FLOWUI_STORAGE_ROOT set.

Run several operators' tests at once with `python -m pytest --import-mode=importlib operators` (every
folder has a test_operator.py).
"""

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest


def load_operator(folder: Path):
    folder = Path(folder).resolve()
    sys.modules.pop("model", None)
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location(f"flowui_operator_{{folder.name}}", folder / "operator.py")
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
'''

EXAMPLE_INPUT = {"text": "hello ", "repeat": 2, "upper_case": False}


def metadata_for(name: str, group: str = "default") -> dict:
    return {
        "name": name,
        "version": "0.1.0",
        "description": f"{name.replace('_', ' ').capitalize()}: describe what it does, what it reads and writes.",
        "tags": [],
        "style": {"label": name.replace("_", " ").capitalize()[:60], "colour": "#4a6fa5", "icon": "box"},
        "dependency_group": group,
        "resources": {"cpu": 1, "memory_mb": 1024, "gpu": 0},
        "execution_modes": ["local", "batch", "kubernetes"],
        "secrets": [],
    }


def scaffold_operator(*, repo: Path, name: str, group: str = "default") -> list[Path]:
    """Create repo/operators/NAME/ (and operators/conftest.py when absent); returns the files written.
    A group other than 'default' must be defined in the repository's dependencies_map.json."""
    if not NAME_RE.match(name):
        raise ScaffoldError(
            f"{name!r} is not a valid operator name: start with a letter; letters, digits and '_' only; max 80"
        )
    repo = Path(repo)
    if not repo.is_dir():
        raise ScaffoldError(f"the repository folder {repo} does not exist")
    operators = repo / "operators"
    folder = operators / name
    if folder.exists():
        raise ScaffoldError(f"{folder} already exists; nothing was changed")
    clashing = (
        [p.name for p in operators.iterdir() if p.is_dir() and p.name.lower() == name.lower()]
        if (operators.is_dir())
        else []
    )
    if clashing:
        raise ScaffoldError(f"operators/{clashing[0]} already exists (names must differ by more than case)")

    if group != "default":
        _group_require(repo, group)
    files = {
        folder / "model.py": MODEL_TEMPLATE.format(name=name),
        folder / "operator.py": OPERATOR_TEMPLATE.format(name=name),
        folder / "metadata.json": json.dumps(metadata_for(name, group), indent=2) + "\n",
        folder / "test_operator.py": TEST_TEMPLATE.format(name=name),
        folder / "example_input.json": json.dumps(EXAMPLE_INPUT, indent=2) + "\n",
    }
    if not (operators / "conftest.py").exists():
        files[operators / "conftest.py"] = CONFTEST_TEMPLATE.format()
    try:
        folder.mkdir(parents=True)
        for path, text in files.items():
            path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ScaffoldError(f"cannot write {folder}: {exc}") from None
    return list(files)


def _group_require(repo: Path, group: str) -> None:
    from flowui_runtime.checks import DEPENDENCIES_MAP_PATH, dependencies_map_parse

    map_path = repo / DEPENDENCIES_MAP_PATH
    try:
        deps_map = dependencies_map_parse(map_path.read_text(encoding="utf-8") if map_path.is_file() else None)
    except (OSError, ValueError) as exc:
        raise ScaffoldError(str(exc)) from None
    if group not in deps_map.groups:
        known = ", ".join(sorted(deps_map.groups)) or "none"
        raise ScaffoldError(
            f"dependency group {group!r} is not defined in {DEPENDENCIES_MAP_PATH} (defined: {known}); "
            "add it there first, or leave --group out for 'default'"
        )
