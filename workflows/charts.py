"""Geometry of the run pages' inline SVG pictures (no JavaScript library): the workflow graph coloured by
task state, a bar chart of a workflow's last run durations, and a Gantt of a run's tasks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from workflows.templatetags.flowui_time import duration_text

NODE_W, NODE_H = 180, 56


def graph_layout(spec: dict, states: dict[str, str]) -> dict:
    """Boxes and edge paths for an SVG of the workflow, from the saved node positions."""
    nodes = [n for n in spec.get("nodes", []) if isinstance(n, dict) and "id" in n]
    if not nodes:
        return {"nodes": [], "edges": [], "width": 200, "height": 80}
    xs = [float((n.get("position") or {}).get("x", 0)) for n in nodes]
    ys = [float((n.get("position") or {}).get("y", 0)) for n in nodes]
    min_x, min_y = min(xs), min(ys)
    boxes = {}
    for node, x, y in zip(nodes, xs, ys, strict=True):
        boxes[node["id"]] = {
            "id": node["id"],
            "label": (node.get("label") or node["id"])[:28],
            "x": round(x - min_x + 10),
            "y": round(y - min_y + 10),
            "state": states.get(node["id"]) or "none",
        }
    edges = []
    for edge in spec.get("edges", []):
        a, b = boxes.get(edge.get("source")), boxes.get(edge.get("target"))
        if a and b:
            x1, y1, x2, y2 = a["x"] + NODE_W, a["y"] + NODE_H / 2, b["x"], b["y"] + NODE_H / 2
            bend = max(30, abs(x2 - x1) / 2)
            edges.append(f"M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}")
    width = max(b["x"] for b in boxes.values()) + NODE_W + 20
    height = max(b["y"] for b in boxes.values()) + NODE_H + 20
    return {
        "nodes": list(boxes.values()),
        "edges": edges,
        "width": width,
        "height": height,
        "node_w": NODE_W,
        "node_h": NODE_H,
    }


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def durations_chart(runs: list[dict[str, Any]], *, width: int = 600, height: int = 120) -> dict[str, Any]:
    """Bars of the given runs' durations, oldest left; each bar carries its run id, state and a label."""
    measured = [r for r in runs if isinstance(r.get("duration_s"), (int, float))]
    measured = list(reversed(measured))  # runs come newest first
    if not measured:
        return {"bars": [], "width": width, "height": height, "max_label": ""}
    longest = max(r["duration_s"] for r in measured) or 1.0
    slot = width / len(measured)
    bar_w = max(2.0, min(40.0, slot * 0.7))
    plot_h = height - 20
    bars = []
    for index, run in enumerate(measured):
        h = max(2.0, plot_h * run["duration_s"] / longest)
        bars.append(
            {
                "x": round(index * slot + (slot - bar_w) / 2, 1),
                "y": round(10 + plot_h - h, 1),
                "w": round(bar_w, 1),
                "h": round(h, 1),
                "state": run.get("state") or "none",
                "run_id": run["run_id"],
                "label": f"{run['run_id']}: {duration_text(run['duration_s'])} ({run.get('state')})",
            }
        )
    return {"bars": bars, "width": width, "height": height, "max_label": duration_text(longest)}


def gantt(tasks: list[dict[str, Any]], *, width: int = 600, row_h: int = 22) -> dict[str, Any]:
    """One bar per task that started, from its start to its end (now while it runs), on a shared time axis."""
    now = datetime.now(UTC)
    spans = []
    for task in tasks:
        start = _moment(task.get("start_date"))
        if start is None:
            continue
        end = _moment(task.get("end_date")) or now
        spans.append((task, start, max(end, start)))
    if not spans:
        return {"rows": [], "width": width, "height": 0, "total_label": ""}
    first = min(s for _, s, _ in spans)
    last = max(e for _, _, e in spans)
    total = max((last - first).total_seconds(), 0.001)
    label_w = 150
    plot_w = width - label_w - 10
    rows = []
    for index, (task, start, end) in enumerate(spans):
        x = label_w + plot_w * (start - first).total_seconds() / total
        w = max(2.0, plot_w * (end - start).total_seconds() / total)
        rows.append(
            {
                "y": index * row_h + 4,
                "x": round(x, 1),
                "w": round(w, 1),
                "h": row_h - 8,
                "text_y": index * row_h + row_h - 7,
                "task_id": task["task_id"],
                "label": (task.get("label") or task["task_id"])[:22],
                "state": task.get("state") or "none",
                "title": f"{task['task_id']}: {duration_text(task.get('duration_s'))} ({task.get('state')})",
            }
        )
    return {"rows": rows, "width": width, "height": len(rows) * row_h + 8, "total_label": duration_text(total)}
