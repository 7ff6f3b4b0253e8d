from pathlib import Path
from typing import Literal

from flowui_runtime.types import StorageFile
from pydantic import BaseModel, Field


class InputModel(BaseModel):
    dataset_path: StorageFile = Field(description="CSV dataset to plot: a path in the tenant storage.")
    chart_type: Literal["line", "bar", "scatter", "histogram"] = Field(default="line", description="Kind of chart.")
    x_column: str = Field(
        default="", description="Column on the horizontal axis (ignored by histograms; empty: the row number)."
    )
    y_columns: list[str] = Field(
        min_length=1, description="Numeric column(s) plotted; a histogram shows the distribution of each."
    )
    title: str = Field(default="", max_length=200, description="Chart title (empty: none).")
    bins: int = Field(default=20, ge=1, le=500, description="Number of bars of a histogram.")
    width_px: int = Field(default=900, ge=200, le=4000, description="Image width in pixels.")
    height_px: int = Field(default=500, ge=150, le=4000, description="Image height in pixels.")
    table_rows: int = Field(default=20, ge=0, le=1000, description="Data rows shown under the chart in the HTML page.")
    output_name: str = Field(
        default="chart", pattern=r"^[A-Za-z0-9_-]+$", description="Base name of the .png and .html files written."
    )


class OutputModel(BaseModel):
    png_path: Path = Field(description="The chart as a PNG image.")
    html_path: Path = Field(description="A self-contained HTML page: the chart (embedded) and a data table.")
    points: int = Field(description="Rows plotted.")
