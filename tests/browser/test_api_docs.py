"""Swagger UI at /api/docs/ renders in real Chromium with every file from the platform itself (no CDN):
requests to any other origin are refused, as on a machine without internet access."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser


def test_it_renders_the_api_docs_offline_from_the_servers_own_origin(live_tenant, chromium, artifacts):
    _, base = live_tenant
    origin = urlsplit(base)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    requested: list[str] = []
    foreign: list[str] = []

    def route(r):
        url = urlsplit(r.request.url)
        requested.append(r.request.url)
        if (url.scheme, url.netloc) != (origin.scheme, origin.netloc) and url.scheme not in ("data", "blob"):
            foreign.append(r.request.url)
            return r.abort()  # offline: nothing outside the server answers
        return r.continue_()

    context.route("**/*", route)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{base}/api/docs/")
    page.wait_for_selector(".swagger-ui .information-container .title")
    page.wait_for_selector(".swagger-ui .opblock")
    assert "FlowUI API" in page.inner_text(".swagger-ui .information-container .title")
    text = page.inner_text(".swagger-ui")
    for path in ("/api/tokens/", "/api/audit/", "/api/hooks/{webhook_id}/", "/api/workflows/{slug}/webhooks/"):
        assert path in text, path
    page.screenshot(path=str(artifacts / "api-docs.png"), full_page=False)
    context.close()

    assert not foreign, f"requests left the server's origin: {foreign}"
    assert not errors, errors
    assert any(u.endswith("/api/schema/") or "/api/schema/" in u for u in requested)
    assert any("/static/drf_spectacular_sidecar/swagger-ui-dist/" in u for u in requested)
