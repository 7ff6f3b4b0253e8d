import json

import boto3
import pandas as pd
import pytest


def test_it_loads_a_csv_from_storage(operator_module, run_env):
    (run_env.storage / "dataset").mkdir()
    (run_env.storage / "dataset" / "sales.csv").write_text("region;amount\nnorth;10\nsouth;20\neast;5\n")
    out = operator_module.operator_function(
        operator_module.InputModel(source="dataset/sales.csv", delimiter=";", max_rows=2)
    )
    assert (out.row_count, out.column_count, out.column_names) == (2, 2, ["region", "amount"])
    assert out.dataset_path.parent == run_env.run_dir
    assert pd.read_csv(out.dataset_path).to_dict("records") == [
        {"region": "north", "amount": 10},
        {"region": "south", "amount": 20},
    ]


def test_it_loads_json_records_and_json_lines(operator_module, run_env):
    (run_env.storage / "a.json").write_text(json.dumps({"data": [{"id": 1, "user": {"name": "x"}}, {"id": 2}]}))
    (run_env.storage / "b.jsonl").write_text('{"id": 1}\n\n{"id": 2, "tag": "t"}\n')
    first = operator_module.operator_function(operator_module.InputModel(source="a.json", output_name="a.csv"))
    assert first.column_names == ["id", "user.name"] and first.row_count == 2
    second = operator_module.operator_function(operator_module.InputModel(source="b.jsonl", output_name="b.csv"))
    assert second.column_names == ["id", "tag"] and second.row_count == 2


def test_it_downloads_from_http(operator_module, run_env, http_root):
    folder, base_url = http_root
    (folder / "iris.csv").write_text("sepal,species\n5.1,setosa\n7.0,versicolor\n")
    out = operator_module.operator_function(operator_module.InputModel(source=f"{base_url}/iris.csv"))
    assert out.row_count == 2 and out.column_names == ["sepal", "species"]
    with pytest.raises(ValueError, match="HTTP 404"):
        operator_module.operator_function(operator_module.InputModel(source=f"{base_url}/missing.csv"))


def test_it_reads_from_s3(operator_module, run_env, s3_endpoint):
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="inbox")
    s3.put_object(Bucket="inbox", Key="daily/data.json", Body=b'[{"a": 1, "b": 2}, {"a": 3, "b": 4}]')
    out = operator_module.operator_function(operator_module.InputModel(source="s3://inbox/daily/data.json"))
    assert out.row_count == 2 and out.column_names == ["a", "b"]
    with pytest.raises(ValueError, match="NoSuchKey"):
        operator_module.operator_function(operator_module.InputModel(source="s3://inbox/nope.csv"))


def test_it_refuses_paths_outside_storage_and_bad_data(operator_module, run_env, tmp_path):
    (tmp_path / "secret.csv").write_text("a\n1\n")
    with pytest.raises(ValueError, match="outside the storage"):
        operator_module.operator_function(operator_module.InputModel(source=str(tmp_path / "secret.csv")))
    with pytest.raises(ValueError, match="outside the storage"):
        operator_module.operator_function(operator_module.InputModel(source="../../../../../secret.csv"))
    with pytest.raises(ValueError, match="no such file"):
        operator_module.operator_function(operator_module.InputModel(source="missing.csv"))
    (run_env.storage / "broken.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        operator_module.operator_function(operator_module.InputModel(source="broken.json"))
    with pytest.raises(ValueError, match="unsupported source"):
        operator_module.operator_function(operator_module.InputModel(source="ftp://host/x.csv"))
