"""The operator catalog in real Chromium: live search and tag filters (HTMX, no reload), the operator page
with its field tables and a live preview of its generated input form; it holds at 1280x800 and 390x844."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import DESKTOP, PHONE, log_in, no_horizontal_overflow

pytestmark = pytest.mark.timeout(300)

MODEL = """from pydantic import BaseModel, Field

class InputModel(BaseModel):
    text: str = Field(description="Text to shout.")
    times: int = Field(default=2, ge=1, description="How many times.")

class OutputModel(BaseModel):
    shouted: str = Field(description="The shouted text.")
"""
OPERATOR = "def operator_function(input_model):\n    return {'shouted': input_model.text.upper()}\n"


@pytest.fixture
def catalog_setup(live_tenant, django_user_model, git_repo):
    from registry import services
    from registry.models import Repository
    from tenants.services import membership_set

    tenant, base = live_tenant
    files = {}
    for name, tags in (("shout", ["text"]), ("whisper", ["text", "quiet"]), ("count_rows", ["data"])):
        files[f"operators/{name}/model.py"] = MODEL
        files[f"operators/{name}/operator.py"] = OPERATOR
        files[f"operators/{name}/metadata.json"] = json.dumps(
            {
                "name": name,
                "version": "1.0.0",
                "description": f"The {name} operator.",
                "tags": tags,
                "style": {"label": name.replace("_", " ").title(), "colour": "#2f6fed"},
            }
        )
    path, _ = git_repo(files)
    Repository.objects.filter(slug="browser-catalog").delete()
    repository = services.repository_create(slug="browser-catalog", name="Browser catalog", url=f"file://{path}")
    assert services.repository_sync_now(repository=repository).report["counts"]["synced"] == 3
    user = django_user_model.objects.create_user("cata", "cata@example.com", "pw")
    membership_set(user=user, tenant=tenant, role="viewer")
    yield base
    Repository.objects.filter(slug="browser-catalog").delete()


def test_it_searches_filters_and_previews_operators_live(catalog_setup, ui_page, artifacts):
    base, page = catalog_setup, ui_page
    log_in(page, base, "cata")
    page.goto(f"{base}/operators/")
    assert page.locator("#operator-results li").count() == 3
    page.evaluate("window.__sameDocument = true")

    page.fill("#operator-search", "whis")
    page.wait_for_function("document.querySelectorAll('#operator-results li').length === 1")
    assert "Whisper" in page.inner_text("#operator-results")
    assert page.evaluate("window.__sameDocument") is True  # HTMX swapped the results, no reload
    assert "q=whis" in page.url

    page.fill("#operator-search", "")
    page.wait_for_function("document.querySelectorAll('#operator-results li').length === 3")
    page.click(".tags a:has-text('data')")
    page.wait_for_function("document.querySelectorAll('#operator-results li').length === 1")
    assert "Count Rows" in page.inner_text("#operator-results")
    page.screenshot(path=str(artifacts / "registry-catalog.png"), full_page=True)

    page.click("#operator-results a:has-text('Count Rows')")
    page.wait_for_url(f"{base}/operators/browser-catalog/count_rows/")
    assert "Text to shout." in page.inner_text("main") and "The shouted text." in page.inner_text("main")
    page.fill("[name='preview.text']", "hello")
    page.wait_for_function("document.querySelector('#form-preview-result').innerText.includes('hello')")
    preview = page.inner_text("#form-preview-result")
    assert '"times": 2' in preview
    page.screenshot(path=str(artifacts / "registry-operator.png"), full_page=True)
    assert no_horizontal_overflow(page)

    page.set_viewport_size(PHONE)
    for url in (f"{base}/operators/", f"{base}/operators/browser-catalog/count_rows/"):
        page.goto(url)
        wide = page.evaluate(
            "[...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)"
            ".slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"
        )
        assert no_horizontal_overflow(page), (url, wide)
    page.screenshot(path=str(artifacts / "registry-operator-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    assert not page.problems, page.problems
