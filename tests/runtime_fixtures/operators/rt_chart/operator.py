from pathlib import Path

from model import InputModel, OutputModel


def operator_function(input_model: InputModel) -> OutputModel:
    rows = Path(input_model.source_file).read_text().split()[1:]
    bars = "".join(f'<div style="width:{int(r) * 10}px">{r}</div>' for r in rows)
    Path("chart.html").write_text(f"<h1>{input_model.title}: {input_model.total}</h1>{bars}")
    return OutputModel(chart_file="chart.html", received_total=input_model.total)
