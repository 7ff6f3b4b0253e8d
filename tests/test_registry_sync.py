"""Registry sync against real git repositories (file:// URLs), with the real sandboxed schema extraction."""

from __future__ import annotations

import json
import os
import time

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from registry import selectors, services
from registry.models import OperatorVersion, Repository, SyncRun

GOOD_MODEL = """
from pydantic import BaseModel, Field

class InputModel(BaseModel):
    text: str = Field(description="Text to shout.")
    times: int = Field(default=1, description="How many times.")

class OutputModel(BaseModel):
    shouted: str = Field(description="The shouted text.")
"""
GOOD_OPERATOR = """
from model import InputModel, OutputModel

def operator_function(input_model: InputModel) -> OutputModel:
    return OutputModel(shouted=(input_model.text.upper() + " ") * input_model.times)
"""


def operator_files(
    name: str, *, model: str = GOOD_MODEL, operator: str | None = GOOD_OPERATOR, metadata: dict | str | None = None
) -> dict[str, str]:
    files = {f"operators/{name}/model.py": model}
    if operator is not None:
        files[f"operators/{name}/operator.py"] = operator
    if metadata is not None:
        files[f"operators/{name}/metadata.json"] = metadata if isinstance(metadata, str) else json.dumps(metadata)
    return files


def good_metadata(name: str, version: str = "1.0.0") -> dict:
    return {
        "name": name,
        "version": version,
        "description": f"{name} does good things",
        "tags": ["text"],
        "style": {"label": name.title(), "colour": "#336699", "icon": "type"},
    }


@pytest.fixture
def sandbox_secrets(monkeypatch):
    """Platform secrets present in the sync's own environment: none may reach the sandbox."""
    values = {
        "SECRET_KEY": "platform-secret-key-4711",
        "AWS_SECRET_ACCESS_KEY": "aws-secret-4711",
        "AWS_ACCESS_KEY_ID": "AKIA4711SECRET",
        "DATABASE_URL": "postgres://platform:db-password-4711@127.0.0.1:5432/secretdb",
        "GITHUB_ACCESS_TOKEN": "ghp_secret4711",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return list(values.values()) + [settings.SECRET_KEY, settings.DATABASE_URL]


def make_repository(url: str, slug: str = "ops", tenant=None, ref: str = "main") -> Repository:
    return services.repository_create(slug=slug, name=slug.title(), url=url, ref=ref, tenant=tenant)


@pytest.mark.django_db
def test_it_syncs_one_good_operator_and_reports_five_broken_ones(git_repo, settings, sandbox_secrets):
    settings.FLOWUI_INSPECT_TIMEOUT_S = 4
    files = {}
    files |= operator_files("good_op", metadata=good_metadata("good_op"))
    files |= operator_files("bad_json", metadata='{"name": "bad_json", "version": ')
    files |= operator_files(
        "env_raiser",
        model="import os\nprint(dict(os.environ))\nraise RuntimeError('environment: ' + repr(dict(os.environ)))\n",
    )
    files |= operator_files("hangs", model="import time\ntime.sleep(10 ** 6)\n")
    files |= operator_files("no_operator", operator=None)
    files |= operator_files("dup_op", metadata=good_metadata("good_op"))
    path, commit = git_repo(files)
    repository = make_repository(f"file://{path}")

    started = time.monotonic()
    sync_run = services.repository_sync_now(repository=repository)
    elapsed = time.monotonic() - started

    assert sync_run.state == SyncRun.State.DONE, sync_run.error
    assert elapsed < settings.FLOWUI_INSPECT_TIMEOUT_S + 10
    assert (sync_run.progress_done, sync_run.progress_total) == (6, 6)
    assert sync_run.commit == commit
    report = sync_run.report["operators"]
    assert report["good_op"]["status"] == "synced"
    errors = sync_run.operator_errors
    assert set(errors) == {"bad_json", "env_raiser", "hangs", "no_operator", "dup_op"}
    assert "metadata.json is not valid JSON" in errors["bad_json"]
    assert "model.py line 3: RuntimeError" in errors["env_raiser"]
    assert "timed out after 4 s" in errors["hangs"]
    assert "missing required file: operator.py" in errors["no_operator"]
    assert "does not match the folder name 'dup_op'" in errors["dup_op"]
    assert "duplicate operator name 'good_op'" in errors["dup_op"]

    version = OperatorVersion.objects.get(repository=repository)
    assert (version.name, version.version, version.commit) == ("good_op", "1.0.0", commit)
    assert version.input_schema["properties"]["text"]["description"] == "Text to shout."
    assert version.input_schema["x-order"] == ["text", "times"]  # declaration order, kept past jsonb (the editor)
    assert version.output_schema["required"] == ["shouted"]
    assert version.metadata["style"]["colour"] == "#336699"
    assert version.dependency_group.name == "default"
    repository.refresh_from_db()
    assert repository.last_sync_state == Repository.SyncState.PARTIAL

    stored = (
        json.dumps(sync_run.report)
        + sync_run.error
        + json.dumps(list(OperatorVersion.objects.values("input_schema", "output_schema", "metadata")))
        + repository.last_sync_error
    )
    for secret in sandbox_secrets:
        assert secret not in stored
    # The sandbox environment really was printed into the report: clean (only PATH, LANG, HOME...).
    assert "'LANG': 'C.UTF-8'" in errors["env_raiser"]

    # Nothing changed: nothing is extracted again, the errors stay reported, the hang costs nothing.
    started = time.monotonic()
    again = services.repository_sync_now(repository=repository)
    assert again.report["extracted"] == 0
    assert again.report["counts"] == {"synced": 0, "unchanged": 1, "error": 5}
    assert again.operator_errors == errors
    assert time.monotonic() - started < settings.FLOWUI_INSPECT_TIMEOUT_S
    # A full sync checks the broken ones again.
    full = services.repository_sync_now(repository=repository, full=True)
    assert full.report["extracted"] == 2 and set(full.operator_errors) == set(errors)


@pytest.mark.django_db
def test_it_resyncs_without_extracting_unchanged_operators(git_repo):
    files = operator_files("alpha", metadata=good_metadata("alpha")) | operator_files("beta")
    path, _ = git_repo(files)
    repository = make_repository(f"file://{path}")
    first = services.repository_sync_now(repository=repository)
    assert first.report["extracted"] == 2
    assert first.report["counts"] == {"synced": 2, "unchanged": 0, "error": 0}

    again = services.repository_sync_now(repository=repository)
    assert again.state == SyncRun.State.DONE
    assert again.report["extracted"] == 0
    assert again.report["counts"] == {"synced": 0, "unchanged": 2, "error": 0}
    assert OperatorVersion.objects.filter(repository=repository).count() == 2

    # A change elsewhere in the repository (new commit) still extracts only what changed.
    _, commit = git_repo(operator_files("beta", metadata=good_metadata("beta", "0.2.0")))
    third = services.repository_sync_now(repository=repository)
    assert third.report["extracted"] == 1
    assert third.report["operators"]["beta"]["status"] == "synced"
    assert third.report["operators"]["alpha"]["status"] == "unchanged"
    assert selectors.operator_version_get(repository_slug="ops", name="beta").commit == commit
    assert selectors.operator_version_get(repository_slug="ops", name="beta", version="0.1.0") is not None


@pytest.mark.django_db
def test_it_keeps_the_previous_good_version_when_an_operator_breaks(git_repo):
    path, first_commit = git_repo(operator_files("alpha", metadata=good_metadata("alpha", "1.0.0")))
    repository = make_repository(f"file://{path}")
    services.repository_sync_now(repository=repository)
    git_repo(
        {
            "operators/alpha/model.py": "raise ImportError('numpy is missing')\n",
            "operators/alpha/metadata.json": json.dumps(good_metadata("alpha", "1.1.0")),
        }
    )
    broken = services.repository_sync_now(repository=repository)
    assert broken.operator_errors == {"alpha": "model.py line 1: ImportError: numpy is missing"}
    kept = selectors.operator_version_get(repository_slug="ops", name="alpha")
    assert (kept.version, kept.commit) == ("1.0.0", first_commit)
    assert (
        selectors.operator_sync_error(repository=repository, name="alpha")
        == "model.py line 1: ImportError: numpy is missing"
    )


@pytest.mark.django_db
def test_it_fails_an_unreachable_repository_with_the_reason_and_deletes_nothing(git_repo, tmp_path):
    path, _ = git_repo(operator_files("alpha"))
    repository = make_repository(f"file://{path}")
    services.repository_sync_now(repository=repository)
    assert OperatorVersion.objects.filter(repository=repository).count() == 1

    Repository.objects.filter(pk=repository.pk).update(url=f"file://{tmp_path}/gone")
    repository.refresh_from_db()
    failed = services.repository_sync_now(repository=repository)
    assert failed.state == SyncRun.State.FAILED
    assert "Repository unreachable" in failed.error and "gone" in failed.error
    repository.refresh_from_db()
    assert repository.last_sync_state == Repository.SyncState.FAILED
    assert OperatorVersion.objects.filter(repository=repository).count() == 1


@pytest.mark.django_db
def test_it_fails_a_missing_ref_and_an_empty_repository_clearly(git_repo):
    path, _ = git_repo({"README.md": "no operators here"})
    repository = make_repository(f"file://{path}")
    failed = services.repository_sync_now(repository=repository)
    assert failed.state == SyncRun.State.FAILED
    assert "No operator folders" in failed.error
    tagged = make_repository(f"file://{path}", slug="tagged", ref="v9.9")
    failed = services.repository_sync_now(repository=tagged)
    assert "ref 'v9.9' not found" in failed.error


@pytest.mark.django_db
def test_it_syncs_a_pinned_tag_and_lists_available_tags(git_repo):
    path, v1 = git_repo(operator_files("alpha", metadata=good_metadata("alpha", "1.0.0")))
    git_repo.git(path, "tag", "v1.0")
    git_repo(operator_files("alpha", metadata=good_metadata("alpha", "2.0.0")))
    git_repo.git(path, "tag", "v2.0")
    repository = make_repository(f"file://{path}", ref="v1.0")
    run = services.repository_sync_now(repository=repository)
    assert run.commit == v1
    repository.refresh_from_db()
    assert repository.available_tags == ["v2.0", "v1.0"]
    assert selectors.operator_version_get(repository_slug="ops", name="alpha").version == "1.0.0"


@pytest.mark.django_db
def test_it_reports_an_invalid_dependencies_map_and_unknown_groups(git_repo):
    files = operator_files("alpha", metadata={"name": "alpha", "dependency_group": "science"})
    files |= operator_files("beta", metadata={"name": "beta", "style": {"colour": "red"}, "colour": 1})
    path, _ = git_repo(files)
    repository = make_repository(f"file://{path}")
    run = services.repository_sync_now(repository=repository)
    assert (
        run.operator_errors["alpha"]
        == "dependency group 'science' is not defined in dependencies/dependencies_map.json"
    )
    assert "field 'style.colour': must be a #rrggbb colour" in run.operator_errors["beta"]
    # An unknown key is no longer an error (see test_it_syncs_metadata_with_unknown_keys_and_warns).
    assert "unknown key" not in run.operator_errors["beta"]

    git_repo(
        {
            "dependencies/dependencies_map.json": json.dumps(
                {"science": {"requirements": ["six==1.16.0"], "operators": ["alpha"]}}
            )
        }
    )
    run = services.repository_sync_now(repository=repository)
    assert run.report["operators"]["alpha"]["status"] == "synced"
    alpha = selectors.operator_version_get(repository_slug="ops", name="alpha")
    assert alpha.dependency_group.requirements == ["six==1.16.0"]
    assert alpha.image == "flowui/flowui-operators-science:latest"

    git_repo({"dependencies/dependencies_map.json": "{broken"})
    run = services.repository_sync_now(repository=repository)
    assert run.state == SyncRun.State.FAILED
    assert "dependencies/dependencies_map.json is not valid JSON" in run.error


@pytest.mark.django_db
def test_it_refuses_to_change_a_stored_operator_version(git_repo):
    path, _ = git_repo(operator_files("alpha"))
    repository = make_repository(f"file://{path}")
    services.repository_sync_now(repository=repository)
    version = OperatorVersion.objects.get(repository=repository)
    version.version = "6.6.6"
    with pytest.raises(ValidationError):
        version.save()
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        OperatorVersion.objects.filter(pk=version.pk).update(version="6.6.6")


@pytest.mark.django_db
def test_it_shows_a_tenant_only_its_own_private_repositories(git_repo, git_http, tenant_a, tenant_b):
    public_path, _ = git_repo(operator_files("shared_op"), name="public")
    git_repo(operator_files("secret_op"), name="private")
    git_http.allow()  # a tenant's repository is fetched over http(s) only
    services.repository_sync_now(repository=make_repository(f"file://{public_path}", slug="public"))
    services.repository_sync_now(
        repository=make_repository(git_http.url("private"), slug="acme-private", tenant=tenant_a)
    )
    names_a = {v.name for v in selectors.operator_versions_for_tenant(tenant=tenant_a)}
    names_b = {v.name for v in selectors.operator_versions_for_tenant(tenant=tenant_b)}
    assert names_a == {"shared_op", "secret_op"}
    assert names_b == {"shared_op"}
    assert (
        selectors.operator_version_for_tenant(tenant=tenant_b, repository_slug="acme-private", name="secret_op") is None
    )


@pytest.mark.django_db
def test_it_materializes_operator_code_in_the_tenant_storage(git_repo, tenant_a):
    path, commit = git_repo(operator_files("alpha"))
    repository = make_repository(f"file://{path}")
    services.repository_sync_now(repository=repository)
    version = selectors.operator_version_get(repository_slug="ops", name="alpha")
    target = services.operator_code_materialize(tenant=tenant_a, operator_version=version)
    assert target.parts[-4:] == ("ops", commit, "operators", "alpha")
    assert (target / "operator.py").read_text() == GOOD_OPERATOR
    mtime = os.stat(target / "model.py").st_mtime_ns
    assert services.operator_code_materialize(tenant=tenant_a, operator_version=version) == target
    assert os.stat(target / "model.py").st_mtime_ns == mtime


@pytest.mark.django_db
def test_it_rejects_credentials_in_urls_and_bad_slugs():
    with pytest.raises(ValidationError, match="credentials"):
        services.repository_create(slug="x1", name="x", url="https://user:tok@github.com/a/b.git", source="github")
    with pytest.raises(ValidationError, match="lower-case"):
        services.repository_create(slug="Bad Slug", name="x", url="file:///tmp/x")
    with pytest.raises(ValidationError, match="GitHub repository URL"):
        services.repository_create(slug="gh", name="x", url="file:///tmp/x", source="github")


@pytest.mark.django_db
def test_it_keeps_the_github_token_out_of_errors(settings):
    settings.FLOWUI_GIT_TIMEOUT_S = 10
    repository = services.repository_create(
        slug="gh", name="gh", url="https://127.0.0.1:9/org/repo.git", source="github", access_token="ghp_tok4711"
    )
    assert repository.access_token_encrypted and "ghp_tok4711" not in repository.access_token_encrypted
    failed = services.repository_sync_now(repository=repository)
    assert failed.state == SyncRun.State.FAILED
    assert "ghp_tok4711" not in failed.error and "127.0.0.1:9" in failed.error


@pytest.mark.django_db
def test_it_syncs_due_repositories_periodically(git_repo, django_capture_on_commit_callbacks):
    from django_celery_beat.models import PeriodicTask

    from registry.tasks import registry_sync_dispatch

    services.registry_sync_schedule_ensure()  # the migration created it; a flush by another test may not have kept it
    task = PeriodicTask.objects.get(task="registry.tasks.registry_sync_dispatch")
    assert task.enabled and task.interval.every == 5
    path, _ = git_repo(operator_files("alpha"))
    due = make_repository(f"file://{path}", slug="due")
    manual = services.repository_create(slug="manual", name="Manual", url=f"file://{path}", sync_interval_minutes=0)
    with django_capture_on_commit_callbacks(execute=True):
        assert registry_sync_dispatch() == 1
    due.refresh_from_db()
    assert due.last_sync_state == Repository.SyncState.OK
    assert due.sync_runs.get().trigger == "periodic"
    assert not manual.sync_runs.exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert registry_sync_dispatch() == 0  # synced less than its interval ago


@pytest.mark.django_db
def test_it_reports_progress_while_syncing(git_repo):
    files = {}
    for n in range(6):
        files |= operator_files(f"op{n}")
    path, _ = git_repo(files)
    repository = make_repository(f"file://{path}")
    seen = []
    sync_run = services.repository_sync_now(
        repository=repository, on_progress=lambda done, total: seen.append((done, total))
    )
    assert seen[0] == (0, 6) and seen[-1] == (6, 6)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert sync_run.progress_text == "6 of 6"


@pytest.mark.django_db(transaction=False)
def test_it_saves_progress_in_the_database_while_syncing(git_repo):
    files = {}
    for n in range(4):
        files |= operator_files(f"slow{n}", model="import time\ntime.sleep(0.5)\n" + GOOD_MODEL)
    path, _ = git_repo(files)
    repository = make_repository(f"file://{path}")
    sync_run = SyncRun.objects.create(repository=repository)
    stored = []

    def observe(done: int, total: int) -> None:
        row = SyncRun.objects.get(pk=sync_run.pk)
        stored.append((row.state, row.progress_done, row.progress_total))

    services.repository_sync(sync_run=sync_run, on_progress=observe)
    assert all(state == SyncRun.State.RUNNING and total == 4 for state, _, total in stored)
    assert any(0 < done < 4 for _, done, _ in stored), stored


@pytest.mark.django_db
def test_it_refuses_a_second_concurrent_sync_of_one_repository(git_repo):
    import psycopg

    path, _ = git_repo(operator_files("alpha"))
    repository = make_repository(f"file://{path}")
    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=True
    ) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [services.LOCK_NAMESPACE, repository.pk])
        refused = services.repository_sync_now(repository=repository)
        # Released explicitly: a closing backend drops its locks only when its process has ended.
        other.execute("SELECT pg_advisory_unlock(%s, %s)", [services.LOCK_NAMESPACE, repository.pk])
    assert refused.state == SyncRun.State.FAILED
    assert "Another sync of this repository is running" in refused.error
    assert services.repository_sync_now(repository=repository).state == SyncRun.State.DONE


@pytest.mark.django_db
def test_it_creates_the_github_repository_named_by_the_settings(settings):
    settings.CODE_REPOSITORY_SOURCE = "local"
    assert services.configured_repository_ensure() is None
    settings.CODE_REPOSITORY_SOURCE = "github"
    settings.GITHUB_REPOSITORY_NAME = "Acme/Operators"
    settings.GITHUB_ACCESS_TOKEN = "ghp_first"
    repository = services.configured_repository_ensure()
    assert (repository.slug, repository.url, repository.source, repository.tenant) == (
        "acme-operators",
        "https://github.com/Acme/Operators.git",
        "github",
        None,
    )
    assert repository.access_token == "ghp_first" and "ghp_first" not in repository.access_token_encrypted
    settings.GITHUB_ACCESS_TOKEN = "ghp_second"
    assert services.configured_repository_ensure().access_token == "ghp_second"
    settings.GITHUB_REPOSITORY_NAME = "not a repo"
    with pytest.raises(ValidationError, match="owner/name"):
        services.configured_repository_ensure()


@pytest.mark.django_db
def test_it_ends_syncs_left_behind_by_a_stopped_worker(git_repo, django_capture_on_commit_callbacks):
    from django.utils import timezone

    path, _ = git_repo(operator_files("alpha"))
    repository = make_repository(f"file://{path}")
    orphan = SyncRun.objects.create(repository=repository, state=SyncRun.State.RUNNING, progress_total=3)
    forgotten = SyncRun.objects.create(repository=repository)
    SyncRun.objects.filter(pk=forgotten.pk).update(created_at=timezone.now() - timezone.timedelta(minutes=30))
    with django_capture_on_commit_callbacks(execute=True):
        fresh = services.repository_sync_request(repository=repository)
    assert fresh.pk not in (orphan.pk, forgotten.pk)
    orphan.refresh_from_db()
    forgotten.refresh_from_db()
    assert orphan.state == SyncRun.State.FAILED and "Interrupted" in orphan.error
    assert forgotten.state == SyncRun.State.FAILED and "Never started" in forgotten.error
    fresh.refresh_from_db()
    assert fresh.state == SyncRun.State.DONE


HOSTILE_MODEL = """
import glob, os, socket
probes = {}
def attempt(name, action):
    try:
        action()
        probes[name] = "REACHED"
    except Exception as exc:
        probes[name] = "blocked"
def write(path):
    with open(path, "w") as handle:
        handle.write("planted at import")
attempt("host_tmp", lambda: write(%(host_tmp)r))
attempt("checkout", lambda: open(%(checkout)r).read())
attempt("git_cache", lambda: os.listdir(%(git_cache)r))
attempt("postgres", lambda: socket.create_connection(("127.0.0.1", 5432), timeout=2))
attempt("redis", lambda: socket.create_connection(("127.0.0.1", 6379), timeout=2))
probes["pids"] = str(max(int(p.split("/")[2]) for p in glob.glob("/proc/[0-9]*")))
raise RuntimeError("probes " + repr(sorted(probes.items())))
"""


@pytest.mark.django_db
def test_it_imports_a_hostile_model_py_in_the_sandbox_during_a_sync(git_repo, settings, tmp_path):
    host_tmp = f"/tmp/flowui-sync-planted-{os.getpid()}-{time.monotonic_ns()}"
    model = HOSTILE_MODEL % {
        "host_tmp": host_tmp,
        "checkout": str(settings.BASE_DIR / "README.md"),
        "git_cache": str(settings.FLOWUI_GIT_CACHE_DIR),
    }
    path, _ = git_repo(operator_files("hostile", model=model, metadata=good_metadata("hostile")))
    repository = make_repository(f"file://{path}", slug="hostile-src")
    sync = services.repository_sync_now(repository=repository)
    error = sync.report["operators"]["hostile"]["error"]
    assert "probes" in error, error
    for probe in ("checkout", "git_cache", "postgres", "redis"):
        assert f"('{probe}', 'blocked')" in error, error
    assert "('host_tmp', 'REACHED')" in error  # its own private /tmp ...
    assert not os.path.exists(host_tmp)  # ... not the host's
    pids = int(error.split("('pids', '")[1].split("'")[0])
    assert pids < 50, error  # its own pid namespace


FILE_AS_STR_MODEL = GOOD_MODEL.replace(
    'shouted: str = Field(description="The shouted text.")',
    'shouted: str = Field(description="The shouted text.")\n    counts_file: str = Field(default="", description="x")',
)


@pytest.mark.django_db
def test_it_syncs_metadata_with_unknown_keys_and_warns(git_repo):
    """Keys FlowUI does not read (other tools' or an author's own) are warnings, not a failed operator;
    `color` is read as `colour`; an output named like a file but typed str is a warning too."""
    metadata = good_metadata("gamma") | {
        "style": {"color": "#112233", "node_label": "Gamma", "icon": "type"},
        "container_resources": {"requests": {"cpu": 100}},
        "x-team": "data",
    }
    path, _ = git_repo(operator_files("gamma", model=FILE_AS_STR_MODEL, metadata=metadata))
    run = services.repository_sync_now(repository=make_repository(f"file://{path}"))
    entry = run.report["operators"]["gamma"]
    assert entry["status"] == "synced", entry
    assert "metadata.json: unknown key 'style.node_label' ignored" in entry["warnings"]
    assert "metadata.json: unknown key 'container_resources' ignored" in entry["warnings"]
    assert "metadata.json: unknown key 'x-team' ignored" in entry["warnings"]
    assert any("'counts_file' looks like a file but is not typed pathlib.Path" in w for w in entry["warnings"])
    assert "gamma: metadata.json: unknown key 'x-team' ignored" in run.report["warnings"]
    version = selectors.operator_version_get(repository_slug="ops", name="gamma")
    assert version.metadata["style"]["colour"] == "#112233"
    assert "container_resources" not in version.metadata
