import pandas as pd
import pytest

CSV = "region,product,amount,units\nnorth,a,10,1\nnorth,b,30,3\nsouth,a,5,1\nsouth,a,15,2\neast,b,100,10\n"


@pytest.fixture
def sales(run_env):
    (run_env.storage / "sales.csv").write_text(CSV)
    return "sales.csv"


def run(module, **values):
    return module.operator_function(module.InputModel(**values))


def test_it_computes_statistics_per_group_sorted(operator_module, sales):
    out = run(
        operator_module,
        dataset_path=sales,
        group_by=["region"],
        aggregations=[
            {"column": "amount", "func": "sum", "name": "total"},
            {"column": "units", "func": "mean"},
            {"column": "product", "func": "nunique"},
        ],
        sort_by="total",
        descending=True,
    )
    assert out.group_count == 3
    assert out.column_names == ["region", "total", "units_mean", "product_nunique"]
    assert pd.read_csv(out.dataset_path).to_dict("records") == [
        {"region": "east", "total": 100, "units_mean": 10.0, "product_nunique": 1},
        {"region": "north", "total": 40, "units_mean": 2.0, "product_nunique": 2},
        {"region": "south", "total": 20, "units_mean": 1.5, "product_nunique": 1},
    ]


def test_it_counts_rows_per_group_and_overall(operator_module, sales):
    out = run(operator_module, dataset_path=sales, group_by=["region", "product"])
    assert pd.read_csv(out.dataset_path)["count"].tolist() == [1, 1, 1, 2]
    overall = run(operator_module, dataset_path=sales, aggregations=[{"column": "amount", "func": "max"}])
    assert pd.read_csv(overall.dataset_path).to_dict("records") == [{"amount_max": 100}]


def test_it_explains_bad_requests(operator_module, sales):
    with pytest.raises(ValueError, match="unknown column.*city"):
        run(operator_module, dataset_path=sales, group_by=["city"])
    with pytest.raises(ValueError, match="mean needs a numeric column; 'product'"):
        run(operator_module, dataset_path=sales, group_by=["region"], aggregations=[{"column": "product"}])
    with pytest.raises(ValueError, match="cannot sort by 'nope'"):
        run(operator_module, dataset_path=sales, group_by=["region"], sort_by="nope")
