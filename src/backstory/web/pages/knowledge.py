"""The knowledge catalogue (``render_catalogue``) as a page, for clinical review in a browser.

The Markdown is rendered with raw HTML switched off, so nothing in the knowledge data can
inject markup; the page is built once per app (the knowledge does not change at run time).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markdown_it import MarkdownIt
from markupsafe import Markup

from backstory.knowledge.catalogue import render_catalogue
from backstory.web import deps

router = APIRouter(include_in_schema=False)


def catalogue_html(state: deps.WebState) -> Markup:
    cached = state.extra.get("catalogue")
    if isinstance(cached, Markup):
        return cached
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    html = Markup(md.render(render_catalogue(state.knowledge)))  # markup is switched off above
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
