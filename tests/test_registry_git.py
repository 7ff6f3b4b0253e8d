"""The git module against real git: a token travels as an HTTP header, never in URLs, arguments or errors."""

from __future__ import annotations

import base64
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from flowui.lib import git


class _Recorder(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def do_GET(self):  # noqa: N802 - http.server's naming
        _Recorder.seen.append({"path": self.path, "authorization": self.headers.get("Authorization", "")})
        self.send_response(403)
        self.end_headers()
        self.wfile.write(b"forbidden")

    def log_message(self, *args):
        pass


@pytest.fixture
def http_recorder():
    _Recorder.seen = []
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", _Recorder.seen
    server.shutdown()


def test_it_sends_the_token_as_an_authorization_header_only(http_recorder, tmp_path):
    base, seen = http_recorder
    remote = git.Remote(url=f"{base}/org/repo.git", token="ghp_header4711")
    with pytest.raises(git.GitError) as failure:
        git.fetch(cache_dir=tmp_path, key="r", remote=remote, timeout_s=20)
    expected = "Basic " + base64.b64encode(b"x-access-token:ghp_header4711").decode()
    assert seen and seen[0]["authorization"] == expected
    assert all("ghp_header4711" not in request["path"] for request in seen)
    assert "ghp_header4711" not in str(failure.value) and expected not in str(failure.value)
    assert "fetching" in str(failure.value)
    config = (tmp_path / "r.git" / "config").read_text()
    assert "ghp_header4711" not in config and "extraHeader" not in config


def test_it_sends_the_token_of_a_restricted_tenant_remote_too(http_recorder, tmp_path):
    """A tenant remote (protocols restricted, no user or system git config) still authenticates by header."""
    base, seen = http_recorder
    remote = git.Remote(url=f"{base}/org/repo.git", token="ghp_tenant4711", protocols=("https", "http"))
    with pytest.raises(git.GitError):
        git.fetch(cache_dir=tmp_path, key="t", remote=remote, timeout_s=20)
    assert seen and seen[0]["authorization"] == "Basic " + base64.b64encode(b"x-access-token:ghp_tenant4711").decode()


def test_it_resolves_tags_branches_and_commits_and_exports_folders(git_repo, tmp_path):
    path, first = git_repo({"operators/a/model.py": "A = 1\n", "operators/b/model.py": "B = 1\n"})
    git_repo.git(path, "tag", "v1")
    _, second = git_repo({"operators/a/model.py": "A = 2\n"})
    cache = git.fetch(cache_dir=tmp_path / "cache", key="repo", remote=git.Remote(url=f"file://{path}"))
    assert git.resolve(repo=cache, ref="v1") == first
    assert git.resolve(repo=cache, ref="main") == second
    assert git.resolve(repo=cache, ref=first[:10]) == first
    with pytest.raises(git.GitError, match="ref 'nope' not found"):
        git.resolve(repo=cache, ref="nope")
    assert git.tags(repo=cache) == ["v1"]
    before = git.tree_entries(repo=cache, commit=first, folder="operators")
    after = git.tree_entries(repo=cache, commit=second, folder="operators")
    assert before["b"] == after["b"] and before["a"] != after["a"]
    git.export(repo=cache, commit=first, paths=["operators/a"], destination=tmp_path / "out")
    assert (tmp_path / "out" / "operators" / "a" / "model.py").read_text() == "A = 1\n"
    assert not (tmp_path / "out" / "operators" / "b").exists()
    assert git.file_text(repo=cache, commit=first, path="missing.json") is None
