import pandas as pd
import pytest

CSV = "name,city,age,score\nann,Paris,34,7.5\nbob,Berlin,19,\ncid,Paris,51,9.0\ndee,Rome,27,4.0\n"


@pytest.fixture
def people(run_env):
    (run_env.storage / "people.csv").write_text(CSV)
    return "people.csv"


def run(module, **values):
    return module.operator_function(module.InputModel(**values))


def test_it_keeps_rows_meeting_all_conditions(operator_module, people):
    out = run(
        operator_module,
        dataset_path=people,
        conditions=[{"column": "city", "op": "==", "value": "Paris"}, {"column": "age", "op": ">", "value": "40"}],
        columns=["name", "age"],
    )
    assert (out.rows_in, out.rows_out, out.column_names) == (4, 1, ["name", "age"])
    assert pd.read_csv(out.dataset_path).to_dict("records") == [{"name": "cid", "age": 51}]


def test_it_combines_with_any_and_supports_lists_text_and_nulls(operator_module, people):
    names = lambda out: list(pd.read_csv(out.dataset_path)["name"])  # noqa: E731
    out = run(
        operator_module,
        dataset_path=people,
        combine="any",
        conditions=[{"column": "city", "op": "in", "value": ["Rome"]}, {"column": "age", "op": "<", "value": 20}],
    )
    assert names(out) == ["bob", "dee"]
    assert names(run(operator_module, dataset_path=people, conditions=[{"column": "score", "op": "is_null"}])) == [
        "bob"
    ]
    assert names(
        run(operator_module, dataset_path=people, conditions=[{"column": "city", "op": "contains", "value": "er"}])
    ) == ["bob"]
    assert names(
        run(
            operator_module,
            dataset_path=people,
            conditions=[{"column": "name", "op": "not_in", "value": ["ann", "bob"]}],
        )
    ) == ["cid", "dee"]
    assert run(operator_module, dataset_path=people).rows_out == 4


def test_it_names_unknown_columns_and_bad_values(operator_module, people):
    with pytest.raises(ValueError, match="unknown column.*town.*has: name, city, age, score"):
        run(operator_module, dataset_path=people, conditions=[{"column": "town", "value": "x"}])
    with pytest.raises(ValueError, match="numeric; 'old' is not a number"):
        run(operator_module, dataset_path=people, conditions=[{"column": "age", "op": ">", "value": "old"}])
    with pytest.raises(ValueError, match="no such file"):
        run(operator_module, dataset_path="nope.csv")
    with pytest.raises(ValueError):
        operator_module.InputModel(dataset_path=people, conditions=[{"column": "age", "op": "__import__"}])
