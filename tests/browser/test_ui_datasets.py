"""The Data page in real Chromium: browse the samples, upload a CSV with the progress bar, preview it, delete it
after the confirmation; the favicon loads; at 390 px nothing scrolls sideways."""

from __future__ import annotations

import shutil

import pytest

from tests.browser.conftest import DESKTOP, PHONE, log_in, no_horizontal_overflow

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def data_setup(live_tenant, django_user_model):
    from datasets.services import samples_install
    from tenants.selectors import tenant_storage_root
    from tenants.services import membership_set

    tenant, base = live_tenant
    samples_install(tenant=tenant)
    user = django_user_model.objects.create_user("dana", "dana@example.com", "pw")
    membership_set(user=user, tenant=tenant, role="editor")
    folder = tenant_storage_root(tenant=tenant) / "dataset"
    yield base, folder
    shutil.rmtree(folder / "browser-upload", ignore_errors=True)


def test_it_uploads_previews_and_deletes_a_dataset_in_the_browser(data_setup, ui_page, artifacts, tmp_path, settings):
    base, folder = data_setup
    page = ui_page
    log_in(page, base, "dana")
    page.click("nav >> text=Data")
    page.wait_for_url(f"{base}/data/")
    page.click("#data-browser >> text=samples/")
    page.wait_for_selector("#data-browser >> text=sales.csv")
    page.wait_for_url(f"{base}/data/?path=samples")  # htmx pushes the URL after its swap
    page.click("#data-browser tr:has-text('sales.csv') >> text=Preview")
    page.wait_for_selector("#data-panel th:has-text('amount')")
    assert page.locator("#data-panel tbody tr").count() >= 25

    # Upload into a new folder: the progress bar fills, the listing comes back with the file.
    page.goto(f"{base}/data/?path=browser-upload")  # a folder that does not exist yet: the top folder is shown
    page.goto(f"{base}/data/")
    big = tmp_path / "orders 2026.csv"
    big.write_text("id,amount\n" + "".join(f"{i},{i % 97}\n" for i in range(300_000)))
    page.fill("#upload-folder", "browser-upload")
    assert not page.locator(".upload-progress").is_visible()
    page.set_input_files("#upload-file", str(big))
    page.click("#data-upload button[type=submit]")
    page.wait_for_selector("#data-browser .message.success")
    assert "Uploaded browser-upload/orders 2026.csv" in page.inner_text("#data-browser .message")
    assert (folder / "browser-upload" / "orders 2026.csv").stat().st_size == big.stat().st_size
    page.goto(f"{base}/data/?path=browser-upload")
    page.click("#data-browser tr:has-text('orders 2026.csv') >> text=Preview")
    page.wait_for_selector("#data-panel th:has-text('amount')")
    page.screenshot(path=str(artifacts / "data-desktop.png"), full_page=True)

    # Phone width: no sideways scroll with the listing and the preview shown.
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(200)
    assert no_horizontal_overflow(page)
    page.screenshot(path=str(artifacts / "data-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)

    # Too large for the limit: refused in the page before anything is sent.
    page.evaluate("document.querySelector('#data-upload').setAttribute('data-max-bytes', '10')")
    page.set_input_files("#upload-file", str(big))
    page.click("#data-upload button[type=submit]")
    page.wait_for_selector(".upload-status.error")
    assert "larger than the upload limit" in page.inner_text(".upload-status")
    # The server's limit holds when the page's check is bypassed.
    settings.FLOWUI_UPLOAD_MAX_MB = 1
    page.evaluate("document.querySelector('#data-upload').setAttribute('data-max-bytes', '999999999')")
    page.click("#data-upload button[type=submit]")
    page.wait_for_function("document.querySelector('.upload-status').textContent.indexOf('Uploading') < 0")
    assert "upload limit of 1 MB" in page.inner_text(".upload-status")
    assert not page.locator("#upload-file").is_disabled()

    # Delete the folder: a confirmation says what goes, then it is gone.
    page.goto(f"{base}/data/")
    page.click("#data-browser tr:has-text('browser-upload') >> text=Delete")
    page.wait_for_selector("#data-panel >> text=This folder holds 1 file")
    page.click("#data-panel button:has-text('Delete')")
    page.wait_for_selector("#data-browser .message.success")
    assert "Deleted the folder browser-upload" in page.inner_text("#data-browser .message")
    assert not (folder / "browser-upload").exists()
    assert page.locator("#data-panel section").count() == 0
    icon = page.evaluate("fetch('/favicon.ico').then(r => [r.status, r.headers.get('content-type')])")
    assert icon == [200, "image/x-icon"]
    assert page.locator("link[rel=icon][href='/favicon.ico']").count() == 1
    assert not page.problems, page.problems
