"""The monthly satisfaction chart as inline SVG: no scripts, no third-party code, fits the
dashboard's strict CSP. One bar per month (mean satisfaction, 1-5), the complaint rate as a
line, labels from the catalogs in the reader's locale."""

from __future__ import annotations

from html import escape
from typing import Any

from careloop.i18n import Translator

W, H, PAD = 640, 260, 40


def satisfaction_svg(rows: list[dict[str, Any]], locale: str) -> str:
    """``rows`` from :func:`alerts.satisfaction.monthly` (one site or summed by month)."""
    t = Translator(locale)
    months = sorted({r["month"] for r in rows})
    by_month: dict[str, list[dict[str, Any]]] = {m: [] for m in months}
    for r in rows:
        by_month[r["month"]].append(r)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" '
        f'aria-label="{escape(t("report.satisfaction_title"))}">',
        f'<text x="{PAD}" y="20" font-size="14">{escape(t("report.satisfaction_title"))}</text>',
        f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - 10}" y2="{H - PAD}" stroke="#888"/>',
    ]
    if not months:
        parts.append(f'<text x="{PAD}" y="{H // 2}">{escape(t("report.no_data"))}</text></svg>')
        return "".join(parts)
    slot = (W - PAD - 10) / len(months)
    plot_h = H - 2 * PAD
    line: list[str] = []
    for i, month in enumerate(months):
        rs = by_month[month]
        scores = sum(r["ratings"] for r in rs)
        mean = sum((r["satisfaction"] or 0) * r["ratings"] for r in rs) / scores if scores else None
        needs = sum(r["needs"] for r in rs)
        rate = sum(r["complaints"] for r in rs) / needs if needs else 0.0
        x = PAD + i * slot
        if mean is not None:
            h = plot_h * mean / 5
            parts.append(
                f'<rect x="{x + slot * 0.2:.1f}" y="{H - PAD - h:.1f}" width="{slot * 0.6:.1f}" '
                f'height="{h:.1f}" fill="#4a8"><title>{escape(month)}: '
                f"{escape(t('report.satisfaction_value', score=f'{mean:.1f}', n=scores))}"
                "</title></rect>"
            )
        line.append(f"{x + slot / 2:.1f},{H - PAD - plot_h * min(rate, 1.0):.1f}")
        parts.append(
            f'<text x="{x + slot / 2:.1f}" y="{H - PAD + 16}" font-size="11" '
            f'text-anchor="middle">{escape(month)}</text>'
        )
    parts.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="#c44"/>')
    parts.append(
        f'<text x="{PAD}" y="{H - 6}" font-size="11">{escape(t("report.satisfaction_legend"))}'
        "</text></svg>"
    )
    return "".join(parts)
