"""Domino piece repositories (issue 15 item 3): a repository in Domino's layout, written for the test, syncs into
the registry unchanged and its pieces run in the real Airflow (local mode, in the sandbox), passing a file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings

from registry.models import OperatorVersion
from tenants.selectors import tenant_storage_root
from tests.domino_fixtures.pieces import domino_repo_files
from tests.test_workflows_airflow import api, deploy_until_live, post, result_json, run_until_done
from tests.workflows_support import node

pytestmark = pytest.mark.timeout(900)

VERSION = "0.2.1"  # config.toml's [repository] VERSION


def domino_files(**extra: str) -> dict[str, str]:
    files = domino_repo_files()
    files["dependencies/requirements_0.txt"] += "pydantic==2.14.4\n"  # a plain pin: the group gets a venv
    return files | extra


def sync(git_repo, slug: str, files: dict[str, str]):
    from registry.services import repository_create, repository_sync_now

    path, _ = git_repo(files, name=slug)
    repository = repository_create(slug=slug, name="Domino pieces", url=f"file://{path}")
    run = repository_sync_now(repository=repository)
    assert run.state == "done", run.error
    return repository, run


def test_it_syncs_a_domino_repository_mapping_metadata_groups_and_dockerfiles(git_repo, db):
    bad_piece = json.loads(domino_repo_files()["pieces/CountRowsPiece/metadata.json"])
    bad_piece |= {"name": "RangePiece", "dependency": {"requirements_file": "requirements_1.txt"}}
    files = domino_files(
        **{
            "dependencies/requirements_1.txt": "requests>=2\n",
            "pieces/RangePiece/piece.py": domino_repo_files()["pieces/CountRowsPiece/piece.py"],
            "pieces/RangePiece/models.py": domino_repo_files()["pieces/CountRowsPiece/models.py"],
            "pieces/RangePiece/metadata.json": json.dumps(bad_piece),
            "pieces/BrokenPiece/models.py": "from pydantic import BaseModel\n",
            "pieces/BrokenPiece/metadata.json": "{not json",
        }
    )
    repository, run = sync(git_repo, "domino-sync", files)
    statuses = {name: entry["status"] for name, entry in run.report["operators"].items()}
    assert statuses == {
        "WriteCsvPiece": "synced",
        "CountRowsPiece": "synced",
        "ReadOtherTenantPiece": "synced",
        "GpuTrainPiece": "synced",
        "RangePiece": "error",
        "BrokenPiece": "error",
    }, run.report
    assert "requests>=2" in run.report["operators"]["RangePiece"]["error"]
    assert "not a plain pin" in run.report["operators"]["RangePiece"]["error"]
    broken = run.report["operators"]["BrokenPiece"]["error"]
    assert "metadata.json is not valid JSON" in broken and "operator.py" in broken

    write = OperatorVersion.objects.get(repository=repository, name="WriteCsvPiece")
    assert write.version == VERSION
    assert write.metadata["description"] == "Writes a CSV of squares"
    assert write.metadata["style"] == {"label": "WriteCsv piece", "colour": "#b3cde8", "icon": "puzzle"}
    assert write.metadata["resources"]["cpu"] == 0.5 and write.metadata["resources"]["memory_mb"] == 512
    assert write.metadata["execution_modes"] == ["local", "batch", "kubernetes"]
    assert write.dependency_group.name == "domino_requirements_0"
    assert write.dependency_group.requirements == ["pydantic==2.14.4"]
    assert write.input_schema["properties"]["rows"]["maximum"] == 1000
    # Domino types produced files as str: a *_path field becomes a file output (format path) in FlowUI.
    assert write.output_schema["properties"]["csv_file_path"]["format"] == "path"
    assert not any("csv_file_path" in warning for warning in run.report["warnings"])

    gpu = OperatorVersion.objects.get(repository=repository, name="GpuTrainPiece")
    assert gpu.metadata["execution_modes"] == ["batch", "kubernetes"]
    assert gpu.metadata["secrets"] == ["HF_TOKEN"] and gpu.secrets_schema["required"] == ["HF_TOKEN"]
    assert gpu.dependency_group.name == "domino_dockerfile_gpu"
    assert any(
        w.startswith("GpuTrainPiece: Domino piece: dependency.dockerfile 'Dockerfile_gpu': batch/kubernetes only")
        for w in run.report["warnings"]
    ), run.report["warnings"]
    # Domino's own keys (node_style, icon_class_name, container_resources, ...) are mapped, not warned about.
    assert not any("unknown key" in warning for warning in run.report["warnings"]), run.report["warnings"]

    # A second sync of the same commit extracts nothing again.
    from registry.services import repository_sync_now

    again = repository_sync_now(repository=repository)
    assert again.report["extracted"] == 0 and again.report["operators"]["WriteCsvPiece"]["status"] == "unchanged"


def test_it_runs_domino_pieces_passing_a_file_and_keeps_a_hostile_piece_in_its_tenant(
    airflow, tenant_a, tenant_b, make_user, git_repo, db
):
    from registry.services import dependency_venv_ensure

    repository, _ = sync(git_repo, "domino-e2e", domino_files())
    for group in repository.dependency_groups.filter(name="domino_requirements_0"):
        dependency_venv_ensure(group)
    other = tenant_storage_root(tenant=tenant_b) / "dataset"
    other.mkdir(parents=True, exist_ok=True)
    (other / "secret.csv").write_text("globex only\n")

    client = api(tenant_a, make_user("domino-editor", tenant=tenant_a, role="editor"))
    piece = {"repository": "domino-e2e", "version": VERSION}
    spec = {
        "nodes": [
            node("write", {"rows": {"value": 4}}, name="WriteCsvPiece", **piece),
            node("count", {"input_file_path": {"from": "write", "field": "csv_file_path"}}, name="CountRowsPiece",
                 **piece),
        ],
        "edges": [{"source": "write", "target": "count"}],
    }  # fmt: skip
    hostile = {
        "nodes": [
            node("steal", {"target": {"value": str(other / "secret.csv")}}, name="ReadOtherTenantPiece", **piece),
        ],
        "edges": [],
    }
    slugs = []
    for name, value in (("Domino pieces", spec), ("Domino hostile", hostile)):
        created = post(client, "/api/workflows/", {"name": name, "spec": value})
        assert created.status_code == 201, created.content
        slugs.append(created.json()["slug"])
    for slug in slugs:
        deploy_until_live(client, slug)

    run = run_until_done(client, slugs[0])
    assert run["state"] == "success", run
    written = result_json(client, slugs[0], run["run_id"], "write")
    assert written["output"]["message"] == "wrote 4 rows" and written["files"] == ["csv_file_path"]
    assert written["output"]["csv_file_path"].endswith(f"/{run['run_id']}/write/numbers.csv")
    counted = result_json(client, slugs[0], run["run_id"], "count")
    assert counted["output"] == {"row_count": 4, "column_total": 1 + 4 + 9 + 16}
    display = result_json(client, slugs[0], run["run_id"], "write", "display_result.json")
    assert display["file_type"] == "csv"
    log = client.get(f"/api/workflows/{slugs[0]}/runs/{run['run_id']}/tasks/write/logs/?limit=5000").json()
    assert any("domino.WriteCsvPiece: writing 4 rows" in line for line in log["lines"])

    stolen = run_until_done(client, slugs[1])
    assert stolen["state"] == "failed", stolen
    failed = result_json(client, slugs[1], stolen["run_id"], "steal")
    assert failed["status"] == "failed" and "FileNotFoundError" in failed["error"], failed
    assert "globex only" not in json.dumps(failed)
    assert Path(settings.VOLUME_MOUNT_PATH_HOST) in (other / "secret.csv").parents  # the target was real
