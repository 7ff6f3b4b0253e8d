"""Conditional branches end to end in the real Airflow: A -> (when length > 5) B, A -> (when length <= 5) C,
B, C -> D; B, C -> E (E reads B's output); both routes, one run each."""

from __future__ import annotations

import uuid

import pytest

from tests.test_workflows_airflow import api, deploy_until_live, post, result_json, run_until_done
from tests.workflows_support import echo_repo_files, node

pytestmark = pytest.mark.timeout(900)


def branch_spec(repository: str) -> dict:
    return {
        "nodes": [
            node("a", {"text": {"param": "word"}}, repository=repository),
            node("b", {"text": {"from": "a", "field": "text"}}, repository=repository, label="long"),
            node("c", {"text": {"value": "short"}}, repository=repository),
            node("d", {"text": {"value": "joined"}}, repository=repository),
            # a join that needs b's output: skipped when b is (nothing to give it), though c ran
            node("e", {"text": {"from": "b", "field": "text"}}, repository=repository),
        ],
        "edges": [
            {"source": "a", "target": "b", "when": {"field": "length", "op": ">", "value": 5}},
            {"source": "a", "target": "c", "when": {"field": "length", "op": "<=", "value": 5}},
            {"source": "b", "target": "d"},
            {"source": "c", "target": "d"},
            {"source": "b", "target": "e"},
            {"source": "c", "target": "e"},
        ],
        "params": [{"name": "word", "type": "string", "default": "hi", "description": ""}],
    }


def test_it_runs_one_branch_or_the_other_and_the_join_after_either(
    airflow, tenant_a, make_user, tenant_client, git_repo, db
):
    from registry.services import repository_create, repository_sync_now

    path, _ = git_repo(echo_repo_files(), name="echo-branches")
    repository = repository_create(slug="echo-branches", name="Echo", url=f"file://{path}")
    assert repository_sync_now(repository=repository).state == "done"
    user = make_user("branch-editor", tenant=tenant_a, role="editor")
    client = api(tenant_a, user)
    created = post(
        client, "/api/workflows/", {"name": f"Branches {uuid.uuid4().hex[:6]}", "spec": branch_spec("echo-branches")}
    )
    assert created.status_code == 201, created.content
    slug = created.json()["slug"]
    version = client.get(f"/api/workflows/{slug}/versions/1/").json()
    assert version["spec"]["edges"][0]["when"] == {"field": "length", "op": ">", "value": 5}
    assert "when" not in version["spec"]["edges"][2]  # a plain edge keeps its plain form
    assert post(client, f"/api/workflows/{slug}/validate/", {}).json()["valid"] is True
    deploy_until_live(client, slug)

    def states(run: dict) -> dict:
        tasks = client.get(f"/api/workflows/{slug}/runs/{run['run_id']}/tasks/").json()
        return {t["task_id"]: t["state"] for t in tasks}

    long_run = run_until_done(client, slug, params={"word": "branching"})
    assert long_run["state"] == "success", long_run
    assert states(long_run) == {"a": "success", "b": "success", "c": "skipped", "d": "success", "e": "success"}
    assert result_json(client, slug, long_run["run_id"], "b")["output"]["text"] == "branching"

    short_run = run_until_done(client, slug, params={"word": "hi"})
    assert short_run["state"] == "success", short_run
    assert states(short_run) == {"a": "success", "b": "skipped", "c": "success", "d": "success", "e": "skipped"}
    log = client.get(f"/api/workflows/{slug}/runs/{short_run['run_id']}/tasks/b/logs/?limit=5000").json()
    assert any("no branch condition holds" in line for line in log["lines"]), log["lines"][-20:]
    log = client.get(f"/api/workflows/{slug}/runs/{short_run['run_id']}/tasks/e/logs/?limit=5000").json()
    assert any("bound to 'b', which was skipped" in line for line in log["lines"]), log["lines"][-20:]
    # The run page draws the skipped tasks in their own style.
    page = tenant_client(tenant_a, user).get(f"/workflows/{slug}/runs/{short_run['run_id']}/").content.decode()
    assert 'class="gnode state-skipped' in page and 'data-task="b" data-state="skipped"' in page
