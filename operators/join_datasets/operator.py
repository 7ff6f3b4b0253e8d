"""Join two CSV datasets on key columns (inner, left, right or outer) and report unmatched rows."""

import os
from pathlib import Path

import pandas as pd

from model import InputModel, OutputModel


def operator_function(input_model: InputModel) -> OutputModel:
    left = pd.read_csv(input_model.left_path)
    right = pd.read_csv(input_model.right_path)
    if input_model.on:
        left_keys = right_keys = input_model.on
    elif input_model.left_on and len(input_model.left_on) == len(input_model.right_on):
        left_keys, right_keys = input_model.left_on, input_model.right_on
    else:
        raise ValueError("give the key columns: 'on', or 'left_on' and 'right_on' with the same number of columns")
    _require(left, left_keys, "left")
    _require(right, right_keys, "right")

    merged = left.merge(
        right,
        how="outer",
        left_on=left_keys,
        right_on=right_keys,
        suffixes=(input_model.left_suffix, input_model.right_suffix),
        indicator="_flowui_side",
    )
    left_only = int((merged["_flowui_side"] == "left_only").sum())
    right_only = int((merged["_flowui_side"] == "right_only").sum())
    keep = {
        "inner": ["both"],
        "left": ["both", "left_only"],
        "right": ["both", "right_only"],
        "outer": ["both", "left_only", "right_only"],
    }[input_model.how]
    result = merged[merged["_flowui_side"].isin(keep)].drop(columns="_flowui_side")
    target = Path(os.environ.get("FLOWUI_RUN_DIR") or os.getcwd()) / input_model.output_name
    result.to_csv(target, index=False)
    return OutputModel(
        dataset_path=target.resolve(),
        row_count=len(result),
        column_names=[str(column) for column in result.columns],
        left_only=left_only,
        right_only=right_only,
    )


def _require(frame: pd.DataFrame, names: list[str], side: str) -> None:
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise ValueError(
            f"the {side} dataset has no column(s) {', '.join(missing)}; it has: {', '.join(map(str, frame.columns))}"
        )
