"""An SVG line chart of each measure over an episode, with its baseline and important-change band.

Written by hand (no plotting library) so it stays small, deterministic and accessible: the
picture has a title and a description, every point has a text label, and status is written
in words, never shown by colour alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from xml.sax.saxutils import escape, quoteattr

from backstory.outcomes.change import Trajectory
from backstory.outcomes.progress import Progress, fmt

WIDTH = 640
PANEL = 220
LEFT, RIGHT, TOP, BOTTOM = 72, 56, 56, 52
STATUS_WORDS = {
    "improved": "improved",
    "no_important_change": "no important change",
    "not_evaluable": "not evaluable (too low at the start to show an important improvement)",
    "worse": "worse",
}
"""Each status in words, for tables, prompts and text alternatives."""
SHORT_WORDS = {**STATUS_WORDS, "not_evaluable": "not evaluable"}
"""The same, short enough for a panel's title and a point's tooltip."""


def _f(x: float) -> str:
    return f"{x:.1f}"


def _status(t: Trajectory, words: dict[str, str] = STATUS_WORDS) -> str:
    return words[t.status] if t.status else "baseline only"


def _floor(t: Trajectory) -> str:
    floor = t.measure.improvement_evaluable_from
    assert floor is not None, "only a measure with a floor can have a baseline below it"
    return fmt(floor)


def describe(t: Trajectory) -> str:
    """One sentence saying what the panel shows (the panel's accessible description)."""
    m = t.measure
    first = f"{m.label} was {fmt(t.baseline.value)} on {t.baseline.on.isoformat()}"
    if not t.has_follow_up:
        return f"{first}; no later value yet."
    then = f"{first} and {fmt(t.latest.value)} on {t.latest.on.isoformat()}"
    rise = f"a rise of {fmt(t.important_amount)} would be important"
    if t.status == "not_evaluable":
        return (
            f"{then}: not evaluable (too low at the start to show an important improvement; "
            f"{rise})."
        )
    if not t.improvement_evaluable:
        floor = _floor(t)
        return f"{then}: {_status(t)} (from below {floor} a fall cannot be judged; {rise})."
    return (
        f"{then}: {_status(t)} "
        f"(an important change is {fmt(t.important_amount)} from the baseline)."
    )


def _panel(t: Trajectory, index: int, start: dt.date, days: int) -> list[str]:
    m = t.measure
    lo, hi = float(m.minimum), float(m.maximum)
    y0 = index * PANEL
    plot_h = PANEL - TOP - BOTTOM
    plot_w = WIDTH - LEFT - RIGHT

    def x(on: dt.date) -> float:
        return LEFT + plot_w * ((on - start).days / days) if days else LEFT + plot_w / 2

    def y(value: Decimal | float) -> float:
        v = min(max(float(value), lo), hi)
        return y0 + TOP + plot_h * (1 - (v - lo) / (hi - lo))

    base = t.baseline.value
    amount = t.important_amount
    title = (
        f'<text x="{LEFT}" y="{_f(y0 + 22)}" class="title">{escape(m.label)}, {escape(m.unit)}'
        f": {escape(_status(t, SHORT_WORDS))}</text>"
    )
    if t.improvement_evaluable:
        band_top, band_bottom = y(base + amount), y(base - amount)
        shading = [
            f'<text class="note" x="{LEFT}" y="{_f(y0 + 40)}">'
            f"dashed line: baseline {escape(fmt(base))}; shaded band: less than an important "
            f"change ({escape(fmt(amount))}) from it</text>",
            f'<rect class="band" x="{LEFT}" y="{_f(band_top)}" width="{plot_w}" '
            f'height="{_f(band_bottom - band_top)}"><title>no important change: within '
            f"{escape(fmt(amount))} of the baseline</title></rect>",
        ]
    else:
        # Below the floor only a rise can be judged: the band lies above the baseline, and
        # everything below it is marked as a region where a fall cannot be judged.
        floor = _floor(t)
        band_top, band_bottom = y(base + amount), y(base)
        shading = [
            f'<text class="note" x="{LEFT}" y="{_f(y0 + 40)}">'
            f"dashed line: baseline {escape(fmt(base))} (below {escape(floor)}: a fall cannot "
            f"be judged); band: less than {escape(fmt(amount))} above it</text>",
            f'<rect class="band" x="{LEFT}" y="{_f(band_top)}" width="{plot_w}" '
            f'height="{_f(band_bottom - band_top)}"><title>no important change: less than '
            f"{escape(fmt(amount))} above the baseline</title></rect>",
            f'<rect class="not-evaluable" x="{LEFT}" y="{_f(y(base))}" width="{plot_w}" '
            f'height="{_f(y(lo) - y(base))}"><title>not evaluable: from a baseline below '
            f"{escape(floor)} an important improvement cannot be judged</title></rect>",
        ]
    out = [
        f'<g id="panel-{m.id}" aria-label={quoteattr(describe(t))}>',
        title,
        *shading,
        f'<line class="baseline" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{_f(y(base))}" '
        f'y2="{_f(y(base))}"><title>baseline {escape(fmt(base))}</title></line>',
        f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{_f(y(hi))}" y2="{_f(y(lo))}"/>',
        f'<line class="axis" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{_f(y(lo))}" y2="{_f(y(lo))}"/>',
    ]
    for tick in (lo, (lo + hi) / 2, hi):
        label = f"{tick:g}"
        out.append(
            f'<text class="tick" x="{LEFT - 6}" y="{_f(y(tick) + 4)}" text-anchor="end">'
            f"{label}</text>"
        )
    out.append(
        f'<text class="axis-label" transform="translate(16 {_f(y0 + TOP + plot_h / 2)}) '
        f'rotate(-90)" text-anchor="middle">{escape(m.unit)}</text>'
    )
    dates = sorted({p.on for p in t.points})
    for on in dates:
        out.append(
            f'<text class="tick" x="{_f(x(on))}" y="{_f(y(lo) + 16)}" text-anchor="middle">'
            f"{on.isoformat()}</text>"
        )
    out.append(
        f'<text class="axis-label" x="{LEFT + plot_w / 2}" y="{_f(y0 + PANEL - 12)}" '
        f'text-anchor="middle">date of assessment</text>'
    )
    coords = " ".join(f"{_f(x(p.on))},{_f(y(p.value))}" for p in t.points)
    out.append(f'<polyline class="line" points="{coords}"/>')
    for p in t.points:
        word = SHORT_WORDS[p.status] if p.status else "baseline"
        out.append(
            f'<circle class="point" cx="{_f(x(p.on))}" cy="{_f(y(p.value))}" r="4" '
            f'data-value="{fmt(p.value)}" data-date="{p.on.isoformat()}">'
            f"<title>{p.on.isoformat()}: {escape(fmt(p.value))} ({word})</title></circle>"
        )
        out.append(
            f'<text class="value" x="{_f(x(p.on))}" y="{_f(y(p.value) - 8)}" '
            f'text-anchor="middle">{escape(fmt(p.value))}</text>'
        )
    out.append("</g>")
    return out


def render_chart(progress: Progress, title: str = "Progress over the episode") -> str:
    """The whole chart as SVG text: one panel per measure that was recorded."""
    panels: Sequence[Trajectory] = progress.trajectories
    start = progress.visits[0].on
    days = (progress.visits[-1].on - start).days
    height = max(1, len(panels)) * PANEL
    desc = " ".join(describe(t) for t in panels) or "No measure was recorded."
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="chart-title chart-desc">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">{escape(desc)}</desc>',
        "<style>"
        "text{font-family:'DejaVu Sans',Arial,sans-serif;font-size:12px;fill:#222}"
        ".title{font-size:14px;font-weight:bold}.tick,.note{font-size:11px}"
        ".band{fill:#dde6f0}.not-evaluable{fill:#eeeeee}"
        ".baseline{stroke:#555;stroke-dasharray:6 4}"
        ".axis{stroke:#222}.line{fill:none;stroke:#1f4e79;stroke-width:2}"
        ".point{fill:#1f4e79}.value{font-size:11px}"
        "</style>",
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
    ]
    if not panels:
        out.append(f'<text x="{LEFT}" y="{PANEL / 2}">No measure was recorded.</text>')
    for i, t in enumerate(panels):
        out.extend(_panel(t, i, start, days))
    out.append("</svg>")
    return "\n".join(out) + "\n"
