"""Draw an exercise's stick figure as a small, self-contained SVG. Pure.

The figures are the project's own: a head, limbs as lines and arrows for the motion, all
from the numbers in ``programme.yaml``. Nothing is copied or fetched; the SVG carries its
own title and description so screen readers can say what it shows.
"""

from __future__ import annotations

from html import escape

from backstory.programme.knowledge import FIGURE_HEIGHT, FIGURE_WIDTH, Exercise

_STROKE = "#1f2937"
_ARROW = "#b45309"


def _num(v: float) -> str:
    return f"{v:g}"


def figure_svg(exercise: Exercise) -> str:
    """The exercise's figure as an SVG document (UTF-8 text, no external references)."""
    fig = exercise.figure
    slug = exercise.id.replace("_", "-")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {FIGURE_WIDTH} {FIGURE_HEIGHT}"'
        f' width="{FIGURE_WIDTH * 2}" height="{FIGURE_HEIGHT * 2}" role="img"'
        f' aria-labelledby="{slug}-title {slug}-desc">',
        f'<title id="{slug}-title">{escape(exercise.name)}</title>',
        f'<desc id="{slug}-desc">{escape(fig.alt)}</desc>',
        f'<defs><marker id="{slug}-tip" viewBox="0 0 10 10" refX="8" refY="5"'
        ' markerWidth="4" markerHeight="4" orient="auto-start-reverse">'
        f'<path d="M 0 0 L 10 5 L 0 10 z" fill="{_ARROW}"/></marker></defs>',
        f'<line x1="0" y1="{FIGURE_HEIGHT - 10}" x2="{FIGURE_WIDTH}" y2="{FIGURE_HEIGHT - 10}"'
        ' stroke="#9ca3af" stroke-width="1"/>',
        f'<g stroke="{_STROKE}" stroke-width="3" stroke-linecap="round" fill="none">',
    ]
    for x1, y1, x2, y2 in fig.lines:
        parts.append(f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}"/>')
    hx, hy = fig.head
    parts.append(f'<circle cx="{_num(hx)}" cy="{_num(hy)}" r="4.5" fill="{_STROKE}"/>')
    parts.append("</g>")
    for x1, y1, x2, y2 in fig.arrows:
        parts.append(
            f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}"'
            f' stroke="{_ARROW}" stroke-width="2" marker-end="url(#{slug}-tip)"/>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
