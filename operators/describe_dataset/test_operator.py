import pandas as pd
import pytest


def test_it_profiles_each_column(operator_module, run_env):
    (run_env.storage / "d.csv").write_text(
        "city,temp,rainy,count\nParis,10.5,true,1\nRome,,false,2\nParis,20.5,true,3\n"
    )
    out = operator_module.operator_function(operator_module.InputModel(dataset_path="d.csv", top_values=1))
    assert (out.row_count, out.column_count) == (3, 4)
    city, temp, rainy, count = out.columns
    assert (city.dtype, city.distinct, city.top, city.mean) == ("text", 2, ["Paris"], None)
    assert (temp.dtype, temp.nulls, temp.mean, temp.min, temp.max) == ("float", 1, 15.5, 10.5, 20.5)
    assert rainy.dtype == "boolean" and rainy.distinct == 2
    assert (count.dtype, count.mean, count.std) == ("integer", 2.0, 1.0)
    profile = pd.read_csv(out.profile_path)
    assert profile["name"].tolist() == ["city", "temp", "rainy", "count"]
    assert profile.loc[0, "top"] == "Paris"


def test_it_reports_a_missing_dataset(operator_module, run_env):
    with pytest.raises(ValueError, match="no such file in storage: none.csv"):
        operator_module.operator_function(operator_module.InputModel(dataset_path="none.csv"))
