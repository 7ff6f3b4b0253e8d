"""Editor latency benchmark: server time of the editor's actions on a 100-node workflow.

    .venv/bin/python bench/editor_latency.py [--nodes 100] [--repeat 60]

Uses its own database (flowui_bench_editor unless DATABASE_URL is set), migrated here, with a tenant
`benchui`, an editor, two operator versions and a workflow of N nodes. Each action is posted through
Django's test client (the full middleware stack: tenant routing, session, membership, CSRF-exempt client)
the way the editor's JavaScript posts it, with the whole working spec. The last line printed is one JSON
object: {"add_node": {"p50_ms", "p95_ms"}, "update_field": {...}, "connect": {...}, "save": {...}}.
Target: p95 <= 50 ms for each.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

INPUT = {
    "properties": {
        "dataset_path": {"type": "string", "minLength": 1, "description": "CSV to read."},
        "bins": {"type": "integer", "default": 20, "minimum": 1, "maximum": 500},
        "scale": {"type": "number", "default": 1.0, "exclusiveMinimum": 0},
        "chart_type": {"enum": ["line", "bar", "scatter"], "type": "string", "default": "line"},
        "columns": {"type": "array", "items": {"type": "string"}, "default": []},
        "normalise": {"type": "boolean", "default": False},
    },
    "required": ["dataset_path"],
    "type": "object",
}
OUTPUT = {"properties": {"dataset_path": {"type": "string"}, "rows": {"type": "integer"}}, "type": "object"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def setup(nodes: int):
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flowui_bench_editor")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flowui.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
    from devstack.services import ensure_database

    ensure_database(os.environ["DATABASE_URL"].rsplit("/", 1)[-1])
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django_tenants.utils import tenant_context

    from registry.models import OperatorVersion, Repository
    from tenants.services import membership_set, public_tenant_ensure, tenant_ensure
    from workflows import services
    from workflows.models import Workflow

    call_command("migrate_schemas", "--shared", interactive=False, verbosity=0)
    public_tenant_ensure()
    tenant = tenant_ensure(schema_name="benchui", name="Bench UI", domain="benchui.localhost")
    call_command("migrate_schemas", "--schema", "benchui", interactive=False, verbosity=0)
    user = get_user_model().objects.filter(username="bench-editor").first()
    if user is None:
        user = get_user_model().objects.create_user("bench-editor", "bench@example.com", "pw")
    membership_set(user=user, tenant=tenant, role="editor")
    repository, _ = Repository.objects.get_or_create(
        slug="bench-ui-ops", defaults={"name": "Bench UI operators", "url": "file:///nowhere"}
    )
    versions = {}
    for name in ("load_csv", "chart"):
        versions[name] = OperatorVersion.objects.filter(repository=repository, name=name).first() or (
            OperatorVersion.objects.create(
                repository=repository,
                name=name,
                version="1.0.0",
                commit="0" * 40,
                tree_hash=name[:1] * 40,
                input_schema=INPUT,
                output_schema=OUTPUT,
                metadata={"style": {"label": name, "colour": "#2f6fed", "icon": "op"}},
            )
        )
    spec = {"nodes": [], "edges": [], "schedule": None, "params": []}
    for index in range(nodes):
        name = "load_csv" if index == 0 else "chart"
        inputs = (
            {"dataset_path": {"value": "in.csv"}}
            if index == 0
            else {"dataset_path": {"from": f"n{index - 1}", "field": "dataset_path"}, "bins": {"value": 10}}
        )
        spec["nodes"].append(
            {
                "id": f"n{index}",
                "label": f"Node {index}",
                "operator": {"repository": repository.slug, "name": name, "version": "1.0.0"},
                "position": {"x": (index % 10) * 220, "y": (index // 10) * 120},
                "inputs": inputs,
            }
        )
        if index:
            spec["edges"].append({"source": f"n{index - 1}", "target": f"n{index}"})
    with tenant_context(tenant):
        Workflow.objects.filter(slug="bench_editor").delete()
        workflow = services.workflow_create(name="Bench editor", user=user, spec=spec, slug="bench_editor")
    return tenant, user, workflow, spec, versions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=60)
    args = parser.parse_args()
    tenant, user, workflow, spec, versions = setup(args.nodes)
    from django.test import Client

    client = Client(HTTP_HOST="benchui.localhost")
    client.force_login(user)
    base = f"/workflows/{workflow.slug}/editor/"
    text = json.dumps(spec)
    ids = ",".join(n["id"] for n in spec["nodes"])
    last = f"n{args.nodes - 1}"
    current = {"version": workflow.current_version.number}

    def add_node(i):
        return client.post(
            base + "add-node/", {"operator": versions["chart"].pk, "x": 100 + i, "y": 50, "spec_ids": ids}
        )

    def update_field(i):
        return client.post(
            base + "node-update/",
            {
                "spec": text,
                "node_id": last,
                "label": "Last",
                "in.dataset_path.mode": "from",
                "in.dataset_path.from": f"n{args.nodes - 2}.dataset_path",
                "in.bins": str(1 + i % 400),
                "in.scale": "1.5",
                "in.chart_type": "bar",
                "in.columns.0": "a",
                "in.normalise": "false",
            },
        )

    def connect(i):
        return client.post(base + "connect/", {"spec": text, "source": "n0", "target": last})

    def save(i):
        response = client.post(base + "save/", {"spec": text, "base_version": str(current["version"])})
        current["version"] = response.json().get("version", current["version"])
        return response

    results = {}
    for name, action in (("add_node", add_node), ("update_field", update_field), ("connect", connect), ("save", save)):
        for i in range(5):  # warm up
            action(i)
        timings = []
        for i in range(args.repeat):
            started = time.perf_counter()
            response = action(i)
            timings.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{name}: HTTP {response.status_code}: {response.content[:300]!r}")
        results[name] = {"p50_ms": round(statistics.median(timings), 2), "p95_ms": round(percentile(timings, 0.95), 2)}
        print(
            f"{name:13s} p50 {results[name]['p50_ms']:7.2f} ms   p95 {results[name]['p95_ms']:7.2f} ms", file=sys.stderr
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
