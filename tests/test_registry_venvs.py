"""Dependency-group virtualenvs: built once per requirements hash, then used for schema extraction."""

from __future__ import annotations

import json
import subprocess

import pytest
from django.core.management import call_command

from flowui_runtime.checks import requirements_hash
from registry import selectors, services
from registry.models import OperatorVersion


def test_it_hashes_requirements_independently_of_order_and_blank_lines():
    assert requirements_hash(["b==1", "a==2"]) == requirements_hash(["a==2", "", " b==1 "])
    assert requirements_hash(["a==2"]) != requirements_hash(["a==3"])
    assert len(requirements_hash([])) == 16


@pytest.mark.django_db
def test_it_builds_a_group_venv_once_and_extracts_schemas_with_it(git_repo, settings, tmp_path):
    settings.FLOWUI_VENVS_DIR = tmp_path / "venvs"
    model = (
        "import tomli_w\nfrom pydantic import BaseModel, Field\n\n"
        "class InputModel(BaseModel):\n    data: dict = Field(description=tomli_w.dumps({'a': 1}))\n"
    )
    path, _ = git_repo(
        {
            "operators/tomlish/model.py": model,
            "operators/tomlish/operator.py": "def operator_function(input_model):\n    return {}\n",
            "dependencies/dependencies_map.json": json.dumps(
                {"groups": {"toml": {"requirements": ["tomli-w==1.2.0"], "operators": ["tomlish"]}}}
            ),
        }
    )
    repository = services.repository_create(slug="toml", name="Toml", url=f"file://{path}")
    # Without the venv the platform python cannot import tomli_w: a clear per-operator error.
    first = services.repository_sync_now(repository=repository)
    assert first.operator_errors == {"tomlish": "model.py line 1: ModuleNotFoundError: No module named 'tomli_w'"}

    group = repository.dependency_groups.get(name="toml")
    venv = services.dependency_venv_ensure(group)
    assert venv == settings.FLOWUI_VENVS_DIR / requirements_hash(["tomli-w==1.2.0"])
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-c", "import tomli_w, pydantic"], check=True)
    assert services.dependency_venv_ensure(group) == venv  # cached: no rebuild
    assert services.dependency_venv_python(group) == str(python)

    second = services.repository_sync_now(repository=repository)
    assert second.report["operators"]["tomlish"]["status"] == "synced", second.report
    version = selectors.operator_version_get(repository_slug="toml", name="tomlish")
    assert version.input_schema["properties"]["data"]["description"] == "a = 1\n"


@pytest.mark.django_db
def test_it_syncs_the_bundled_operators_with_a_progress_line(settings, capsys):
    call_command("registry_sync_bundled")
    out = capsys.readouterr().out
    assert "operators 1/" in out
    assert "bundled operators synced at" in out, out
    names = set(OperatorVersion.objects.filter(repository__slug="flowui-bundled").values_list("name", flat=True))
    assert len(names) >= 8
    call_command("registry_sync_bundled")
    assert " 0 new, " in capsys.readouterr().out
