"""The "first operator" path of an operator author (issue 15), scripted as operators/README.md tells it:
a fresh virtualenv outside the checkout gets the flowui-runtime wheel (`make dist`), then `flowui-operator new`,
an edited model, `validate`, `run`, `test`, a commit into a local git repository; the platform syncs that
repository, a workflow uses the operator and the real Airflow of the test session runs it. Under 5 minutes.

Installs are offline (uv's cache, filled by `make setup` from requirements.lock): tests reach no network."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.test_workflows_airflow import api, deploy_until_live, post, result_json, run_until_done

REPO = Path(__file__).resolve().parent.parent
UV = Path(sys.executable).parent / "uv"

pytestmark = pytest.mark.timeout(900)

EDITED_MODEL = """
    upper_case: bool = Field(default=False, description="Convert the text to upper case.")
    suffix: str = Field(default="!", max_length=10, description="Appended after the repeated text.")
"""


def locked(name: str) -> str:
    """`name==version` as requirements.lock pins it (what `make setup` put into uv's cache)."""
    match = re.search(rf"^({re.escape(name)}==\S+)", (REPO / "requirements.lock").read_text(), re.MULTILINE)
    assert match, f"{name} is not in requirements.lock"
    return match.group(1)


def sh(*command: str | Path, cwd: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{command}: {result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_it_takes_a_new_author_from_an_empty_virtualenv_to_a_run_in_airflow(
    airflow, tenant_a, make_user, tmp_path_factory, db
):
    started = time.monotonic()
    outside = tmp_path_factory.mktemp("author")  # nothing of the checkout is on any path from here on
    assert not outside.resolve().is_relative_to(REPO)
    env = {"PATH": f"{outside / 'venv' / 'bin'}:/usr/bin:/bin", "HOME": str(outside), "LANG": "C.UTF-8"}
    env |= {"UV_CACHE_DIR": os.environ.get("UV_CACHE_DIR", str(Path.home() / ".cache" / "uv")), "UV_OFFLINE": "1"}

    # 1. The tool: the wheel `make dist` builds, installed into a fresh virtualenv with pytest for `test`.
    dist = outside / "dist"
    sh(UV, "build", "-q", "--wheel", REPO / "runtime", "-o", dist, cwd=REPO, env=env)
    shutil.rmtree(REPO / "runtime" / "build", ignore_errors=True)
    wheel = next(dist.glob("flowui_runtime-*-py3-none-any.whl"))
    sh(UV, "venv", "-q", "--python", os.path.realpath(sys.executable), outside / "venv", cwd=outside, env=env)
    sh(UV, "pip", "install", "-q", "--python", outside / "venv" / "bin" / "python", wheel,
       locked("pydantic"), locked("packaging"), locked("pytest"), cwd=outside, env=env)  # fmt: skip
    where = sh(outside / "venv" / "bin" / "python", "-c", "import flowui_runtime; print(flowui_runtime.__file__)",
               cwd=outside, env=env)  # fmt: skip
    assert where.stdout.startswith(str(outside / "venv")), where.stdout  # the installed copy, not the checkout

    # 2. new, edit the model (a new input field) and the function, validate, run, test, organize.
    author = outside / "shout-operators"
    author.mkdir()
    tool = "flowui-operator"
    sh(tool, "new", "shout", cwd=author, env=env)
    folder = author / "operators" / "shout"
    model = folder / "model.py"
    model.write_text(
        model.read_text().replace(
            '\n    upper_case: bool = Field(default=False, description="Convert the text to upper case.")\n',
            EDITED_MODEL,
        )
    )
    operator = folder / "operator.py"
    operator.write_text(
        operator.read_text().replace(
            "result = text * input_model.repeat", "result = text * input_model.repeat + input_model.suffix"
        )
    )
    test_file = folder / "test_operator.py"
    test_file.write_text(
        test_file.read_text().replace('("ABAB", 4)', '("ABAB!", 5)').replace('== "ABAB"', '== "ABAB!"')
    )
    (folder / "example_input.json").write_text(
        json.dumps({"text": "hey ", "repeat": 2, "upper_case": True, "suffix": "?"})
    )

    validated = sh(tool, "validate", ".", cwd=author, env=env)
    assert "ok    shout 0.1.0" in validated.stdout and "WARN" not in validated.stdout, validated.stdout
    schema = json.loads(sh(tool, "schema", "shout", "--which", "input", cwd=author, env=env).stdout)
    assert schema["properties"]["suffix"]["default"] == "!"
    ran = sh(tool, "run", "shout", "--input", folder / "example_input.json", cwd=author, env=env)
    assert json.loads(ran.stdout)["result"] == "HEY HEY ?" and "WARN" not in ran.stderr, ran.stderr
    tested = sh(tool, "test", "shout", cwd=author, env=env)
    assert "2 passed" in tested.stdout
    sh(tool, "organize", cwd=author, env=env)
    groups = json.loads((author / "dependencies" / "dependencies_map.json").read_text())["groups"]
    assert groups["default"]["operators"] == ["shout"]

    # 3. A local git repository the platform syncs (file:// as in tests/test_registry_sync.py).
    git = ["git", "-c", "user.name=Author", "-c", "user.email=author@localhost"]
    sh(*git, "init", "-q", "-b", "main", cwd=author, env=env)
    sh(*git, "add", "operators", "dependencies", cwd=author, env=env)
    sh(*git, "commit", "-q", "-m", "shout: first operator", cwd=author, env=env)

    from registry.models import OperatorVersion
    from registry.services import repository_create, repository_sync_now

    slug = f"first-{uuid.uuid4().hex[:6]}"
    repository = repository_create(slug=slug, name="First operator", url=f"file://{author}")
    sync = repository_sync_now(repository=repository)
    assert sync.state == "done", sync.error
    version = OperatorVersion.objects.get(repository=repository, name="shout")
    assert version.version == "0.1.0" and "suffix" in version.input_schema["properties"]

    # 4. A workflow using it, deployed to and run by the real Airflow.
    client = api(tenant_a, make_user("first-author", tenant=tenant_a, role="editor"))
    operator_ref = {"repository": slug, "name": "shout", "version": "0.1.0"}
    spec = {
        "nodes": [
            {
                "id": "shout",
                "label": "Shout",
                "operator": operator_ref,
                "inputs": {"text": {"param": "text"}, "repeat": {"value": 3}, "suffix": {"value": "!!"}},
            }
        ],
        "edges": [],
        "params": [{"name": "text", "type": "string", "default": "go ", "description": "What to shout"}],
        "tags": ["first-operator"],
    }
    created = post(client, "/api/workflows/", {"name": f"First operator {slug}", "spec": spec})
    assert created.status_code == 201, created.content
    workflow = created.json()["slug"]
    assert post(client, f"/api/workflows/{workflow}/validate/", {}).json()["valid"]
    deploy_until_live(client, workflow)
    run = run_until_done(client, workflow, params={"text": "yo "})
    assert run["state"] == "success", run
    result = result_json(client, workflow, run["run_id"], "shout")
    assert result["output"]["result"] == "yo yo yo !!" and result["output"]["length"] == 11

    elapsed = time.monotonic() - started
    assert elapsed < 300, f"the first-operator path took {elapsed:.0f} s (the target is under 5 minutes)"
