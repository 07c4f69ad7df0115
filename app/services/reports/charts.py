"""Plotly figures of the leaders' reports, built on the server from `analysis` results.

Each function returns a JSON-ready figure dict (data + layout) that the page
embeds as a JSON data block and static/reports.js hands to plotly.js. Texts
come translated through `_` (the caller's gettext), so no request is needed.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import plotly.graph_objects as go

COLOURS = {"above": "#1a7f37", "same": "#6e7781", "below": "#cf222e"}
RATING_COLOURS = ["#cf222e", "#fb8f44", "#d4d4d4", "#79c0ff", "#0969da"]
FONT = {"family": "system-ui, sans-serif", "size": 13}


def _finish(fig: go.Figure, height: int) -> dict:
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 30, "b": 40}, font=FONT,
                      plot_bgcolor="white", paper_bgcolor="white")
    # Axes make room for their labels (long names, rotated months) instead of cutting them off.
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return json.loads(fig.to_json())


def _err(records: list[dict]) -> tuple[list, list]:
    plus = [None if r["ci_high"] is None or r["estimate"] is None else r["ci_high"] - r["estimate"]
            for r in records]
    minus = [None if r["ci_low"] is None or r["estimate"] is None else r["estimate"] - r["ci_low"]
             for r in records]
    return plus, minus


def trend_figure(points: list[dict], _: Callable[[str], str], current: str | None = None,
                 min_n: int = 30) -> dict:
    """Overall index by month with its interval; each questionnaire version is its own line.

    A month whose estimate fails the reporting rules (fewer than `min_n` responses, or too
    noisy) is no point on the line: the line has a gap there and the month shows as a hollow
    marker with its interval, named in the legend. The current month (`current`, not complete)
    is drawn apart too, as a hollow diamond.
    """
    fig = go.Figure()
    for version in sorted({p["version"] for p in points}):
        series = [p for p in points if p["version"] == version]
        solid = [p for p in series if not p["suppressed"] and p["month"] != current]
        plus, minus = _err(solid)
        fig.add_trace(go.Scatter(
            x=[p["month"] for p in series],
            y=[None if p["suppressed"] or p["month"] == current else p["estimate"] for p in series],
            mode="lines+markers", connectgaps=False, line={"color": "#0969da"},
            name=_("Questionnaire version") + f" {version}"))
        fig.add_trace(go.Scatter(
            x=[p["month"] for p in solid], y=[p["estimate"] for p in solid], mode="markers",
            marker={"size": 1, "color": "#0969da"}, hoverinfo="skip", name="95% " + _("interval"),
            error_y={"type": "data", "array": plus, "arrayminus": minus, "color": "rgba(9,105,218,0.5)"}))
    _apart(fig, [p for p in points if p["suppressed"]], "small", "circle-open", "#57606a",
           wrap(_("Fewer than %(n)s responses or imprecise: not a point of the trend") % {"n": min_n}, 36))
    _apart(fig, [p for p in points if p["month"] == current and not p["suppressed"]], "current",
           "diamond-open", "#0969da", wrap(_("Current month, not complete"), 36))
    for p in points:
        if p["break"]:
            fig.add_vline(x=p["month"], line_dash="dash", line_color="#cf222e")
            fig.add_annotation(x=p["month"], y=1, yref="paper", text=_("New questionnaire version"),
                               showarrow=False, font={"color": "#cf222e"})
    fig.update_yaxes(title_text=_("Index (%)"), range=[0, 100])
    months = sorted({p["month"] for p in points})
    # Short horizontal ticks that fit a phone: the month, and the year under the first month of each year.
    ticks = [m[5:] + (f"<br>{m[:4]}" if i == 0 or m[:4] != months[i - 1][:4] else "")
             for i, m in enumerate(months)]
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=months, tickmode="array",
                     tickvals=months, ticktext=ticks, tickangle=0)
    fig.update_layout(legend={"orientation": "h", "y": -0.25})
    return _finish(fig, 360)


def _apart(fig: go.Figure, points: list[dict], meta: str, symbol: str, colour: str, name: str) -> None:
    """Months drawn apart from the line: hollow markers with their intervals."""
    if not points:
        return
    plus, minus = _err(points)
    fig.add_trace(go.Scatter(
        x=[p["month"] for p in points], y=[p["estimate"] for p in points], mode="markers", meta=meta,
        name=name, marker={"symbol": symbol, "size": 10, "color": colour},
        error_y={"type": "data", "array": plus, "arrayminus": minus, "color": colour}))


def elements_figure(records: list[dict], titles: dict[str, str], _: Callable[[str], str]) -> dict:
    """Element indices as horizontal bars with interval error bars."""
    plus, minus = _err(records)
    labels = [wrap(titles.get(r["code"], r["code"]), 24) for r in records]
    fig = go.Figure(go.Bar(
        y=labels, x=[r["estimate"] for r in records],
        orientation="h", marker_color="#0969da", name=_("Index (%)"),
        error_x={"type": "data", "array": plus, "arrayminus": minus, "color": "#24292f"}))
    fig.update_xaxes(title_text=_("Index (%)"), range=[0, 100])
    fig.update_yaxes(autorange="reversed", automargin=True)
    return _finish(fig, 80 + _band(labels) * max(len(records), 1))


def ranking_figure(rows: list[dict], average: dict | None, _: Callable[[str], str]) -> dict:
    """Units as horizontal bars with error bars, one trace per significance class."""
    fig = go.Figure()
    names = {"above": _("Significantly above average"), "same": _("Not different from average"),
             "below": _("Significantly below average")}
    order = [_bar_label(r) for r in rows]
    for kind in ("above", "same", "below"):
        part = [r for r in rows if r["significance"] == kind]
        records = [r["record"] for r in part]
        plus, minus = _err(records)
        fig.add_trace(go.Bar(
            y=[_bar_label(r) for r in part], x=[r["estimate"] for r in records],
            orientation="h", name=names[kind], marker_color=COLOURS[kind],
            marker_opacity=[0.45 if r["small"] else 1.0 for r in part],
            error_x={"type": "data", "array": plus, "arrayminus": minus, "color": "#24292f"},
            customdata=[r.get("url", "") for r in part]))
    if average and average["estimate"] is not None:
        fig.add_vline(x=average["estimate"], line_dash="dot", line_color="#24292f",
                      annotation_text=_("Scope average"), annotation_position="top left")
    # automargin: the axis makes room for the longest (wrapped) name instead of clipping it.
    fig.update_yaxes(categoryorder="array", categoryarray=order, autorange="reversed", automargin=True)
    fig.update_xaxes(title_text=_("Index (%)"), range=[0, 100])
    fig.update_layout(barmode="overlay", legend={"orientation": "h", "y": -0.1})
    return _finish(fig, 140 + _band(order) * max(len(rows), 1))


def _band(labels: list[str]) -> int:
    """Pixels per bar so that the longest wrapped label (14 px a line) fits its bar's band."""
    return 10 + 15 * max((label.count("<br>") + 1 for label in labels), default=1)


def _bar_label(row: dict, width: int = 26) -> str:
    """'rank. name' wrapped on words at `width` characters, so a long name is never cut off."""
    text = (f"{row['rank']}. " if row.get("rank") is not None else "") + row["name"] + (
        " *" if row["small"] else "")
    return wrap(text, width)


def wrap(text: str, width: int) -> str:
    """Text wrapped on words at `width` characters with <br> (plotly's line break)."""
    lines, current = [], ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    lines.append(current)
    return "<br>".join(lines)


def heatmap_figure(rows: list[dict], codes: list[str], titles: dict[str, str],
                   _: Callable[[str], str]) -> dict:
    """Units × elements, coloured by the element index."""
    z = [[(row["records"].get(code) or {}).get("estimate") for code in codes] for row in rows]
    text = [["" if v is None else f"{v:.0f}" for v in line] for line in z]
    names = [wrap(row["name"], 26) for row in rows]
    fig = go.Figure(go.Heatmap(
        z=z, x=[titles.get(c, c) for c in codes], y=names, text=text,
        texttemplate="%{text}", colorscale="RdYlGn", zmin=40, zmax=100,
        colorbar={"title": {"text": _("Index (%)")}, "orientation": "h", "y": -0.02, "yanchor": "top",
                  "thickness": 12}))
    # Element names upright above the columns (one line each, so narrow columns never overlap them),
    # the colour scale below: the map keeps the width of a phone.
    fig.update_xaxes(side="top", tickangle=-90)
    fig.update_yaxes(autorange="reversed", automargin=True)
    return _finish(fig, 160 + _band(names) * max(len(rows), 1))


def distribution_figure(rows: list[dict], labels: list[str], _: Callable[[str], str]) -> dict:
    """Share of each rating per criterion, as stacked horizontal bars."""
    fig = go.Figure()
    totals = [max(sum(r["counts"]), 1) for r in rows]
    for value, label in enumerate(labels):
        fig.add_trace(go.Bar(
            y=[r["code"] for r in rows],
            x=[100 * r["counts"][value] / n for r, n in zip(rows, totals, strict=True)],
            orientation="h", name=label, marker_color=RATING_COLOURS[value % len(RATING_COLOURS)]))
    fig.update_layout(barmode="stack", legend={"orientation": "h", "y": -0.1})
    fig.update_xaxes(title_text=_("Share of answers (%)"), range=[0, 100])
    fig.update_yaxes(autorange="reversed", automargin=True)
    return _finish(fig, 120 + 22 * max(len(rows), 1))
