"""Many workflows in many tenants on one Airflow: bulk deploy, then new deploys, edits, lists timed.

    .venv/bin/python bench/scale_workflows.py [--workflows 1000] [--tenants 10] [--timeout 900]

Starts its own Airflow (devstack.airflow.AirflowInstance on free ports, home under var/bench/scale_workflows/),
uses its own PostgreSQL database and tenants bench0..bench<T-1>, syncs a one-operator git repository, then:
1. creates N workflows (2 chained nodes) spread over the tenants and deploys them all (files written at once, the
   deploy watch replaced by polling `workflow_deploy_check` for all of them), until all are live or --timeout;
2. times 10 new deploys and 10 edits+redeploys (deploy call until Airflow has the DAG at that version, the watch
   run in this process as in bench/deploy_latency.py) while the N DAGs are loaded;
3. triggers one run in each of 20 workflows of one tenant, then times 30 x `GET /api/workflows/` (first page)
   and 30 x the tenant's runs list over all its deployed workflows (`supervision_many.runs_list_many`: one
   Airflow call, the runs page's source).

The last line printed is one JSON object: {"deployed", "workflows", "bulk_s", "new_median_s", "edit_median_s",
"list_p95_ms", "runs_p95_ms"}. Target: all deployed, new median <= 3 s, list p95 <= 150 ms, runs p95 <= 300 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parent.parent
HOME = REPO / "var" / "bench" / "scale_workflows"
sys.path.insert(0, str(REPO))

from bench.deploy_latency import git_repo  # noqa: E402
from devstack import procs  # noqa: E402
from devstack.airflow import AirflowInstance  # noqa: E402
from devstack.services import ensure_database  # noqa: E402


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def spec(text: str) -> dict:
    operator = {"repository": "bench-echo", "name": "echo", "version": "1.0.0"}
    return {
        "nodes": [
            {"id": "first", "operator": operator, "inputs": {"text": {"value": text}}},
            {"id": "second", "operator": operator, "inputs": {"text": {"from": "first", "field": "text"}}},
        ],
        "edges": [{"source": "first", "target": "second"}],
    }


def p95_ms(samples: list[float]) -> float:
    return round(statistics.quantiles(samples, n=20)[18] * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=int, default=1000)
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for the bulk deploy")
    parser.add_argument("--database", default="flowui_bench_scale")
    parser.add_argument("--redis-db", type=int, default=7)
    args = parser.parse_args()

    volume, dags = HOME / "volume", HOME / "dags"
    volume.mkdir(parents=True, exist_ok=True)
    dags.mkdir(parents=True, exist_ok=True)
    ensure_database(args.database)
    instance = AirflowInstance(home=HOME / "airflow", dags_folder=dags, port=procs.free_port(), password="bench-pw")
    while any(procs.port_open("127.0.0.1", p) for p in (instance.port + 1, instance.port + 2)):
        instance.port = procs.free_port()
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "flowui.settings",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.database}",
            "REDIS_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
            "VOLUME_MOUNT_PATH_HOST": str(volume),
            "FLOWUI_DAGS_DIR": str(dags),
            "FLOWUI_SECRETS_DIR": str(HOME / "secrets"),
            "FLOWUI_GIT_CACHE_DIR": str(HOME / "git-cache"),
            "FLOWUI_VENVS_AUTOBUILD": "false",
            "FLOWUI_API_RATE": "10000000/min",
            "CELERY_TASK_ALWAYS_EAGER": "true",
            "AIRFLOW_URL": instance.url,
            "AIRFLOW_USERNAME": instance.username,
            "AIRFLOW_PASSWORD": instance.password,
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
        }
    )
    log(f"starting Airflow at {instance.url} (home {instance.home})")
    instance.start()
    try:
        run(args)
    finally:
        instance.stop()


def run(args) -> None:  # noqa: PLR0915 (one straight script)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from django_tenants.utils import tenant_context

    from registry.models import Repository
    from registry.services import repository_create, repository_sync_now
    from tenants.services import api_token_create, membership_set, public_tenant_ensure, tenant_ensure
    from workflows import services, supervision, tasks
    from workflows.models import DeployState, Workflow
    from workflows.selectors import workflows_list
    from workflows.supervision_many import runs_list_many

    call_command("migrate_schemas", "--noinput", "-v", "0")
    public_tenant_ensure()
    tenants = [
        tenant_ensure(schema_name=f"bench{i}", name=f"Bench {i}", domain=f"bench{i}.localhost")
        for i in range(args.tenants)
    ]
    repository = Repository.objects.filter(slug="bench-echo").first() or repository_create(
        slug="bench-echo", name="Bench echo", url=f"file://{git_repo(HOME / 'repo')}"
    )
    if repository_sync_now(repository=repository).state != "done":
        raise SystemExit("registry sync failed")

    stamp = time.strftime("%H%M%S")
    per_tenant = max(1, args.workflows // len(tenants))
    # 1. bulk: every file written first, then Airflow polled for all of them.
    started = time.perf_counter()
    with mock.patch.object(tasks.workflow_deploy_watch, "delay"):
        for t_index, tenant in enumerate(tenants):
            with tenant_context(tenant):
                for old in Workflow.objects.all():  # an earlier bench run's
                    services.workflow_delete(tenant=tenant, workflow=old)
                for i in range(per_tenant):
                    workflow = services.workflow_create(
                        name=f"Scale {stamp} {i}", spec=spec(f"{t_index}-{i}"), user=None
                    )
                    services.workflow_deploy(tenant=tenant, workflow=workflow, user=None)
            log(f"bench{t_index}: {per_tenant} deploys written ({time.perf_counter() - started:.0f} s)")
    pending = {(t.pk, w.pk) for t in tenants for w in _in(tenant_context, t, lambda: list(Workflow.objects.all()))}
    deadline = time.monotonic() + args.timeout
    while pending and time.monotonic() < deadline:
        for tenant in tenants:
            with tenant_context(tenant):
                for workflow in Workflow.objects.filter(pk__in=[w for t, w in pending if t == tenant.pk]):
                    try:
                        state = services.workflow_deploy_check(tenant=tenant, workflow=workflow)
                    except Exception as exc:  # Airflow busy: try again next round
                        log(f"check {workflow.slug}: {exc}")
                        continue
                    if state == DeployState.LIVE:
                        pending.discard((tenant.pk, workflow.pk))
                    elif state == DeployState.FAILED:
                        raise SystemExit(f"{workflow.slug}: deploy failed: {workflow.deploy_error}")
        log(f"live: {per_tenant * len(tenants) - len(pending)} of {per_tenant * len(tenants)}")
        time.sleep(2)
    bulk_s = time.perf_counter() - started
    deployed = per_tenant * len(tenants) - len(pending)

    # 2. new deploys and edits, timed, with everything else loaded.
    tenant = tenants[0]
    new_times: list[float] = []
    edit_times: list[float] = []
    with tenant_context(tenant):

        def deploy(workflow) -> float:
            begun = time.perf_counter()
            deployed_workflow = services.workflow_deploy(tenant=tenant, workflow=workflow, user=None)
            elapsed = time.perf_counter() - begun
            deployed_workflow.refresh_from_db()
            if deployed_workflow.deploy_state != DeployState.LIVE:
                raise SystemExit(f"{workflow.slug}: {deployed_workflow.deploy_state}: {deployed_workflow.deploy_error}")
            return elapsed

        fresh = [services.workflow_create(name=f"Fresh {stamp} {i}", spec=spec(f"n{i}"), user=None) for i in range(10)]
        for workflow in fresh:
            new_times.append(deploy(workflow))
            log(f"new  {workflow.slug}: {new_times[-1]:.2f} s")
        for i, workflow in enumerate(fresh):
            services.workflow_save_version(
                workflow=workflow, spec=spec(f"e{i}"), base_version=workflow.current_version.number, user=None
            )
            edit_times.append(deploy(workflow))
            log(f"edit {workflow.slug}: {edit_times[-1]:.2f} s")

        # 3. lists: the API's workflow list, and the runs of all the tenant's deployed workflows.
        live = [w for w in workflows_list() if w.deployed_version_id]
        for workflow in live[:20]:
            supervision.run_trigger(tenant=tenant, workflow=workflow)
    user, _ = get_user_model().objects.get_or_create(username="bench-scale")
    membership_set(user=user, tenant=tenant, role="viewer")
    _, key = api_token_create(user=user, tenant=tenant, name=f"bench {stamp}")
    client = Client(HTTP_HOST="bench0.localhost", HTTP_AUTHORIZATION=f"Bearer {key}")
    client.get("/api/workflows/")
    list_times: list[float] = []
    for _ in range(30):
        begun = time.perf_counter()
        response = client.get("/api/workflows/")
        list_times.append(time.perf_counter() - begun)
        assert response.status_code == 200, response.status_code
    runs_times: list[float] = []
    with tenant_context(tenant):
        for _ in range(30):
            begun = time.perf_counter()
            page = runs_list_many(tenant=tenant, workflows=[w for w in workflows_list() if w.deployed_version_id])
            runs_times.append(time.perf_counter() - begun)
        assert len(page["results"]) >= 20, page["count"]

    print(
        json.dumps(
            {
                "deployed": deployed,
                "workflows": per_tenant * len(tenants),
                "bulk_s": round(bulk_s, 1),
                "new_median_s": round(statistics.median(new_times), 3),
                "edit_median_s": round(statistics.median(edit_times), 3),
                "list_p95_ms": p95_ms(list_times),
                "runs_p95_ms": p95_ms(runs_times),
            }
        )
    )


def _in(context, tenant, fn):
    with context(tenant):
        return fn()


if __name__ == "__main__":
    main()
