import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

CSV = "city,month,sales,rainy\nParis,2024-01,10.5,true\nRome,2024-01,7,false\nParis,2024-02,,true\n"


@pytest.fixture
def csv_file(run_env):
    (run_env.storage / "dataset").mkdir()
    (run_env.storage / "dataset" / "sales.csv").write_text(CSV)
    return "dataset/sales.csv"


def convert(operator_module, **values):
    return operator_module.operator_function(operator_module.InputModel(**values))


def test_it_converts_csv_to_parquet_keeping_types(operator_module, run_env, csv_file):
    out = convert(operator_module, dataset_path=csv_file, output_format="parquet")
    assert out.dataset_path == run_env.run_dir / "sales.parquet" and out.format == "parquet"
    assert (out.row_count, out.column_names) == (3, ["city", "month", "sales", "rainy"])
    table = pq.read_table(out.dataset_path)
    assert table.schema.field("sales").type == pa.float64() and table.schema.field("rainy").type == pa.bool_()
    assert table.column("sales").to_pylist() == [10.5, 7.0, None]


def test_it_converts_parquet_to_csv_and_jsonl(operator_module, run_env, csv_file):
    parquet = convert(operator_module, dataset_path=csv_file, output_name="step.parquet").dataset_path
    relative = parquet.relative_to(run_env.storage).as_posix()  # how a downstream node receives it
    out = convert(operator_module, dataset_path=relative, output_format="csv", output_name="back.csv")
    assert out.dataset_path.read_text().splitlines()[0] == '"city","month","sales","rainy"'
    assert out.row_count == 3
    lines = convert(operator_module, dataset_path=relative, output_format="jsonl").dataset_path.read_text()
    rows = [json.loads(line) for line in lines.splitlines()]
    assert rows[0] == {"city": "Paris", "month": "2024-01", "sales": 10.5, "rainy": True}
    assert rows[2]["sales"] is None


def test_it_converts_jsonl_to_csv_and_parquet(operator_module, run_env):
    (run_env.storage / "events.jsonl").write_text('{"id": 1, "tag": "a"}\n{"id": 2, "tag": "b"}\n')
    out = convert(operator_module, dataset_path="events.jsonl", output_format="csv", delimiter=";")
    assert out.dataset_path.name == "events.csv"
    assert out.dataset_path.read_text().splitlines() == ['"id";"tag"', '1;"a"', '2;"b"']
    out = convert(operator_module, dataset_path="events.jsonl", output_format="parquet", compression="zstd")
    assert pq.read_table(out.dataset_path).to_pylist() == [{"id": 1, "tag": "a"}, {"id": 2, "tag": "b"}]
    # csv -> jsonl, the last direction
    (run_env.storage / "t.tsv").write_text("a\tb\n1\tx\n")
    out = convert(operator_module, dataset_path="t.tsv", delimiter="\t", output_format="jsonl")
    assert json.loads(out.dataset_path.read_text()) == {"a": 1, "b": "x"}


def test_it_reports_bad_input_files_clearly(operator_module, run_env):
    (run_env.storage / "broken.parquet").write_text("this is not parquet")
    with pytest.raises(ValueError, match=r"broken.parquet cannot be read as parquet: "):
        convert(operator_module, dataset_path="broken.parquet", output_format="csv")
    (run_env.storage / "broken.jsonl").write_text('{"a": 1}\n{not json\n')
    with pytest.raises(ValueError, match=r"broken.jsonl cannot be read as jsonl: "):
        convert(operator_module, dataset_path="broken.jsonl")
    (run_env.storage / "ragged.csv").write_text("a,b\n1,2,3\n")
    with pytest.raises(
        ValueError, match=r"ragged.csv cannot be read as csv: CSV parse error: Expected 2 columns, got 3"
    ):
        convert(operator_module, dataset_path="ragged.csv")
    (run_env.storage / "data.xlsx").write_text("x")
    with pytest.raises(ValueError, match="cannot tell the format of 'data.xlsx'"):
        convert(operator_module, dataset_path="data.xlsx")
    with pytest.raises(ValueError, match="no such file in storage: missing.csv"):
        convert(operator_module, dataset_path="missing.csv")
    with pytest.raises(ValueError, match="outside the storage folder"):
        convert(operator_module, dataset_path="../../etc/passwd")
    (run_env.storage / "nested.jsonl").write_text('{"a": [1, 2]}\n')
    with pytest.raises(ValueError, match="columns a hold lists or records, which CSV cannot hold"):
        convert(operator_module, dataset_path="nested.jsonl", output_format="csv")
