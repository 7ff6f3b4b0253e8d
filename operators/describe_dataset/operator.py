"""Profile a CSV: per column its type, missing values, distinct values, numeric statistics, frequent values."""

import math
import os
from pathlib import Path

import pandas as pd

from model import ColumnProfile, InputModel, OutputModel


def operator_function(input_model: InputModel) -> OutputModel:
    frame = pd.read_csv(input_model.dataset_path)
    profiles = [_profile(str(name), frame[name], input_model.top_values) for name in frame.columns]
    target = Path(os.environ.get("FLOWUI_RUN_DIR") or os.getcwd()) / input_model.output_name
    rows = [profile.model_dump() | {"top": " | ".join(profile.top)} for profile in profiles]
    pd.DataFrame(rows, columns=list(ColumnProfile.model_fields)).to_csv(target, index=False)
    return OutputModel(
        profile_path=target.resolve(), row_count=len(frame), column_count=len(frame.columns), columns=profiles
    )


def _profile(name: str, series: pd.Series, top_values: int) -> ColumnProfile:
    if pd.api.types.is_bool_dtype(series):
        dtype = "boolean"
    elif pd.api.types.is_integer_dtype(series):
        dtype = "integer"
    elif pd.api.types.is_numeric_dtype(series):
        dtype = "float"
    else:
        dtype = "text"
    profile = ColumnProfile(
        name=name,
        dtype=dtype,
        non_null=int(series.notna().sum()),
        nulls=int(series.isna().sum()),
        distinct=int(series.nunique(dropna=True)),
    )
    if dtype in ("integer", "float") and profile.non_null:
        profile.mean, profile.std = _number(series.mean()), _number(series.std())
        profile.min, profile.max = _number(series.min()), _number(series.max())
    elif top_values:
        profile.top = [str(value) for value in series.dropna().value_counts().head(top_values).index]
    return profile


def _number(value) -> float | None:
    value = float(value)
    return None if math.isnan(value) else round(value, 6)
