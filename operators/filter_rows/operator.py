"""Keep the rows of a CSV that meet structured conditions. Conditions are data ({column, op, value}),
never evaluated code, so a workflow author cannot run anything through them."""

import os
from pathlib import Path

import pandas as pd

from model import Condition, InputModel, OutputModel


def operator_function(input_model: InputModel) -> OutputModel:
    frame = pd.read_csv(input_model.dataset_path)
    _require_columns(frame, [condition.column for condition in input_model.conditions] + input_model.columns)
    masks = [_mask(frame, condition) for condition in input_model.conditions]
    if masks:
        combined = masks[0]
        for mask in masks[1:]:
            combined = (combined & mask) if input_model.combine == "all" else (combined | mask)
        result = frame[combined.fillna(False).astype(bool)]
    else:
        result = frame
    if input_model.columns:
        result = result[input_model.columns]
    target = Path(os.environ.get("FLOWUI_RUN_DIR") or os.getcwd()) / input_model.output_name
    result.to_csv(target, index=False)
    return OutputModel(
        dataset_path=target.resolve(),
        rows_in=len(frame),
        rows_out=len(result),
        column_names=[str(column) for column in result.columns],
    )


def _require_columns(frame: pd.DataFrame, names: list[str]) -> None:
    missing = [name for name in dict.fromkeys(names) if name not in frame.columns]
    if missing:
        raise ValueError(
            f"unknown column(s) {', '.join(missing)}; the dataset has: {', '.join(map(str, frame.columns))}"
        )


def _mask(frame: pd.DataFrame, condition: Condition) -> pd.Series:
    series = frame[condition.column]
    op, value = condition.op, condition.value
    if op == "is_null":
        return series.isna()
    if op == "not_null":
        return series.notna()
    if op in ("in", "not_in"):
        values = value if isinstance(value, list) else [value]
        found = series.isin([_coerce(series, item, condition) for item in values])
        return found if op == "in" else ~found
    if op in ("contains", "startswith", "endswith"):
        text = series.astype("string")
        needle = "" if value is None else str(value)
        if op == "contains":
            return text.str.contains(needle, regex=False)
        return getattr(text.str, op)(needle)
    value = _coerce(series, value, condition)
    try:
        return {
            "==": series.eq,
            "!=": series.ne,
            ">": series.gt,
            ">=": series.ge,
            "<": series.lt,
            "<=": series.le,
        }[op](value)
    except TypeError:
        raise ValueError(f"column {condition.column!r} cannot be compared with {value!r} using {op}") from None


def _coerce(series: pd.Series, value, condition: Condition):
    """Form values arrive as text: compare a numeric column with a number."""
    if isinstance(value, str) and pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"column {condition.column!r} is numeric; {value!r} is not a number") from None
    return value
