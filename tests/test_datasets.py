"""Datasets: the files under a tenant's `dataset/` folder, through the REST API (/api/datasets/) and the portal
(/data/), with hostile paths (traversal, absolute, NUL, hidden) and symlinks planted by tenant code (to /etc, to
another tenant's folder) answering 400/404 and never the target; size limit while streaming; samples."""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.selectors import tenant_storage_root

REPO = Path(__file__).resolve().parent.parent
CSV = b"region,month,product,amount\nNorth,2026-01,Widget,10\nSouth,2026-01,Gadget,20\nEast,2026-02,Widget,5\n"


def dataset_dir(tenant) -> Path:
    folder = tenant_storage_root(tenant=tenant) / "dataset"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def area(tenant_a):
    """A fresh folder dataset/t_<random>/ of acme (its name relative to dataset/), removed afterwards."""
    name = f"t_{secrets.token_hex(4)}"
    folder = dataset_dir(tenant_a) / name
    folder.mkdir()
    yield name
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def globex_secret(tenant_b):
    """A file of the other tenant that acme must never reach."""
    folder = dataset_dir(tenant_b) / "private"
    folder.mkdir(exist_ok=True)
    (folder / "secret.csv").write_text("secret\nGLOBEX-ONLY\n")
    yield folder / "secret.csv"
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def editor(tenant_a, make_user, tenant_client):
    return tenant_client(tenant_a, make_user("ds-editor", tenant=tenant_a, role="editor"))


@pytest.fixture
def viewer(tenant_a, make_user, tenant_client):
    return tenant_client(tenant_a, make_user("ds-viewer", tenant=tenant_a, role="viewer"))


def upload(client, folder: str, filename: str, content: bytes, **extra):
    return client.post("/api/datasets/", {"path": folder, "file": SimpleUploadedFile(filename, content), **extra})


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob(".upload-*")]


# --- API ----------------------------------------------------------------------------------------
def test_it_uploads_lists_previews_downloads_and_deletes_through_the_api(tenant_a, editor, area):
    created = upload(editor, f"{area}/sales", "sales.csv", CSV)
    assert created.status_code == 201, created.content
    entry = created.json()
    assert entry["path"] == f"{area}/sales/sales.csv" and entry["size"] == len(CSV) and entry["format"] == "csv"
    assert (dataset_dir(tenant_a) / area / "sales" / "sales.csv").read_bytes() == CSV

    top = editor.get("/api/datasets/", {"path": area}).json()
    assert top["path"] == area and top["parent"] == ""
    assert [(e["name"], e["type"]) for e in top["entries"]] == [("sales", "folder")]
    listed = editor.get("/api/datasets/", {"path": f"{area}/sales"}).json()["entries"]
    assert listed[0]["name"] == "sales.csv" and listed[0]["size"] == len(CSV) and listed[0]["modified"]

    preview = editor.get(f"/api/datasets/{area}/sales/sales.csv", {"preview": "1", "rows": 2})
    assert preview.status_code == 200
    body = preview.json()
    assert body["columns"] == ["region", "month", "product", "amount"]
    assert body["rows"] == [["North", "2026-01", "Widget", "10"], ["South", "2026-01", "Gadget", "20"]]
    assert body["truncated"] is True and body["format"] == "csv"

    download = editor.get(f"/api/datasets/{area}/sales/sales.csv")
    assert download.status_code == 200 and b"".join(download.streaming_content) == CSV
    assert download["Content-Disposition"].startswith("attachment;") and download["X-Content-Type-Options"] == "nosniff"

    # Same name again: a conflict unless replacing is asked for.
    assert upload(editor, f"{area}/sales", "sales.csv", b"a\n1\n").status_code == 409
    replaced = upload(editor, f"{area}/sales", "sales.csv", b"a\n1\n", overwrite="true")
    assert replaced.status_code == 201 and replaced.json()["size"] == 4
    renamed = upload(editor, f"{area}/sales", "ignored.csv", b"b\n2\n", name="Ventes été 2026.csv")
    assert renamed.status_code == 201 and renamed.json()["name"] == "Ventes été 2026.csv"
    decomposed = upload(editor, f"{area}/sales", "Cafe\u0301.csv", b"c\n3\n")  # as macOS browsers send it
    assert decomposed.status_code == 201 and decomposed.json()["name"] == "Caf\u00e9.csv"

    # A folder with content goes only when confirmed.
    refused = editor.delete(f"/api/datasets/{area}/sales")
    assert refused.status_code == 409 and refused.json()["error"] == "not_empty"
    assert editor.delete(f"/api/datasets/{area}/sales/sales.csv").status_code == 204
    assert editor.delete(f"/api/datasets/{area}/sales?recursive=1").status_code == 204
    assert not (dataset_dir(tenant_a) / area / "sales").exists()
    assert editor.delete(f"/api/datasets/{area}/sales").status_code == 404
    assert leftovers(dataset_dir(tenant_a) / area) == []


def test_it_previews_json_json_lines_and_parquet_with_caps(tenant_a, editor, area):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = dataset_dir(tenant_a) / area
    (folder / "a.json").write_text(json.dumps({"data": [{"id": i, "user": {"name": "x" * 500}} for i in range(80)]}))
    (folder / "b.jsonl").write_text('{"id": 1}\n\n{"id": 2, "tag": "t"}\n')
    pq.write_table(pa.table({"region": ["North", "South"] * 300, "amount": list(range(600))}), folder / "c.parquet")
    (folder / "big.json").write_bytes(b"[" + b"1," * 3_000_000 + b"1]")
    (folder / "wide.csv").write_bytes(b"x" * 3_000_000)  # one line, larger than the bytes read
    (folder / "image.png").write_bytes(b"\x89PNG....")
    (folder / "broken.parquet").write_bytes(b"PAR1 not really")

    first = editor.get(f"/api/datasets/{area}/a.json?preview=1").json()
    assert first["columns"] == ["id", "user"] and len(first["rows"]) == 50 and first["total_rows"] == 80
    assert len(first["rows"][0][1]) == 200 and first["truncated"] is True
    lines = editor.get(f"/api/datasets/{area}/b.jsonl?preview=1").json()
    assert lines["columns"] == ["id", "tag"] and lines["rows"] == [[1, None], [2, "t"]]
    parquet = editor.get(f"/api/datasets/{area}/c.parquet?preview=1&rows=3").json()
    assert parquet["columns"] == ["region", "amount"] and parquet["rows"] == [["North", 0], ["South", 1], ["North", 2]]
    assert parquet["total_rows"] == 600 and parquet["truncated"] is True
    for name, words in (
        ("big.json", "not previewed"),
        ("wide.csv", "empty"),
        ("image.png", "Only CSV"),
        ("broken.parquet", "Parquet"),
    ):
        answer = editor.get(f"/api/datasets/{area}/{name}?preview=1")
        assert answer.status_code == 400 and words in answer.json()["detail"], (name, answer.content)
    assert editor.get(f"/api/datasets/{area}/a.json?preview=1&rows=100000").status_code == 400


def test_it_lets_viewers_read_but_not_write(tenant_a, viewer, area):
    (dataset_dir(tenant_a) / area / "x.csv").write_bytes(CSV)
    assert viewer.get("/api/datasets/", {"path": area}).status_code == 200
    assert viewer.get(f"/api/datasets/{area}/x.csv").status_code == 200
    assert upload(viewer, area, "y.csv", CSV).status_code == 403
    assert viewer.delete(f"/api/datasets/{area}/x.csv").status_code == 403
    assert (dataset_dir(tenant_a) / area / "x.csv").exists() and not (dataset_dir(tenant_a) / area / "y.csv").exists()
    # Portal: no upload form, no delete links; posting anyway is refused.
    page = viewer.get("/data/", {"path": area}).content.decode()
    assert 'id="data-upload"' not in page and "/data/delete/" not in page and "x.csv" in page
    assert viewer.post("/data/upload/", {"path": area, "file": SimpleUploadedFile("y.csv", CSV)}).status_code == 403
    assert viewer.post("/data/delete/", {"path": f"{area}/x.csv"}).status_code == 403


def test_it_refuses_non_members_and_anonymous_users(tenant_a, tenant_b, make_user, tenant_client, area):
    outsider = tenant_client(tenant_a, make_user("ds-outsider", tenant=tenant_b, role="owner"))
    assert outsider.get("/api/datasets/").status_code in (403, 404)
    assert outsider.get("/data/").status_code == 404
    anonymous = tenant_client(tenant_a)
    assert anonymous.get("/api/datasets/").status_code in (401, 403)
    assert anonymous.get("/data/").status_code == 302


def test_it_enforces_the_upload_limit_while_streaming(tenant_a, editor, area, settings):
    settings.FLOWUI_UPLOAD_MAX_MB = 1
    limit = 1024 * 1024
    folder = dataset_dir(tenant_a) / area
    exact = upload(editor, area, "exact.bin", b"x" * limit)
    assert exact.status_code == 201 and exact.json()["size"] == limit
    over = upload(editor, area, "over.bin", b"x" * (limit + 1))
    assert over.status_code == 413 and over.json()["error"] == "too_large"
    assert "1 MB" in over.json()["detail"] and "FLOWUI_UPLOAD_MAX_MB" in over.json()["detail"]
    # Far over the limit: refused on its Content-Length, before the body is read.
    early = upload(editor, area, "huge.bin", b"x" * (3 * limit))
    assert early.status_code == 413 and "1 MB" in early.json()["detail"]
    assert sorted(p.name for p in folder.iterdir()) == ["exact.bin"] and leftovers(folder) == []
    # The portal answers the same limit (htmx: the listing with the message).
    portal = editor.post(
        "/data/upload/", {"path": area, "file": SimpleUploadedFile("p.bin", b"x" * (limit + 1))}, HTTP_HX_REQUEST="true"
    )
    assert "larger than the upload limit of 1 MB" in portal.content.decode()
    assert (
        editor.post(
            "/data/upload/",
            {"path": area, "file": SimpleUploadedFile("p.bin", b"x" * (3 * limit))},
            HTTP_HX_REQUEST="true",
        ).status_code
        == 413
    )
    assert not (folder / "p.bin").exists()


def test_it_limits_the_service_while_copying_and_leaves_nothing_behind(tenant_a, area):
    from datasets.services import DatasetTooLarge, dataset_upload

    with pytest.raises(DatasetTooLarge, match="upload limit"):
        dataset_upload(tenant=tenant_a, folder=area, name="s.csv", source=io.BytesIO(b"y" * 5000), max_bytes=4096)
    assert os.listdir(dataset_dir(tenant_a) / area) == []


@pytest.mark.parametrize(
    "bad_path",
    [
        "../globex/dataset/private/secret.csv",
        "x/../../../globex",
        "/etc/passwd",
        "a//b",
        "./a",
        ".env",
        "a\x00b",
        "a\\..\\b",
        "sub/.hidden",
    ],
)
def test_it_refuses_traversal_absolute_and_hidden_paths(tenant_a, editor, globex_secret, bad_path):
    listed = editor.get("/api/datasets/", {"path": bad_path})
    assert listed.status_code == 400 and listed.json()["error"] == "invalid"
    up = upload(editor, bad_path, "a.csv", CSV)
    assert up.status_code == 400 and "GLOBEX" not in up.content.decode()
    named = upload(editor, "", "a.csv", CSV, name=bad_path)
    assert named.status_code == 400
    for method in (editor.get, editor.delete):
        answer = method("/api/datasets/" + bad_path.replace("\x00", "%00"))
        assert answer.status_code in (400, 404) and b"GLOBEX" not in b"".join(
            getattr(answer, "streaming_content", [answer.content])
        )
    portal = editor.get("/data/preview/", {"path": bad_path})
    assert portal.status_code in (400, 404) and "GLOBEX" not in portal.content.decode()
    assert editor.get("/data/download/", {"path": bad_path}).status_code == 404
    assert editor.get("/data/", {"path": bad_path}).status_code == 400
    assert globex_secret.read_text() == "secret\nGLOBEX-ONLY\n"


def test_it_refuses_unsafe_names_for_new_files(editor, area):
    for name in ("-rf.csv", "a<b>.csv", "a;b.csv", "trailing.", 'quote".csv', "rtl\u202eexe.csv", "tab\tname.csv"):
        answer = upload(editor, area, "x.csv", CSV, name=name)
        assert answer.status_code == 400, name
        assert answer.json()["error"] == "invalid"


def test_it_never_follows_symlinks_planted_in_the_dataset_folder(tenant_a, tenant_b, editor, area, globex_secret):
    folder = dataset_dir(tenant_a) / area
    (folder / "real.csv").write_bytes(CSV)
    os.symlink("/etc", folder / "etc")
    os.symlink("/etc/passwd", folder / "passwd.csv")
    os.symlink(globex_secret.parent, folder / "other")
    os.symlink(globex_secret, folder / "secret.csv")
    os.symlink("real.csv", folder / "alias.csv")

    listed = editor.get("/api/datasets/", {"path": area}).json()["entries"]
    assert [e["name"] for e in listed] == ["real.csv"]
    for path in ("etc/passwd", "passwd.csv", "other/secret.csv", "secret.csv", "alias.csv", "etc", "other"):
        for query in ("", "?preview=1"):
            answer = editor.get(f"/api/datasets/{area}/{path}{query}")
            assert answer.status_code == 404, (path, query)
            assert b"root:" not in answer.content and b"GLOBEX" not in answer.content
        assert editor.get("/api/datasets/", {"path": f"{area}/{path}"}).status_code == 404
        assert editor.get("/data/download/", {"path": f"{area}/{path}"}).status_code == 404
        assert "GLOBEX" not in editor.get("/data/preview/", {"path": f"{area}/{path}"}).content.decode()
    # Writing through a symlinked folder is refused; deleting a link never touches its target.
    assert upload(editor, f"{area}/other", "planted.csv", CSV).status_code == 404
    assert not (globex_secret.parent / "planted.csv").exists()
    assert editor.delete(f"/api/datasets/{area}/other?recursive=1").status_code == 404
    assert editor.delete(f"/api/datasets/{area}/secret.csv").status_code == 404
    assert globex_secret.read_text() == "secret\nGLOBEX-ONLY\n"
    # Replacing a symlink's name with an upload replaces the link, not the file it pointed to.
    assert upload(editor, area, "secret.csv", b"mine\n", overwrite="1").status_code == 201
    assert not (folder / "secret.csv").is_symlink() and globex_secret.read_text() == "secret\nGLOBEX-ONLY\n"
    # A recursive delete of a folder holding links removes the links only.
    nested = folder / "nested"
    nested.mkdir()
    os.symlink(globex_secret.parent, nested / "other")
    assert editor.delete(f"/api/datasets/{area}/nested?recursive=1").status_code == 204
    assert not nested.exists() and globex_secret.exists()


def test_it_answers_404_when_the_dataset_folder_itself_is_a_symlink(tenant_a, tenant_b, editor, globex_secret):
    folder = dataset_dir(tenant_a)
    moved = folder.with_name(f"dataset.{secrets.token_hex(3)}")
    folder.rename(moved)
    try:
        os.symlink(dataset_dir(tenant_b), folder)
        listed = editor.get("/api/datasets/")
        assert listed.status_code == 200 and listed.json()["entries"] == []
        assert editor.get("/api/datasets/private/secret.csv").status_code == 404
        assert editor.get("/api/datasets/", {"path": "private"}).status_code == 404
        assert upload(editor, "private", "x.csv", CSV).status_code == 404
        assert not (globex_secret.parent / "x.csv").exists()
    finally:
        os.unlink(folder)
        moved.rename(folder)


def test_it_never_lists_another_tenants_files(tenant_a, tenant_b, make_user, tenant_client, globex_secret, editor):
    top = editor.get("/api/datasets/").json()["entries"]
    assert "private" not in [e["name"] for e in top]
    assert editor.get("/api/datasets/private/secret.csv").status_code == 404
    globex = tenant_client(tenant_b, make_user("ds-globex", tenant=tenant_b, role="viewer"))
    assert "private" in [e["name"] for e in globex.get("/api/datasets/").json()["entries"]]


def test_it_keeps_query_counts_constant(tenant_a, editor, area):
    folder = dataset_dir(tenant_a) / area

    def count(url: str, **params) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert editor.get(url, params).status_code == 200
        return len(captured)

    (folder / "f0.csv").write_bytes(CSV)
    editor.get("/data/")  # the connection's first request of this tenant also sets its search_path
    few = [
        count("/api/datasets/", path=area),
        count("/data/", path=area),
        count(f"/api/datasets/{area}/f0.csv", preview="1"),
    ]
    for i in range(1, 40):
        (folder / f"f{i}.csv").write_bytes(CSV * 20)
        (folder / f"d{i}").mkdir()
    many = [
        count("/api/datasets/", path=area),
        count("/data/", path=area),
        count(f"/api/datasets/{area}/f9.csv", preview="1"),
    ]
    assert few == many
    assert max(many) <= 6


# --- portal ---------------------------------------------------------------------------------------
def test_it_browses_previews_uploads_and_deletes_in_the_portal(tenant_a, editor, area):
    from datasets.services import samples_install

    samples_install(tenant=tenant_a)
    page = editor.get("/data/")
    html = page.content.decode()
    assert page.status_code == 200 and '<a href="/data/" aria-current="page">Data</a>' in html
    assert "samples/" in html and 'id="data-upload"' in html and 'src="/static/js/datasets.js"' in html
    # href equals hx-get, and an htmx request gets the partial only.
    assert f'href="/data/?path={area}" hx-get="/data/?path={area}"' in html
    partial = editor.get("/data/", {"path": "samples"}, HTTP_HX_REQUEST="true").content.decode()
    assert (
        "<html" not in partial
        and "sales.csv" in partial
        and 'hx-get="/data/preview/?path=samples%2Fsales.csv"' in partial
    )

    preview = editor.get("/data/preview/", {"path": "samples/sales.csv"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<th>region</th><th>month</th><th>product</th><th>amount</th>" in preview and "<html" not in preview
    full = editor.get("/data/preview/", {"path": "samples/sales.csv"}).content.decode()
    assert "<html" in full and "<th>amount</th>" in full and "houses.csv" in full
    download = editor.get("/data/download/", {"path": "samples/sales.csv"})
    assert download.status_code == 200 and b"".join(download.streaming_content).startswith(
        b"region,month,product,amount"
    )

    # Upload without JavaScript: a redirect back to the folder with a message.
    posted = editor.post("/data/upload/", {"path": area, "file": SimpleUploadedFile("mine.csv", CSV)})
    assert posted.status_code == 302 and posted["Location"] == f"/data/?path={area}"
    assert "Uploaded" in editor.get(posted["Location"]).content.decode()
    # With htmx (the progress-bar upload): the folder's listing comes back.
    again = editor.post(
        "/data/upload/", {"path": area, "file": SimpleUploadedFile("mine.csv", CSV)}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "exists already" in again and "mine.csv" in again
    nested = editor.post(
        "/data/upload/", {"path": f"{area}/in", "file": SimpleUploadedFile("n.json", b"[]")}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert f"Uploaded {area}/in/n.json" in nested

    # Delete: a confirmation first (what goes), then the deletion.
    confirm = editor.get("/data/delete/", {"path": area}, HTTP_HX_REQUEST="true").content.decode()
    assert "2 files" in confirm and "1 folder" in confirm and 'name="recursive" value="1"' in confirm
    assert 'action="/data/delete/" hx-post="/data/delete/"' in confirm
    single = editor.get("/data/delete/", {"path": f"{area}/mine.csv"}).content.decode()
    assert "<html" in single and "cannot be restored" in single and "recursive" not in single
    not_confirmed = editor.post("/data/delete/", {"path": area}, HTTP_HX_REQUEST="true").content.decode()
    assert "not empty" in not_confirmed and (dataset_dir(tenant_a) / area).exists()
    done = editor.post("/data/delete/", {"path": area, "recursive": "1"})
    assert done.status_code == 302 and not (dataset_dir(tenant_a) / area).exists()


def test_it_shows_missing_folders_and_files_without_a_server_error(editor):
    assert editor.get("/data/", {"path": "no/such/folder"}).status_code == 404
    assert editor.get("/data/preview/", {"path": "no/such.csv"}).status_code == 404
    assert editor.get("/data/delete/", {"path": "no/such.csv"}).status_code == 404
    assert editor.post("/data/delete/", {"path": "no/such.csv"}).status_code == 302
    assert editor.post("/data/upload/", {"path": ""}).status_code == 302  # no file: a message


# --- samples, provisioning, favicon --------------------------------------------------------------
def test_it_gives_every_new_tenant_sample_datasets(tenant_a):
    from tenants import provisioning
    from tenants.models import TenantResources

    resources, _ = TenantResources.objects.get_or_create(tenant=tenant_a, defaults={"deploy_mode": "local"})
    sales = dataset_dir(tenant_a) / "samples" / "sales.csv"
    if sales.exists():
        sales.unlink()
    result = provisioning.run_storage(tenant_a, resources)
    assert "dataset/samples/sales.csv" in result["samples"]
    rows = sales.read_text().splitlines()
    assert rows[0] == "region,month,product,amount" and len(rows) >= 25
    # Idempotent: a second run keeps what is there (a user's edited sample stays).
    sales.write_text("region,amount\nmine,1\n")
    provisioning.run_storage(tenant_a, resources)
    assert sales.read_text() == "region,amount\nmine,1\n"
    sales.unlink()
    provisioning.run_storage(tenant_a, resources)


def test_it_ships_every_dataset_the_bundled_operators_examples_name():
    samples = REPO / "datasets" / "samples"
    named = []
    for example in sorted((REPO / "operators").glob("*/example_input.json")):
        for value in json.loads(example.read_text()).values():
            if isinstance(value, str) and value.startswith("dataset/"):
                named.append(value)
                assert (samples / value.removeprefix("dataset/samples/")).is_file(), (example, value)
                assert value.startswith("dataset/samples/"), (example, value)
    assert "dataset/samples/sales.csv" in named
    model = (REPO / "operators" / "load_dataset" / "model.py").read_text()
    assert "dataset/samples/sales.csv" in model and "dataset/sales.csv" not in model


def test_it_serves_the_favicon_on_every_domain(tenant_a, make_user, tenant_client, public_client):
    for client in (public_client, tenant_client(tenant_a)):
        answer = client.get("/favicon.ico")
        assert answer.status_code == 200 and answer["Content-Type"] == "image/x-icon"
        assert answer.content[:4] == b"\x00\x00\x01\x00"
    page = tenant_client(tenant_a, make_user("ds-fav", tenant=tenant_a)).get("/data/").content.decode()
    assert 'rel="icon" href="/favicon.ico"' in page and "favicon.svg" in page


def test_it_documents_the_datasets_api_and_answers_generated_requests(tenant_a, make_user, tmp_path, db):
    from django.core.management import call_command

    from tenants.services import api_token_create
    from tests.api_fuzz_support import api_schema, fuzz_api

    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    user = make_user("ds-fuzz", tenant=tenant_a, role="editor")
    _, key = api_token_create(user=user, tenant=tenant_a)
    schema = api_schema(tmp_path, ("/api/datasets",))
    operations = {
        (path, method)
        for path, item in schema.raw_schema["paths"].items()
        for method in item
        if method in ("get", "post", "delete")
    }
    assert operations == {
        ("/api/datasets/", "get"),
        ("/api/datasets/", "post"),
        ("/api/datasets/{path}", "get"),
        ("/api/datasets/{path}", "delete"),
    }
    calls, failures = fuzz_api(
        schema, headers={"Authorization": f"Bearer {key}", "Host": "acme.localhost"}, examples=20
    )
    assert calls >= 40
    assert not failures, "\n".join(failures[:20])


def test_it_answers_storage_failures_without_a_server_error(tenant_a, editor, area, monkeypatch):
    import errno

    def no_links(*args, **kwargs):
        raise OSError(errno.EPERM, "Operation not permitted")

    # A file system without hard links: the upload is still stored (no clobbering checked before the rename).
    monkeypatch.setattr(os, "link", no_links)
    assert upload(editor, area, "a.csv", CSV).status_code == 201
    assert upload(editor, area, "a.csv", CSV).status_code == 409

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "rename", full)
    answer = upload(editor, area, "b.csv", CSV)
    assert answer.status_code == 503 and "No space left on device" in answer.json()["detail"]
    portal = editor.post(
        "/data/upload/", {"path": area, "file": SimpleUploadedFile("c.csv", CSV)}, HTTP_HX_REQUEST="true"
    )
    assert portal.status_code == 200 and "No space left on device" in portal.content.decode()
    monkeypatch.undo()
    assert sorted(os.listdir(dataset_dir(tenant_a) / area)) == ["a.csv"]
