import pandas as pd
import pytest


@pytest.fixture
def tables(run_env):
    (run_env.storage / "orders.csv").write_text("order_id,customer_id,total\n1,10,5.0\n2,11,7.5\n3,99,1.0\n")
    (run_env.storage / "customers.csv").write_text("id,name,total\n10,ann,100\n11,bob,200\n12,cid,300\n")
    return {"left_path": "orders.csv", "right_path": "customers.csv"}


def run(module, **values):
    return module.operator_function(module.InputModel(**values))


def test_it_joins_on_differently_named_keys_and_counts_unmatched(operator_module, tables):
    out = run(operator_module, **tables, left_on=["customer_id"], right_on=["id"])
    assert (out.row_count, out.left_only, out.right_only) == (2, 1, 1)
    assert out.column_names == ["order_id", "customer_id", "total_left", "id", "name", "total_right"]
    rows = pd.read_csv(out.dataset_path)
    assert rows[["order_id", "name"]].to_dict("records") == [
        {"order_id": 1, "name": "ann"},
        {"order_id": 2, "name": "bob"},
    ]


def test_it_keeps_unmatched_rows_for_left_and_outer_joins(operator_module, tables, run_env):
    left = run(operator_module, **tables, left_on=["customer_id"], right_on=["id"], how="left", output_name="l.csv")
    assert left.row_count == 3
    outer = run(operator_module, **tables, left_on=["customer_id"], right_on=["id"], how="outer", output_name="o.csv")
    assert outer.row_count == 4
    (run_env.storage / "extra.csv").write_text("customer_id,tier\n10,gold\n")
    same = run(operator_module, left_path="orders.csv", right_path="extra.csv", on=["customer_id"])
    assert same.row_count == 1 and same.column_names == ["order_id", "customer_id", "total", "tier"]


def test_it_names_missing_key_columns(operator_module, tables):
    with pytest.raises(ValueError, match="right dataset has no column.*customer_id.*it has: id, name, total"):
        run(operator_module, **tables, on=["customer_id"])
    with pytest.raises(ValueError, match="give the key columns"):
        run(operator_module, **tables)
