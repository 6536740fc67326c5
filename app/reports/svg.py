"""Hand-made SVG charts (no plotting library, no fonts of its own): the week's hourly line
against the usual band, and a bar per day against the usual. Labels are numbers and the
locale's day names, passed in; the same SVG is inline in the HTML and drawn in the PDF."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from app.reports.figures import Band

W, H = 680, 150
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 8, 22
#: Hourly means further apart than this are not joined by the line (a gap in readings).
GAP_MS = 2 * 3_600_000


def _num(value: float) -> str:
    if value == int(value):
        return f"{value:.0f}"
    return f"{value:.0f}" if abs(value) >= 10 else f"{value:.1f}"


def _frame(days: Sequence[str], lo: float, hi: float) -> list[str]:
    """Axes: the y range at the left, a line and a label per day along the bottom."""
    width = (W - LEFT - RIGHT) / len(days)
    parts = [
        f'<text x="{LEFT - 4}" y="{TOP + 8}" text-anchor="end">{_num(hi)}</text>',
        f'<text x="{LEFT - 4}" y="{H - BOTTOM}" text-anchor="end">{_num(lo)}</text>',
        f'<line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - RIGHT}" y2="{H - BOTTOM}" '
        'stroke="#555" stroke-width="1"/>',
    ]
    for i, label in enumerate(days):
        x = LEFT + i * width
        parts.append(
            f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{H - BOTTOM}" '
            'stroke="#ddd" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{x + width / 2:.1f}" y="{H - 6}" text-anchor="middle">{escape(label)}</text>'
        )
    return parts


def _svg(parts: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" '
        f'height="{H}" role="img" aria-label="{escape(title)}" font-family="sans-serif" '
        'font-size="11" fill="#333">'
        f"<title>{escape(title)}</title>" + "".join(parts) + "</svg>"
    )


def line_chart(
    points: Sequence[tuple[int, float]],
    band: Band | None,
    start_ms: int,
    end_ms: int,
    days: Sequence[str],
    title: str,
) -> str:
    """The hourly line over the week, the usual band shaded behind it."""
    values = [v for _, v in points] + ([band.lo, band.hi] if band else [])
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.08 or 1.0
    lo, hi = lo - pad, hi + pad

    def x(ts: int) -> float:
        return LEFT + (ts - start_ms) / (end_ms - start_ms) * (W - LEFT - RIGHT)

    def y(v: float) -> float:
        return TOP + (hi - v) / (hi - lo) * (H - TOP - BOTTOM)

    parts = []
    if band:
        parts.append(
            f'<rect x="{LEFT}" y="{y(band.hi):.1f}" width="{W - LEFT - RIGHT}" '
            f'height="{y(band.lo) - y(band.hi):.1f}" fill="#cfe8d6"/>'
        )
        parts.append(
            f'<line x1="{LEFT}" y1="{y(band.mid):.1f}" x2="{W - RIGHT}" y2="{y(band.mid):.1f}" '
            'stroke="#7fb08e" stroke-width="1" stroke-dasharray="3 3"/>'
        )
    parts += _frame(days, lo, hi)
    path, last = [], None
    for ts, v in points:
        move = last is None or ts - last > GAP_MS
        path.append(f"{'M' if move else 'L'}{x(ts):.1f},{y(v):.1f}")
        last = ts
    parts.append(f'<path d="{" ".join(path)}" fill="none" stroke="#1f5f8b" stroke-width="1.5"/>')
    return _svg(parts, title)


def bar_chart(values: Sequence[float | None], usual: float | None, days: Sequence[str],
              title: str) -> str:  # fmt: skip
    """One bar per day (none where there was no reading), the usual as a dashed line."""
    known = [v for v in values if v is not None] + ([usual] if usual is not None else [])
    hi = max(known, default=1.0) * 1.1 or 1.0
    width = (W - LEFT - RIGHT) / len(days)

    def y(v: float) -> float:
        return TOP + (hi - v) / hi * (H - TOP - BOTTOM)

    parts = _frame(days, 0.0, hi)
    for i, v in enumerate(values):
        if v is not None:
            x = LEFT + i * width + width * 0.2
            parts.append(
                f'<rect x="{x:.1f}" y="{y(v):.1f}" width="{width * 0.6:.1f}" '
                f'height="{y(0) - y(v):.1f}" fill="#5b8fb9"/>'
            )
    if usual is not None:
        parts.append(
            f'<line x1="{LEFT}" y1="{y(usual):.1f}" x2="{W - RIGHT}" y2="{y(usual):.1f}" '
            'stroke="#c0392b" stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
    return _svg(parts, title)
