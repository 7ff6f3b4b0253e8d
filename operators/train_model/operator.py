"""Train and evaluate a small scikit-learn model (linear/logistic regression or random forest) on a CSV."""

import json
import math
import os
from pathlib import Path

import joblib
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from model import InputModel, OutputModel


def operator_function(input_model: InputModel) -> OutputModel:
    frame = pd.read_csv(input_model.dataset_path)
    target = input_model.target_column
    features = input_model.feature_columns or [column for column in frame.columns if column != target]
    missing = [name for name in [target, *features] if name not in frame.columns]
    if missing:
        raise ValueError(
            f"unknown column(s) {', '.join(missing)}; the dataset has: {', '.join(map(str, frame.columns))}"
        )
    if target in features:
        raise ValueError(f"the target column {target!r} cannot also be a feature")
    frame = frame.dropna(subset=[target])
    if len(frame) < 4:
        raise ValueError(f"need at least 4 rows with a target value, got {len(frame)}")

    task = input_model.task if input_model.task != "auto" else _guess_task(frame[target])
    x, y = frame[features], frame[target]
    stratify = y if task == "classification" and y.value_counts().min() >= 2 else None
    try:
        x_train, x_test, y_train, y_test = train_test_split(
            x, y, test_size=input_model.test_size, random_state=input_model.random_state, stratify=stratify
        )
    except ValueError:  # too few rows per class for a stratified split
        x_train, x_test, y_train, y_test = train_test_split(
            x, y, test_size=input_model.test_size, random_state=input_model.random_state
        )
    if task == "classification" and y_train.nunique() < 2:
        raise ValueError(f"classification needs at least 2 classes in the training rows of {target!r}")

    pipeline = Pipeline([("prepare", _preprocessor(x)), ("model", _estimator(task, input_model))])
    pipeline.fit(x_train, y_train)
    predicted = pipeline.predict(x_test)
    if task == "classification":
        metrics = {
            "accuracy": float(accuracy_score(y_test, predicted)),
            "f1_macro": float(f1_score(y_test, predicted, average="macro")),
        }
    else:
        metrics = {
            "r2": float(r2_score(y_test, predicted)) if len(y_test) > 1 else math.nan,
            "mae": float(mean_absolute_error(y_test, predicted)),
            "rmse": float(math.sqrt(mean_squared_error(y_test, predicted))),
        }
    metrics = {name: round(value, 6) for name, value in metrics.items() if not math.isnan(value)}
    feature_names = [str(name) for name in pipeline.named_steps["prepare"].get_feature_names_out()]

    run_dir = Path(os.environ.get("FLOWUI_RUN_DIR") or os.getcwd())
    model_path, metrics_path = run_dir / "model.joblib", run_dir / "metrics.json"
    joblib.dump(pipeline, model_path)
    metrics_path.write_text(
        json.dumps(
            {
                "task": task,
                "algorithm": input_model.algorithm,
                "target": target,
                "features": features,
                "feature_names": feature_names,
                "metrics": metrics,
                "train_rows": len(x_train),
                "test_rows": len(x_test),
            },
            indent=2,
        )
    )
    return OutputModel(
        model_path=model_path.resolve(),
        metrics_path=metrics_path.resolve(),
        task=task,
        metrics=metrics,
        train_rows=len(x_train),
        test_rows=len(x_test),
        feature_names=feature_names,
    )


def _guess_task(target: pd.Series) -> str:
    if not pd.api.types.is_numeric_dtype(target) or pd.api.types.is_bool_dtype(target):
        return "classification"
    whole = target.dropna()
    if pd.api.types.is_integer_dtype(whole) or (whole % 1 == 0).all():
        return "classification" if whole.nunique() <= 10 else "regression"
    return "regression"


def _preprocessor(x: pd.DataFrame) -> ColumnTransformer:
    numeric = [column for column in x.columns if pd.api.types.is_numeric_dtype(x[column])]
    categorical = [column for column in x.columns if column not in numeric]
    return ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore", max_categories=50)
                ),
                categorical,
            ),
        ]
    )


def _estimator(task: str, input_model: InputModel):
    if task == "classification":
        if input_model.algorithm == "linear":
            return LogisticRegression(max_iter=1000)
        return RandomForestClassifier(n_estimators=input_model.n_estimators, random_state=input_model.random_state)
    if input_model.algorithm == "linear":
        return LinearRegression()
    return RandomForestRegressor(n_estimators=input_model.n_estimators, random_state=input_model.random_state)
