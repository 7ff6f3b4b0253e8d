"""Render a line/bar/scatter chart or histogram of a CSV as PNG and as a self-contained HTML page."""

import base64
import html
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display in a worker or a container

import matplotlib.pyplot as plt  # noqa: E402 - after choosing the backend
import pandas as pd  # noqa: E402

from model import InputModel, OutputModel  # noqa: E402

DPI = 100
MAX_BARS = 200


def operator_function(input_model: InputModel) -> OutputModel:
    frame = pd.read_csv(input_model.dataset_path)
    wanted = list(input_model.y_columns) + ([input_model.x_column] if input_model.x_column else [])
    missing = [name for name in wanted if name not in frame.columns]
    if missing:
        raise ValueError(
            f"unknown column(s) {', '.join(missing)}; the dataset has: {', '.join(map(str, frame.columns))}"
        )
    if input_model.chart_type == "bar" and len(frame) > MAX_BARS:
        raise ValueError(
            f"a bar chart of {len(frame)} rows is unreadable (at most {MAX_BARS}); aggregate first "
            "(e.g. with group_by_stats) or use a line chart"
        )
    not_numeric = [name for name in input_model.y_columns if not pd.api.types.is_numeric_dtype(frame[name])]
    if not_numeric:
        raise ValueError(f"y column(s) must be numeric: {', '.join(not_numeric)}")

    figure, axes = plt.subplots(figsize=(input_model.width_px / DPI, input_model.height_px / DPI), dpi=DPI)
    try:
        _draw(axes, frame, input_model)
        if input_model.title:
            axes.set_title(input_model.title)
        figure.tight_layout()
        run_dir = Path(os.environ.get("FLOWUI_RUN_DIR") or os.getcwd())
        png_path = run_dir / f"{input_model.output_name}.png"
        figure.savefig(png_path, format="png")
    finally:
        plt.close(figure)

    html_path = run_dir / f"{input_model.output_name}.html"
    html_path.write_text(_page(png_path.read_bytes(), frame, input_model), encoding="utf-8")
    return OutputModel(png_path=png_path.resolve(), html_path=html_path.resolve(), points=len(frame))


def _draw(axes, frame: pd.DataFrame, input_model: InputModel) -> None:
    x_column = input_model.x_column
    x = frame[x_column] if x_column else pd.Series(range(len(frame)))
    for column in input_model.y_columns:
        y = frame[column]
        if input_model.chart_type == "line":
            axes.plot(x, y, label=column)
        elif input_model.chart_type == "scatter":
            axes.scatter(x, y, label=column, s=12)
        elif input_model.chart_type == "histogram":
            axes.hist(y.dropna(), bins=input_model.bins, alpha=0.6, label=column)
    if input_model.chart_type == "bar":
        width = 0.8 / len(input_model.y_columns)
        positions = range(len(frame))
        for index, column in enumerate(input_model.y_columns):
            axes.bar([p + index * width for p in positions], frame[column], width=width, label=column)
        axes.set_xticks([p + 0.4 - width / 2 for p in positions], [str(v) for v in x], rotation=45, ha="right")
    if input_model.chart_type == "histogram":
        axes.set_xlabel(", ".join(input_model.y_columns))
        axes.set_ylabel("count")
    else:
        axes.set_xlabel(x_column or "row")
    if len(input_model.y_columns) > 1 or input_model.chart_type != "histogram":
        axes.legend()
    axes.grid(alpha=0.3)


def _page(png: bytes, frame: pd.DataFrame, input_model: InputModel) -> str:
    title = html.escape(input_model.title or f"{input_model.chart_type} chart")
    image = base64.b64encode(png).decode("ascii")
    shown = frame.head(input_model.table_rows)
    table = ""
    if input_model.table_rows:
        header = "".join(f"<th>{html.escape(str(column))}</th>" for column in shown.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(value))}</td>" for value in row) + "</tr>"
            for row in shown.itertuples(index=False)
        )
        note = f"<p>First {len(shown)} of {len(frame)} rows.</p>" if len(frame) > len(shown) else ""
        table = f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>{note}"
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>body{{font-family:sans-serif;margin:1rem}}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
        "img{max-width:100%}</style></head><body>"
        f'<h1>{title}</h1><img alt="{title}" src="data:image/png;base64,{image}">{table}</body></html>\n'
    )
