"""Interactive API documentation (Swagger UI) served from local files, for offline use.

``GET /api/docs`` is a page that loads Swagger UI from ``/api/docs/static/`` - the two files
it needs, Swagger UI 5's ``swagger-ui-bundle.js`` and ``swagger-ui.css`` as the
``fastapi-offline`` package ships them - and the project's own start-up script
``/static/api-docs.js``, which points it at ``/api/v1/openapi.json``. (Swagger UI 5 is needed:
FastAPI writes OpenAPI 3.1, which Swagger UI 4 - the ``swagger-ui-bundle`` package's copy -
refuses to render.) Nothing is fetched from another site (the online validator badge is
switched off), and there is no inline script, so the app's strict Content-Security-Policy
applies unchanged: Swagger UI sets its inline styles through the DOM (which
``style-src 'self'`` allows) and its CSS uses ``data:`` images only (which
``img-src 'self' data:`` allows). ``tests/web/test_web_api_docs.py`` checks all of this in
Chromium.

Access follows the OpenAPI document, which is public: the page describes the API and holds
no data. "Try it out" sends requests with the API token given under *Authorize* (the
document declares the ``Authorization: Bearer`` scheme), exactly as any API client would.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from backstory.web import deps

DOCS_PATH = "/api/docs"
OPENAPI_URL = "/api/v1/openapi.json"

ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
}
"""The only files served from the package (not ReDoc nor the favicon it also ships)."""

router = APIRouter(include_in_schema=False)


def asset_folder() -> Path:
    """Where the ``fastapi-offline`` package keeps Swagger UI's files (copies of the
    ``swagger-ui-dist`` release's; only the folder is used, not its FastAPI wrapper)."""
    return Path(str(importlib.resources.files("fastapi_offline") / "static"))


@router.get(DOCS_PATH)
def api_docs(request: Request) -> Response:
    return deps.page(
        request,
        "api_docs.html",
        {"title": "API documentation", "openapi_url": OPENAPI_URL, "assets": DOCS_PATH + "/static"},
    )


@router.get(DOCS_PATH + "/static/{name}")
def api_docs_asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise deps.Gone()
    return FileResponse(asset_folder() / name, media_type=media_type)
