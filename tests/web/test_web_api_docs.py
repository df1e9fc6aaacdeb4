"""The interactive API documentation (/api/docs): Swagger UI served from local files only.

The page and its assets come with the app's strict Content-Security-Policy (no inline script
or style), nothing in them points the browser at another site, and - in Chromium - the page
renders the OpenAPI 3.1 document, makes no request to any other origin, breaks no CSP rule,
and "Try it out" sends the API token given under Authorize as ``Authorization: Bearer``.
The page's accessibility is audited in ``test_web_a11y.py``.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect

from backstory.web import api_docs
from backstory.web.security import SECURITY_HEADERS

from .browsing import DESKTOP, LiveServer
from .conftest import World

STATIC = Path(__file__).parents[2] / "src" / "backstory" / "web" / "static"
CDNS = ("jsdelivr", "unpkg", "cdnjs", "googleapis", "gstatic", "petstore.swagger.io")


class _Refs(HTMLParser):
    """The scripts and stylesheets a page loads, and whether any script is inline."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.inline_script = False
        self.inline_style = False
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            self._in_script = True
            if a.get("src"):
                self.scripts.append(str(a["src"]))
            else:
                self.inline_script = True
        elif tag == "link" and a.get("rel") == "stylesheet":
            self.styles.append(str(a["href"]))
        elif tag == "style" or "style" in a or any(k.startswith("on") for k in a):
            self.inline_style = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_script = True


def test_the_docs_page_loads_local_files_only_under_the_strict_csp(app: FastAPI) -> None:
    c = TestClient(app)
    r = c.get("/api/docs")
    assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8"
    for name, value in SECURITY_HEADERS.items():
        assert r.headers.get(name) == value, name
    csp = r.headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "http" not in r.text  # no absolute URL at all: every reference is this server's
    refs = _Refs()
    refs.feed(r.text)
    assert not refs.inline_script and not refs.inline_style
    assert refs.scripts == ["/api/docs/static/swagger-ui-bundle.js", "/static/api-docs.js"]
    assert refs.styles == ["/api/docs/static/swagger-ui.css", "/static/api-docs.css"]
    assert 'data-openapi-url="/api/v1/openapi.json"' in r.text
    kinds = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
    for url in refs.scripts + refs.styles:
        asset = c.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["content-type"] == kinds[Path(url).suffix], url
        assert asset.headers["content-security-policy"] == csp, url
        assert asset.headers["x-content-type-options"] == "nosniff", url
        body = asset.text
        assert not any(cdn in body for cdn in CDNS), url
        if url.startswith("/static/"):
            assert "http" not in body, url  # the project's own files name no address
    css = c.get("/api/docs/static/swagger-ui.css").text
    urls = re.findall(r"url\(([^)]*)", css)
    assert all(u.strip("\"'").startswith("data:") for u in urls), "the CSS loads no file"
    start = (STATIC / "api-docs.js").read_text()
    assert "validatorUrl: null" in start  # Swagger UI would otherwise load an online badge


@pytest.mark.parametrize(
    "name",
    ["index.html", "redoc.standalone.js", "favicon.png", "..%2Fcore.py", "swagger-ui.js"],
)
def test_only_the_files_swagger_ui_needs_are_served(app: FastAPI, name: str) -> None:
    r = TestClient(app).get(f"/api/docs/static/{name}")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"


def test_the_swagger_ui_files_are_there() -> None:
    folder = api_docs.asset_folder()
    for name in api_docs.ASSETS:
        assert (folder / name).is_file(), name
    bundle = (folder / "swagger-ui-bundle.js").read_text(encoding="utf-8")
    version = re.search(r'PACKAGE_VERSION:"(\d+)\.', bundle)
    assert version and int(version.group(1)) >= 5, "Swagger UI 5 or later renders OpenAPI 3.1"


def test_the_openapi_document_declares_the_bearer_token(app: FastAPI) -> None:
    doc = TestClient(app).get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    scheme = doc["components"]["securitySchemes"]["apiToken"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            want = [] if path == "/api/v1/ping" else [{"apiToken": []}]
            assert operation.get("security", []) == want, (method, path)


@pytest.mark.parametrize("web_db", ["sqlite"], indirect=True)
def test_swagger_ui_works_offline_and_tries_requests_with_a_token(
    browser: Browser, world: World
) -> None:
    with LiveServer(world.app) as server:
        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        requests: list[str] = []
        bearer: list[str | None] = []
        refused: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.on(
            "request",
            lambda r: (
                bearer.append(r.headers.get("authorization"))
                if r.url.split("?")[0].endswith("/api/v1/patients")
                else None
            ),
        )
        page.on(
            "console",
            lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.goto(server.url + "/api/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("Backstory")
        expect(page.locator(".swagger-ui .errors-wrapper")).to_have_count(0)
        op = page.locator("#operations-patients-list_patients_api_v1_patients_get")
        expect(op).to_be_visible()
        page.click(".swagger-ui button.authorize")
        page.fill("#auth-bearer-value", world.read_token)
        page.click(".modal-ux-content button.authorize")
        page.click(".modal-ux-content button.btn-done")
        op.locator(".opblock-summary-control").click()
        op.locator("button.try-out__btn").click()
        op.locator("button.execute").click()
        status = op.locator(".live-responses-table .response .response-col_status")
        expect(status).to_have_text("200")
        expect(op.locator(".live-responses-table .microlight").first).to_contain_text("ref-a-1")
        context.close()
    assert bearer == [f"Bearer {world.read_token}"]
    assert requests and all(u.startswith(server.url + "/") for u in requests), requests
    assert not refused, refused
