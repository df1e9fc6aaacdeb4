"""The knowledge catalogue (``render_catalogue``) as a page, for clinical review in a browser.

The Markdown is rendered with raw HTML switched off, so nothing in the knowledge data can
inject markup; the page is built once per app (the knowledge does not change at run time).
Each table is put in a scrollable region named after its heading, so the page reflows on a
phone and the tables can still be scrolled from the keyboard.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markdown_it import MarkdownIt
from markupsafe import Markup

from backstory.knowledge.catalogue import render_catalogue
from backstory.knowledge.questionnaire import load_questionnaire
from backstory.web import deps

router = APIRouter(include_in_schema=False)
_HEADING_OR_TABLE = re.compile(r"<h[1-6][^>]*>(.*?)</h[1-6]>|<table>|</table>", re.S)


def _wrap_tables(html: str) -> str:
    """Wrap each table in a labelled, focusable scroll region (labels escaped already)."""
    heading = "Catalogue"
    seen: dict[str, int] = {}

    def wrap(found: re.Match[str]) -> str:
        nonlocal heading
        text = found.group(0)
        if found.group(1) is not None:
            heading = re.sub(r"<[^>]+>", "", found.group(1)).replace('"', "&quot;")
            return text
        if text == "</table>":
            return "</table></div>"
        seen[heading] = seen.get(heading, 0) + 1
        label = heading if seen[heading] == 1 else f"{heading} ({seen[heading]})"
        return f'<div class="table-wrap" role="region" tabindex="0" aria-label="{label}"><table>'

    return _HEADING_OR_TABLE.sub(wrap, html)


def catalogue_html(state: deps.WebState) -> Markup:
    cached = state.extra.get("catalogue")
    if isinstance(cached, Markup):
        return cached
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    html = Markup(
        _wrap_tables(md.render(render_catalogue(state.knowledge, load_questionnaire())))
    )  # raw HTML is off
    state.extra["catalogue"] = html
    return html


@router.get("/knowledge")
def knowledge_page(request: Request, principal: deps.SignedIn, state: deps.WebDep) -> Response:
    return deps.page(
        request,
        "knowledge.html",
        {
            "title": "Knowledge catalogue",
            "catalogue": catalogue_html(state),
            "knowledge_version": state.knowledge.version,
        },
    )
