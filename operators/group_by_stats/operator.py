"""Group a CSV by columns and compute statistics per group (count, sum, mean, median, min, max, std, nunique)."""

import os
from pathlib import Path

import pandas as pd

from model import InputModel, OutputModel

NUMERIC_FUNCS = {"sum", "mean", "median", "std"}


def operator_function(input_model: InputModel) -> OutputModel:
    frame = pd.read_csv(input_model.dataset_path)
    aggregations = input_model.aggregations
    wanted = input_model.group_by + [aggregation.column for aggregation in aggregations]
    missing = [name for name in dict.fromkeys(wanted) if name not in frame.columns]
    if missing:
        raise ValueError(
            f"unknown column(s) {', '.join(missing)}; the dataset has: {', '.join(map(str, frame.columns))}"
        )
    for aggregation in aggregations:
        if aggregation.func in NUMERIC_FUNCS and not pd.api.types.is_numeric_dtype(frame[aggregation.column]):
            raise ValueError(f"{aggregation.func} needs a numeric column; {aggregation.column!r} is not numeric")

    named = {
        (aggregation.name or f"{aggregation.column}_{aggregation.func}"): (aggregation.column, aggregation.func)
        for aggregation in aggregations
    }
    if input_model.group_by:
        grouped = frame.groupby(input_model.group_by, dropna=False, sort=True)
        result = grouped.agg(**named).reset_index() if named else grouped.size().reset_index(name="count")
    else:
        result = (
            pd.DataFrame({name: [frame[column].agg(func)] for name, (column, func) in named.items()})
            if named
            else pd.DataFrame({"count": [len(frame)]})
        )
    if input_model.sort_by:
        if input_model.sort_by not in result.columns:
            raise ValueError(f"cannot sort by {input_model.sort_by!r}; result columns: {', '.join(result.columns)}")
        result = result.sort_values(input_model.sort_by, ascending=not input_model.descending, kind="stable")
    target = Path(os.environ.get("FLOWUI_RUN_DIR") or os.getcwd()) / input_model.output_name
    result.to_csv(target, index=False)
    return OutputModel(
        dataset_path=target.resolve(), group_count=len(result), column_names=[str(c) for c in result.columns]
    )
