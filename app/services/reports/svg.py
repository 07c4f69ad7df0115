"""Small SVG charts drawn on the server: bars with intervals and a monthly line with its band.

Used by the questions page and the PDF report (WeasyPrint draws SVG, no
JavaScript). Every text is escaped; every chart has a title and a
description for screen readers, and the figures are also in a table beside it.
Estimates and bounds are percent points on a 0–100 axis.
"""

from __future__ import annotations

from markupsafe import Markup, escape

BLUE, GREY, RED, GREEN, INK = "#0969da", "#8c959f", "#cf222e", "#1a7f37", "#24292f"
FONT = "Report Sans, DejaVu Sans, Noto Sans, sans-serif"  # Report Sans: the PDF's embedded DejaVu Sans
LINE = 13  # px per text line


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _wrap(text: str, width: int) -> list[str]:
    """Words into lines of at most `width` characters (a longer word stands alone)."""
    lines: list[str] = []
    for word in str(text).split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def bar_chart(items: list[dict], title: str, width: int = 640, label_chars: int = 38,
              colours: dict[str, str] | None = None) -> Markup:
    """Horizontal bars 0–100 with their intervals, one per item, labels wrapped on the left.

    items: {label, estimate, ci_low, ci_high, small (hollow: below the reporting rules), tone}.
    """
    colours = colours or {}
    label_w = int(label_chars * 6.6)
    plot_x, plot_w = label_w + 8, width - label_w - 60
    rows, y = [], 22
    for item in items:
        lines = _wrap(item["label"], label_chars)
        height = max(len(lines) * LINE + 6, 20)
        rows.append((item, lines, y, height))
        y += height
    total = y + 18

    def x_of(v: float) -> float:
        return plot_x + plot_w * max(0.0, min(100.0, v)) / 100.0

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {total}" width="100%" '
           f'role="img" font-family="{FONT}" font-size="11"><title>{escape(title)}</title>']
    for tick in (0, 25, 50, 75, 100):
        x = x_of(tick)
        out.append(f'<line x1="{x:.1f}" y1="16" x2="{x:.1f}" y2="{y}" stroke="#d0d7de"/>'
                   f'<text x="{x:.1f}" y="12" text-anchor="middle" fill="{INK}">{tick}</text>')
    for item, lines, top, height in rows:
        for i, line in enumerate(lines):
            out.append(f'<text x="0" y="{top + 11 + i * LINE}" fill="{INK}">{escape(line)}</text>')
        estimate = item.get("estimate")
        if estimate is None:
            continue
        colour = colours.get(item.get("tone"), BLUE)
        mid, bar_h = top + height / 2, 10
        fill = "white" if item.get("small") else colour
        out.append(f'<rect x="{plot_x}" y="{mid - bar_h / 2:.1f}" width="{x_of(estimate) - plot_x:.1f}" '
                   f'height="{bar_h}" fill="{fill}" stroke="{colour}"/>')
        if item.get("ci_low") is not None and item.get("ci_high") is not None:
            lo, hi = x_of(item["ci_low"]), x_of(item["ci_high"])
            out.append(f'<path d="M{lo:.1f} {mid:.1f}H{hi:.1f}M{lo:.1f} {mid - 4:.1f}V{mid + 4:.1f}'
                       f'M{hi:.1f} {mid - 4:.1f}V{mid + 4:.1f}" stroke="{INK}" fill="none"/>')
        out.append(f'<text x="{width - 2}" y="{mid + 4:.1f}" text-anchor="end" fill="{INK}">'
                   f'{_fmt(estimate)}</text>')
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704  (every text in it went through escape())


def line_chart(points: list[dict], title: str, width: int = 640, height: int = 220) -> Markup:
    """Estimates by month (points: {label, estimate, ci_low, ci_high, small}) with a 95% band.

    A point below the reporting rules is drawn hollow and the line does not pass through it.
    """
    left, right, top, bottom = 36, 10, 10, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    count = max(len(points), 1)

    def x_of(i: int) -> float:
        return left + (plot_w * (i + 0.5) / count)

    def y_of(v: float) -> float:
        return top + plot_h * (1 - max(0.0, min(100.0, v)) / 100.0)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
           f'role="img" font-family="{FONT}" font-size="10"><title>{escape(title)}</title>']
    for tick in (0, 25, 50, 75, 100):
        y = y_of(tick)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#d0d7de"/>'
                   f'<text x="{left - 4}" y="{y + 3:.1f}" text-anchor="end" fill="{INK}">{tick}</text>')
    step = max(1, -(-count // 12))
    path: list[tuple[float, float] | None] = []
    for i, point in enumerate(points):
        if i % step == 0:
            out.append(f'<text x="{x_of(i):.1f}" y="{height - 18}" text-anchor="middle" fill="{INK}">'
                       f'{escape(point["label"])}</text>')
        path.append(_month_point(out, point, x_of(i), y_of))
    out += _segments(path)
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704  (every text in it went through escape())


def _month_point(out: list[str], point: dict, x: float, y_of) -> tuple[float, float] | None:
    """Draw one month's interval and point; where the line passes (None: it breaks here)."""
    if point.get("estimate") is None:
        return None
    if point.get("ci_low") is not None and point.get("ci_high") is not None:
        out.append(f'<line x1="{x:.1f}" y1="{y_of(point["ci_low"]):.1f}" x2="{x:.1f}" '
                   f'y2="{y_of(point["ci_high"]):.1f}" stroke="{GREY}" stroke-width="3"/>')
    y = y_of(point["estimate"])
    fill = "white" if point.get("small") else BLUE
    out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{fill}" stroke="{BLUE}"/>')
    return None if point.get("small") else (x, y)


def _segments(path: list) -> list[str]:
    """Line pieces through consecutive drawn points."""
    out, segment = [], []
    for point in [*path, None]:
        if point is not None:
            segment.append(point)
            continue
        if len(segment) > 1:
            d = "M" + "L".join(f"{px:.1f} {py:.1f}" for px, py in segment)
            out.append(f'<path d="{d}" stroke="{BLUE}" fill="none" stroke-width="1.5"/>')
        segment = []
    return out
