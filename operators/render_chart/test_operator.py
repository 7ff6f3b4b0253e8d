import base64
import re

import pytest

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def data(run_env):
    rows = "".join(f"{month},{10 + month},{month * month}\n" for month in range(1, 13))
    (run_env.storage / "monthly.csv").write_text("month,visits,<b>signups</b>\n" + rows)
    return "monthly.csv"


def run(module, **values):
    return module.operator_function(module.InputModel(**values))


@pytest.mark.parametrize("chart_type", ["line", "bar", "scatter", "histogram"])
def test_it_writes_a_png_and_an_html_page(operator_module, data, chart_type, run_env):
    out = run(
        operator_module,
        dataset_path=data,
        chart_type=chart_type,
        x_column="month",
        y_columns=["visits", "<b>signups</b>"],
        title="Visits & signups",
        width_px=400,
        height_px=300,
        table_rows=5,
        output_name=f"chart_{chart_type}",
    )
    png = out.png_path.read_bytes()
    assert png.startswith(PNG_MAGIC) and out.png_path.parent == run_env.run_dir
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (400, 300)
    page = out.html_path.read_text()
    assert "<title>Visits &amp; signups</title>" in page
    embedded = re.search(r'src="data:image/png;base64,([^"]+)"', page).group(1)
    assert base64.b64decode(embedded) == png
    assert "<th>&lt;b&gt;signups&lt;/b&gt;</th>" in page and "<b>signups</b>" not in page
    assert page.count("<tr>") == 6 and "First 5 of 12 rows." in page
    assert out.points == 12


def test_it_names_unknown_and_non_numeric_columns(operator_module, data, run_env):
    with pytest.raises(ValueError, match="unknown column.*day"):
        run(operator_module, dataset_path=data, x_column="day", y_columns=["visits"])
    (run_env.storage / "text.csv").write_text("name,value\na,x\n")
    with pytest.raises(ValueError, match="must be numeric: value"):
        run(operator_module, dataset_path="text.csv", y_columns=["value"])


def test_it_refuses_unreadable_bar_charts(operator_module, run_env):
    (run_env.storage / "long.csv").write_text("v\n" + "1\n" * 201)
    with pytest.raises(ValueError, match="bar chart of 201 rows is unreadable"):
        run(operator_module, dataset_path="long.csv", chart_type="bar", y_columns=["v"])
    assert run(operator_module, dataset_path="long.csv", chart_type="line", y_columns=["v"], table_rows=0).points == 201
