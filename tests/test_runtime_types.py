"""flowui_runtime.types: the StoragePath / StorageFile input types every bundled operator uses for storage paths."""

import os

import pytest
from pydantic import BaseModel, Field, ValidationError

from flowui_runtime.types import STORAGE_PATH_FORMAT, StorageFile, StoragePath, storage_path_resolve


class Model(BaseModel):
    folder: StoragePath = Field(description="a path")
    data: StorageFile | None = Field(default=None, description="a file")


@pytest.fixture
def root(tmp_path, monkeypatch):
    storage = tmp_path / "storage"
    (storage / "dataset").mkdir(parents=True)
    (storage / "dataset" / "a.csv").write_text("x\n1\n")
    (tmp_path / "other_tenant").mkdir()
    (tmp_path / "other_tenant" / "secret.csv").write_text("s\n")
    monkeypatch.setenv("FLOWUI_STORAGE_ROOT", str(storage))
    monkeypatch.chdir(tmp_path)
    return storage


def test_it_resolves_relative_paths_and_the_runtimes_absolute_handover_under_the_storage_root(root):
    value = Model(folder="dataset", data="dataset/a.csv")
    assert value.folder == root / "dataset" and value.data == root / "dataset" / "a.csv"
    # Upstream files reach the operator as absolute paths in its own view of the storage root.
    assert Model(folder=str(root / "dataset" / "a.csv")).folder == root / "dataset" / "a.csv"
    assert Model(folder="new/out.csv").folder == root / "new" / "out.csv"  # StoragePath need not exist


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "must not be empty"),
        ("../other_tenant/secret.csv", "must not contain '..'"),
        ("dataset/../../other_tenant/secret.csv", "must not contain '..'"),
        ("/etc/passwd", "is outside the storage folder"),
        ("dataset/a\x00.csv", "contains a NUL byte"),
        ("escape/secret.csv", "outside the storage folder (through a symlink)"),
        (42, "must be text"),
    ],
)
def test_it_refuses_paths_that_leave_the_storage_root_with_a_message_naming_them(root, value, message):
    (root / "escape").symlink_to(root.parent / "other_tenant")
    with pytest.raises(ValidationError) as caught:
        Model(folder=value)
    assert message in str(caught.value)
    if isinstance(value, str) and value:
        assert repr(value) in str(caught.value)  # the message names the refused value


def test_it_requires_an_existing_file_for_storage_file(root):
    with pytest.raises(ValidationError, match="no such file in storage: dataset/missing.csv"):
        Model(folder="dataset", data="dataset/missing.csv")
    with pytest.raises(ValidationError, match="no such file in storage: dataset"):
        Model(folder="dataset", data="dataset")


def test_it_marks_the_json_schema_for_the_editors_dataset_picker(root):
    schema = Model.model_json_schema()["properties"]
    assert schema["folder"]["format"] == STORAGE_PATH_FORMAT == "flowui-storage-path"
    assert schema["folder"]["type"] == "string" and schema["folder"]["description"] == "a path"
    assert {"type": "string", "minLength": 1, "format": "flowui-storage-path"} in schema["data"]["anyOf"]


def test_it_falls_back_to_the_working_directory_without_a_storage_root(tmp_path, monkeypatch):
    monkeypatch.delenv("FLOWUI_STORAGE_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    assert storage_path_resolve("a/b.csv") == tmp_path.resolve() / "a" / "b.csv"
    with pytest.raises(ValueError, match="outside the storage folder"):
        storage_path_resolve(os.path.dirname(str(tmp_path)))
