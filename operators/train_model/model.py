from pathlib import Path
from typing import Literal

from flowui_runtime.types import StorageFile
from pydantic import BaseModel, Field


class InputModel(BaseModel):
    dataset_path: StorageFile = Field(description="Training data as CSV: a path in the tenant storage.")
    target_column: str = Field(min_length=1, description="Column to predict.")
    feature_columns: list[str] = Field(
        default_factory=list, description="Columns used as features (empty: every other column)."
    )
    task: Literal["auto", "classification", "regression"] = Field(
        default="auto",
        description="'auto': classification when the target is text/boolean or has at most 10 distinct integers.",
    )
    algorithm: Literal["linear", "random_forest"] = Field(
        default="random_forest",
        description="'linear': logistic or linear regression; 'random_forest': a random forest.",
    )
    test_size: float = Field(default=0.25, gt=0, lt=1, description="Share of rows held out for evaluation.")
    n_estimators: int = Field(default=100, ge=1, le=2000, description="Trees in a random forest.")
    random_state: int = Field(default=42, description="Seed for the split and the model, for repeatable runs.")


class OutputModel(BaseModel):
    model_path: Path = Field(description="The fitted scikit-learn pipeline (joblib file).")
    metrics_path: Path = Field(description="Metrics, features and settings as JSON.")
    task: Literal["classification", "regression"] = Field(description="The task that was trained.")
    metrics: dict[str, float] = Field(
        description="Test-set metrics: accuracy, f1_macro (classification) or r2, mae, rmse (regression)."
    )
    train_rows: int = Field(description="Rows used for fitting.")
    test_rows: int = Field(description="Rows used for evaluation.")
    feature_names: list[str] = Field(description="Model inputs after one-hot encoding of text columns.")
