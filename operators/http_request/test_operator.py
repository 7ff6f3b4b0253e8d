import http.server
import json
import threading

import pytest


class EchoHandler(http.server.BaseHTTPRequestHandler):
    """/status/<n> answers status n; /redirect goes to /echo; anything else echoes the request as JSON."""

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        if self.path.startswith("/status/"):
            code = int(self.path.split("/")[2])
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(f"status {code}".encode())
            return
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/echo?from=redirect")
            self.end_headers()
            return
        payload = json.dumps(
            {"method": self.command, "path": self.path, "headers": dict(self.headers.items()), "body": body}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("X-Echo", "yes")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _answer

    def log_message(self, format, *args):  # noqa: A002
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def call(module, token=None, **values):
    return module.operator_function(module.InputModel(**values), module.model.SecretsModel(auth_token=token))


def test_it_posts_json_with_params_headers_and_token(operator_module, server, run_env):
    out = call(
        operator_module,
        token="s3cr3t",
        url=f"{server}/echo",
        method="POST",
        params={"q": "a b", "page": "2"},
        headers={"X-Trace": "t1"},
        json_body={"rows": [1, 2]},
        save_body_as="response.json",
    )
    assert out.status_code == 200 and out.ok and out.headers["X-Echo"] == "yes"
    echoed = out.body_json
    assert echoed["method"] == "POST" and echoed["path"] == "/echo?q=a+b&page=2"
    assert json.loads(echoed["body"]) == {"rows": [1, 2]}
    assert echoed["headers"]["X-Trace"] == "t1" and echoed["headers"]["Authorization"] == "Bearer s3cr3t"
    assert echoed["headers"]["Content-Type"] == "application/json"
    assert out.body_path == run_env.run_dir / "response.json"
    assert json.loads(out.body_path.read_text()) == echoed


def test_it_sends_text_follows_redirects_and_cuts_long_text(operator_module, server):
    out = call(operator_module, url=f"{server}/echo", method="PUT", body="hello", max_text_chars=10)
    assert out.body_text == out.body_text[:10] and len(out.body_text) == 10
    assert out.body_json["body"] == "hello" and "Authorization" not in out.body_json["headers"]
    redirected = call(operator_module, url=f"{server}/redirect")
    assert redirected.url.endswith("/echo?from=redirect") and redirected.body_json["method"] == "GET"
    assert call(operator_module, url=f"{server}/echo", method="HEAD").body_text == ""


def test_it_fails_on_error_status_unless_told_not_to(operator_module, server):
    with pytest.raises(RuntimeError, match="answered HTTP 503: status 503"):
        call(operator_module, url=f"{server}/status/503")
    out = call(operator_module, url=f"{server}/status/404", fail_on_error_status=False)
    assert (out.status_code, out.ok, out.body_text, out.body_json) == (404, False, "status 404", None)


def test_it_reports_unreachable_servers(operator_module):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(RuntimeError, match=f"GET http://127.0.0.1:{port}/ failed"):
        call(operator_module, url=f"http://127.0.0.1:{port}/", timeout_s=2)
    with pytest.raises(ValueError):
        operator_module.InputModel(url="file:///etc/passwd")
