"""Hostile tenant admins: repository sources and dependency lines (real git over HTTP, real syncs).

A tenant's repository is fetched only over https:// (or http:// to FLOWUI_GIT_ALLOWED_HOSTS) from a public
host; the test git server (`git http-backend` on 127.0.0.1) is allow-listed per test. No test sends a
packet beyond loopback: the refused hosts are IP literals or `localhost`, refused before any connection.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError

from flowui.lib import git
from registry import services, sources
from registry.models import DependencyGroup, Repository, SyncRun
from tests.git_http_support import GitHttpServer
from tests.test_registry_sync import good_metadata, operator_files

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parent.parent

HOSTILE_URLS = [
    (f"file://{REPO}", "file:// URLs are for platform-wide repositories only"),
    ("/proc/self/cwd/../repository-1.git", "needs an https:// URL"),
    ("file:///etc", "file:// URLs are for platform-wide repositories only"),
    (
        f"http://127.0.0.1:{os.environ.get('AIRFLOW_PORT', '8280')}/",
        "http:// is only allowed to hosts in FLOWUI_GIT_ALLOWED_HOSTS",
    ),
    ("https://127.0.0.1/x.git", "127.0.0.1 is a loopback address"),
    ("https://localhost/x.git", "localhost (127.0.0.1) is a loopback address"),
    ("https://169.254.169.254/x", "169.254.169.254 is a link-local (cloud metadata) address"),
    ("ext::sh -c touch% /tmp/flowui-pwned", "ext:: transport runs commands"),
    ("ssh://git@127.0.0.1/x.git", "ssh:// URLs are for platform-wide repositories only"),
    ("git://127.0.0.1/x.git", "git:// URLs are for platform-wide repositories only"),
    ("https://[::1]/x.git", "is a loopback address"),
    ("https://[::ffff:127.0.0.1]/x.git", "is a loopback address"),
    ("https://10.0.0.1/x.git", "is a private address"),
    ("https://100.64.0.1/x.git", "carrier-grade NAT"),
    ("https://0.0.0.0/x.git", "is an unspecified address"),
    ("https://2130706433/x.git", "is a loopback address"),
    ("https://example.com#@127.0.0.1/x.git", "may not contain '#'"),
    ("https://git.example.invalid/x.git", "cannot be resolved"),  # tests look up no names but localhost
]


@pytest.fixture
def admin_api(tenant_a, make_user, tenant_client):
    return tenant_client(tenant_a, make_user("mallory", tenant=tenant_a, role="admin"))


def _create(client, url: str, slug: str = "evil"):
    return client.post(
        "/api/repositories/", {"slug": slug, "name": "Evil", "url": url}, content_type="application/json"
    )


@pytest.mark.parametrize(("url", "message"), HOSTILE_URLS)
def test_it_refuses_hostile_repository_urls_in_the_api_and_the_portal(
    url, message, tenant_a, admin_api, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _create(admin_api, url)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "invalid" and message in " ".join(body["fields"]["url"]), body
    assert not Repository.objects.filter(slug="evil").exists()
    page = admin_api.post("/settings/repositories/", {"slug": "evil", "name": "Evil", "url": url, "source": "git"})
    assert page.status_code == 400 and message in page.content.decode().replace("&#x27;", "'").replace("&amp;", "&")
    assert not Repository.objects.filter(slug="evil").exists()
    assert not Path("/tmp/flowui-pwned").exists()


def test_it_refuses_a_tenant_repository_in_the_admin_but_lets_staff_add_platform_ones(
    tenant_a, public_client, git_repo
):
    from django.contrib.auth import get_user_model

    staff = get_user_model().objects.create_superuser("root3", "root3@example.com", "pw")
    public_client.force_login(staff)
    path, _ = git_repo(operator_files("alpha"))
    data = {
        "slug": "staff-ops",
        "name": "Staff ops",
        "url": f"file://{path}",
        "source": "git",
        "ref": "main",
        "sync_interval_minutes": 60,
        "tenant": tenant_a.pk,
    }
    response = public_client.post("/admin/registry/repository/add/", data)
    assert response.status_code == 200
    assert "file:// URLs are for platform-wide repositories only" in response.content.decode().replace("&#x27;", "'")
    assert not Repository.objects.filter(slug="staff-ops").exists()
    # The registry's own cache clones are nobody's source, not even staff's.
    cache = Path(django_settings.FLOWUI_GIT_CACHE_DIR) / "repository-1.git"
    cache.mkdir(parents=True, exist_ok=True)
    data |= {"tenant": "", "url": f"file://{cache}"}
    response = public_client.post("/admin/registry/repository/add/", data)
    assert response.status_code == 200 and "inside the registry" in response.content.decode()
    data |= {"url": f"file://{path}"}
    assert public_client.post("/admin/registry/repository/add/", data).status_code == 302
    assert Repository.objects.get(slug="staff-ops").tenant is None


def test_it_refuses_the_git_cache_as_a_platform_source_through_proc_self_cwd(settings, tmp_path, monkeypatch):
    settings.FLOWUI_GIT_CACHE_DIR = tmp_path / "git-cache"
    (tmp_path / "git-cache" / "repository-7.git").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "git-cache")
    with pytest.raises(ValidationError, match="inside the registry's git cache"):
        services.repository_create(slug="sneaky", name="x", url="/proc/self/cwd/../git-cache/repository-7.git")


def test_it_syncs_a_tenant_repository_over_http_only_from_an_allow_listed_host(
    tenant_a, admin_api, git_repo, git_http, settings, django_capture_on_commit_callbacks
):
    git_repo(operator_files("shout", metadata=good_metadata("shout")))
    url = git_http.url()
    # Not allow-listed: refused at creation, before any request reaches the server.
    response = _create(admin_api, url, slug="http-ops")
    assert response.status_code == 400
    assert "http:// is only allowed to hosts in FLOWUI_GIT_ALLOWED_HOSTS" in response.json()["fields"]["url"][0]
    assert git_http.requests == []

    git_http.allow()
    with django_capture_on_commit_callbacks(execute=True):
        response = _create(admin_api, url, slug="http-ops")
    assert response.status_code == 201, response.content
    repository = Repository.objects.get(slug="http-ops")
    assert repository.sync_runs.get().state == SyncRun.State.DONE, repository.sync_runs.get().error
    assert repository.operator_versions.get().name == "shout"
    assert any("git-upload-pack" in request for request in git_http.requests)

    # The allow-list is removed: the stored URL is refused at the next sync, and nothing is fetched.
    settings.FLOWUI_GIT_ALLOWED_HOSTS = []
    git_http.requests.clear()
    failed = services.repository_sync_now(repository=repository)
    assert failed.state == SyncRun.State.FAILED
    assert failed.error.startswith("Repository URL refused, nothing was fetched: http:// is only allowed"), failed.error
    assert git_http.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "file://{checkout}",
        "/proc/self/cwd/../repository-{other}.git",
        "{git_http}",
        "https://127.0.0.1:{git_http_port}/repo/.git",
        "https://localhost/x.git",
        "https://169.254.169.254/latest/meta-data",
        "ext::sh -c touch% /tmp/flowui-pwned",
    ],
)
def test_it_fails_the_sync_of_a_stored_bad_url_without_fetching_anything(
    url, tenant_a, tenant_b, git_repo, git_http, settings, tmp_path
):
    settings.FLOWUI_GIT_CACHE_DIR = tmp_path / "git-cache"
    git_repo(operator_files("secret_op", metadata=good_metadata("secret_op")))
    other = Repository.objects.create(slug="victim", name="Victim", url=git_http.url(), tenant=tenant_b)
    url = url.format(checkout=REPO, other=other.pk, git_http=git_http.url(), git_http_port=git_http.port)
    # Written around the service (an old row, a direct database edit): the sync checks again.
    repository = Repository.objects.create(slug="stored-bad", name="Bad", url=url, tenant=tenant_a)
    sync_run = services.repository_sync_now(repository=repository)
    assert sync_run.state == SyncRun.State.FAILED
    assert sync_run.error.startswith("Repository URL refused, nothing was fetched: "), sync_run.error
    repository.refresh_from_db()
    assert repository.last_sync_state == Repository.SyncState.FAILED and repository.last_sync_error == sync_run.error
    assert not (tmp_path / "git-cache").exists()  # not even an empty clone was made
    assert git_http.requests == [] and not repository.operator_versions.exists()
    assert not Path("/tmp/flowui-pwned").exists()


def test_it_does_not_follow_a_redirect_from_the_allow_listed_server(tenant_a, git_repo, git_http, tmp_path):
    git_repo(operator_files("shout", metadata=good_metadata("shout")))
    elsewhere = GitHttpServer(tmp_path).start()  # another host, serving the same repository
    try:
        git_http.allow()
        git_http.redirects["/moved/"] = f"{elsewhere.base}/"
        repository = services.repository_create(
            slug="redirected", name="Redirected", url=f"{git_http.base}/moved/repo/.git", tenant=tenant_a
        )
        sync_run = services.repository_sync_now(repository=repository)
        assert sync_run.state == SyncRun.State.FAILED
        assert "Repository unreachable" in sync_run.error, sync_run.error
        assert git_http.requests and elsewhere.requests == []
    finally:
        elsewhere.stop()


def test_it_pins_the_checked_address_for_the_fetch(tenant_a, git_repo, tmp_path, settings, monkeypatch):
    """The fetch goes to the address the check resolved, not to what DNS says afterwards: `localhost` is
    checked as 127.0.0.2 (where the server listens) and git, left to itself, would connect to 127.0.0.1."""
    git_repo(operator_files("shout", metadata=good_metadata("shout")))
    server = GitHttpServer(tmp_path, host="127.0.0.2").start()
    try:
        with socket.socket() as probe:  # nothing may answer on 127.0.0.1 at that port, or the test proves nothing
            if probe.connect_ex(("127.0.0.1", server.port)) == 0:
                pytest.skip("the port is also taken on 127.0.0.1")

        def checked_as_127_0_0_2(host, port):
            assert host == "localhost"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", port))]

        monkeypatch.setattr(sources, "address_lookup", checked_as_127_0_0_2)
        settings.FLOWUI_GIT_ALLOWED_HOSTS = [f"localhost:{server.port}"]
        checked = sources.tenant_source_check(f"http://localhost:{server.port}/repo/.git")
        assert checked.resolve == (f"localhost:{server.port}:127.0.0.2",)
        assert checked.protocols == ("https", "http")
        repository = services.repository_create(
            slug="pinned", name="Pinned", url=f"http://localhost:{server.port}/repo/.git", tenant=tenant_a
        )
        sync_run = services.repository_sync_now(repository=repository)
        assert sync_run.state == SyncRun.State.DONE, sync_run.error
        assert server.requests
    finally:
        server.stop()


def test_it_runs_git_for_tenant_remotes_with_only_the_allowed_protocols(git_repo, tmp_path):
    """Even if a check were bypassed, git itself refuses other transports for a restricted remote."""
    path, _ = git_repo(operator_files("shout"))
    for url in (f"file://{path}", str(path), "ext::sh -c touch% /tmp/flowui-pwned"):
        remote = git.Remote(url=url, protocols=("https",))
        with pytest.raises(git.GitError):
            git.fetch(cache_dir=tmp_path / "cache", key="restricted", remote=remote, timeout_s=20)
    assert not Path("/tmp/flowui-pwned").exists()
    env = git.Remote(url="https://example.invalid/x.git", protocols=("https",)).env()
    assert env["GIT_ALLOW_PROTOCOL"] == "https" and env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["GIT_CONFIG_GLOBAL"] == "/dev/null" and env["GIT_CONFIG_NOSYSTEM"] == "1"
    assert set(env) <= {
        "PATH",
        "HOME",
        "LANG",
        "GIT_TERMINAL_PROMPT",
        "GIT_ASKPASS",
        "GIT_CONFIG_NOSYSTEM",
        "GIT_ALLOW_PROTOCOL",
        "GIT_CONFIG_GLOBAL",
        "GIT_PROTOCOL_FROM_USER",
    }
    args = git.Remote(url="https://example.invalid/x.git", protocols=("https",)).config_args()
    for setting in ("protocol.file.allow=never", "http.followRedirects=false", "fetch.recurseSubmodules=false"):
        assert setting in args


# --- dependency lines -------------------------------------------------------------------------
BAD_LINES = ["-r /etc/passwd", "--index-url=http://x", "name @ file:///etc", "foo>=1"]


def test_it_fails_the_operators_of_a_group_with_a_non_pinned_line_and_syncs_the_others(git_repo):
    groups = {
        f"evil{i}": {"requirements": ["tomli-w==1.2.0", line], "operators": [f"op{i}"]}
        for i, line in enumerate(BAD_LINES)
    }
    groups["good"] = {"requirements": ['tomli-w==1.2.0; python_version >= "3.10"'], "operators": ["fine"]}
    files = {"dependencies/dependencies_map.json": json.dumps({"groups": groups})}
    for i in range(len(BAD_LINES)):
        files |= operator_files(f"op{i}", metadata=good_metadata(f"op{i}"))
    files |= operator_files("fine", metadata=good_metadata("fine"))
    path, _ = git_repo(files)
    repository = services.repository_create(slug="deps", name="Deps", url=f"file://{path}")
    sync_run = services.repository_sync_now(repository=repository)
    assert sync_run.state == SyncRun.State.DONE, sync_run.error
    errors = sync_run.operator_errors
    assert set(errors) == {f"op{i}" for i in range(len(BAD_LINES))}
    for i, line in enumerate(BAD_LINES):
        assert f"dependency group 'evil{i}'" in errors[f"op{i}"] and repr(line) in errors[f"op{i}"], errors[f"op{i}"]
        assert "not a plain pin" in errors[f"op{i}"]
        assert repr(line) in sync_run.report["group_errors"][f"evil{i}"]
    assert sync_run.report["operators"]["fine"]["status"] == "synced"
    assert set(repository.dependency_groups.values_list("name", flat=True)) == {"good", "default"}
    repository.refresh_from_db()
    assert repository.last_sync_state == Repository.SyncState.PARTIAL


@pytest.mark.parametrize("line", BAD_LINES)
def test_it_never_hands_a_stored_non_pinned_line_to_pip(line, settings, tmp_path, git_repo):
    settings.FLOWUI_VENVS_DIR = tmp_path / "venvs"
    path, _ = git_repo(operator_files("x"))
    repository = services.repository_create(slug="stored", name="Stored", url=f"file://{path}")
    group = DependencyGroup.objects.create(
        repository=repository, name="evil", requirements=[line], requirements_hash="0123456789abcdef", image="x"
    )
    with pytest.raises(services.DependencyVenvError, match="not a plain pin") as failure:
        services.dependency_venv_ensure(group)
    assert repr(line) in str(failure.value)
    assert not (tmp_path / "venvs").exists()


def test_it_reports_non_pinned_lines_in_the_offline_checks(tmp_path):
    from flowui_runtime.checks import validate_path

    (tmp_path / "dependencies").mkdir()
    (tmp_path / "dependencies" / "dependencies_map.json").write_text(
        json.dumps({"groups": {"evil": {"requirements": ["-r /etc/passwd"], "operators": []}}})
    )
    (tmp_path / "operators").mkdir()
    report = validate_path(tmp_path, extract=False)
    assert any("'-r /etc/passwd'" in error and "not a plain pin" in error for error in report["errors"])
    bundled = validate_path(REPO, extract=False)
    assert bundled["errors"] == []
