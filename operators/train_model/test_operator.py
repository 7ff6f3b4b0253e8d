import json
import random

import joblib
import pandas as pd
import pytest


@pytest.fixture
def data(run_env):
    rng = random.Random(7)
    rows = []
    for _ in range(200):
        size = rng.uniform(20, 200)
        district = rng.choice(["centre", "suburb"])
        price = 3.0 * size + (150 if district == "centre" else 0) + rng.gauss(0, 5)
        rows.append({"size": round(size, 1), "district": district, "price": round(price, 1), "expensive": price > 400})
    pd.DataFrame(rows).to_csv(run_env.storage / "houses.csv", index=False)
    return "houses.csv"


def run(module, **values):
    return module.operator_function(module.InputModel(**values))


def test_it_trains_a_regression_and_writes_model_and_metrics(operator_module, data):
    out = run(
        operator_module,
        dataset_path=data,
        target_column="price",
        feature_columns=["size", "district"],
        algorithm="linear",
    )
    assert out.task == "regression"
    assert out.metrics["r2"] > 0.99 and out.metrics["mae"] < 10
    assert (out.train_rows, out.test_rows) == (150, 50)
    assert "categorical__district_centre" in out.feature_names
    assert json.loads(out.metrics_path.read_text())["metrics"] == out.metrics
    pipeline = joblib.load(out.model_path)
    predicted = pipeline.predict(pd.DataFrame([{"size": 100.0, "district": "centre"}]))[0]
    assert predicted == pytest.approx(450, abs=15)


def test_it_detects_and_trains_a_classification(operator_module, data):
    out = run(operator_module, dataset_path=data, target_column="expensive", feature_columns=["size", "district"])
    assert out.task == "classification"
    assert out.metrics["accuracy"] > 0.9 and 0 < out.metrics["f1_macro"] <= 1


def test_it_rejects_unknown_or_degenerate_targets(operator_module, data, run_env):
    with pytest.raises(ValueError, match="unknown column.*cost"):
        run(operator_module, dataset_path=data, target_column="cost")
    with pytest.raises(ValueError, match="cannot also be a feature"):
        run(operator_module, dataset_path=data, target_column="price", feature_columns=["price"])
    (run_env.storage / "one_class.csv").write_text("x,y\n" + "".join(f"{i},a\n" for i in range(10)))
    with pytest.raises(ValueError, match="at least 2 classes"):
        run(operator_module, dataset_path="one_class.csv", target_column="y")
