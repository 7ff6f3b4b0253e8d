"""Registry sync benchmark: a 200-operator git repository, one cold sync and one no-op sync.

    .venv/bin/python bench/registry_sync.py [--operators 200]

Uses its own database (flowui_bench unless DATABASE_URL is set), migrated here, and a fresh git cache.
The last line printed is one JSON object: {"cold_sync_s": ..., "noop_sync_s": ..., ...}.
Targets on 2 cores: cold <= 20 s, no-op <= 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

MODEL = """from pydantic import BaseModel, Field


class InputModel(BaseModel):
    path: str = Field(description="Input file of operator {n}.")
    threshold: float = Field(default={n}.5, description="A threshold.")
    columns: list[str] = Field(default_factory=list, description="Columns to keep.")


class OutputModel(BaseModel):
    rows: int = Field(description="Rows written.")
    result_path: str = Field(description="Where the result is.")
"""
OPERATOR = """from model import InputModel, OutputModel


def operator_function(input_model: InputModel) -> OutputModel:
    return OutputModel(rows=0, result_path=input_model.path)
"""


def _git(path: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.com", *args],
        cwd=path,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def build_repository(root: Path, count: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    _git(root, "init", "-q", "-b", "main")
    for n in range(count):
        folder = root / "operators" / f"bench_op_{n:03d}"
        folder.mkdir(parents=True)
        (folder / "model.py").write_text(MODEL.format(n=n))
        (folder / "operator.py").write_text(OPERATOR)
        (folder / "metadata.json").write_text(
            json.dumps(
                {"name": folder.name, "version": "1.0.0", "description": f"Bench operator {n}", "tags": ["bench"]}
            )
        )
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "200 operators")
    return root


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--operators", type=int, default=200)
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flowui_bench")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowui.settings")
    os.environ.setdefault("FLOWUI_VENVS_AUTOBUILD", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    work = Path(tempfile.mkdtemp(prefix="flowui-bench-"))
    os.environ["FLOWUI_GIT_CACHE_DIR"] = str(work / "git-cache")

    from devstack.services import ensure_database

    ensure_database(os.environ["DATABASE_URL"].rsplit("/", 1)[-1])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate_schemas", "--shared", interactive=False, verbosity=0)

    from registry import services
    from registry.models import Repository

    print(f"building a repository of {args.operators} operators in {work}", flush=True)
    repo_path = build_repository(work / "repo", args.operators)
    Repository.objects.filter(slug="bench").delete()
    repository = services.repository_create(slug="bench", name="Bench", url=f"file://{repo_path}", ref="main")

    started = time.monotonic()
    cold = services.repository_sync_now(repository=repository, trigger="bench")
    cold_s = time.monotonic() - started
    if cold.state != "done":
        sys.exit(f"cold sync failed: {cold.error}")
    print(f"cold sync: {cold_s:.2f} s, {cold.report['counts']}", flush=True)

    started = time.monotonic()
    noop = services.repository_sync_now(repository=repository, trigger="bench")
    noop_s = time.monotonic() - started
    print(f"no-op sync: {noop_s:.3f} s, {noop.report['counts']}, extracted {noop.report['extracted']}", flush=True)

    Repository.objects.filter(slug="bench").delete()
    subprocess.run(["rm", "-rf", str(work)], check=False)
    print(
        json.dumps(
            {
                "cold_sync_s": round(cold_s, 3),
                "noop_sync_s": round(noop_s, 3),
                "operators": args.operators,
                "cold_synced": cold.report["counts"]["synced"],
                "cold_errors": cold.report["counts"]["error"],
                "noop_extracted": noop.report["extracted"],
            }
        )
    )


if __name__ == "__main__":
    main()
