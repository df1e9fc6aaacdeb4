"""The web app factory: clinician and patient pages and the JSON API over one database.

``create_app(settings, database)`` builds a FastAPI app with no global state, so tests make
as many as they like. Three small ASGI middlewares wrap every response, the API's included:
proxy headers (only behind a trusted proxy), security headers (a strict Content-Security-
Policy: no inline script or style anywhere) and a request log that names the *route
template* (``/patients/{patient_id}``), never the path, query or body - so no patient
reference, answer or link token can reach a log.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backstory import __version__
from backstory.cds.trust import TrustConfigError, load_trusted_clients
from backstory.contract import AssessmentError, Issue
from backstory.errors import BackstoryError
from backstory.knowledge.loader import KnowledgeBase, load_knowledge
from backstory.preflight import preflight
from backstory.storage import Database
from backstory.storage.database import utcnow
from backstory.storage.errors import (
    Conflict,
    InvalidRequest,
    NotAllowed,
    NotFound,
    StorageError,
)
from backstory.web import api, api_docs, api_worklist, cds, deps, fhir_api, limits, refusals
from backstory.web.cds_fetch import FhirFetcher
from backstory.web.cds_replay import DatabaseReplay
from backstory.web.instrument_parts import INSTRUMENT_WORDING, Wording, WordingError, wording_of
from backstory.web.pages import (
    admin,
    assessments,
    auth,
    clinic_settings,
    mail,
    patient_link,
    patients,
    programme_patient,
    programmes,
)
from backstory.web.pages import episodes as episode_pages
from backstory.web.pages import knowledge as knowledge_pages
from backstory.web.pages import operator as operator_pages
from backstory.web.pages import worklist as worklist_pages
from backstory.web.problems import error_status, problem
from backstory.web.security import SECURITY_HEADERS, Signer
from backstory.web.settings import Settings, SettingsError
from backstory.web.throttle import SigninThrottle

HERE = Path(__file__).parent
log = logging.getLogger("backstory.web")


class ProxyHeaders:
    """Behind a trusted reverse proxy, take the scheme and client address it reports.

    Only with ``BACKSTORY_TRUSTED_PROXY``: otherwise anyone could claim to be on HTTPS or
    spoof an address to dodge sign-in throttling. The client is the right-most address in
    X-Forwarded-For, the one the proxy itself appended.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            proto = headers.get(b"x-forwarded-proto", b"").decode("latin-1").strip().lower()
            if proto in ("http", "https"):
                scope["scheme"] = proto
            forwarded = headers.get(b"x-forwarded-for", b"").decode("latin-1")
            last = forwarded.split(",")[-1].strip()
            if last:
                port = scope["client"][1] if scope.get("client") else 0
                scope["client"] = (last, port)
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Add the security headers to every response (a route may set its own CSP first)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in self.headers if k not in present]
                if https:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, wrapped)


class RequestLog:
    """One log line per request: method, route template, status and time - nothing else."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        started = [False]

        async def tracked(message: Message) -> None:
            if message["type"] == "http.response.start":
                started[0] = True
            await wrapped(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            # An exception's message can quote stored values: log its type and where it was
            # raised only, and answer a plain 500 (inside the security-headers middleware).
            frames = traceback.extract_tb(exc.__traceback__)
            where = ", ".join(f"{Path(f.filename).name}:{f.lineno}" for f in frames[-4:])
            log.error("unhandled %s at %s", type(exc).__name__, where)
            if started[0]:
                raise
            status[0] = 500
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                }
            )
            await send({"type": "http.response.body", "body": b"Something went wrong."})
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "(no route)"
            log.info(
                "%s %s %d %.1fms",
                scope.get("method", "-"),
                template,
                status[0],
                (time.perf_counter() - start) * 1000,
            )


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    return deps.page(
        request, "error.html", {"title": title, "message": message}, status_code=status
    )


def _storage_status(exc: StorageError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, NotAllowed):
        return 403
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, InvalidRequest):
        return 400
    return 503


def _allowed_methods(app: FastAPI, path: str) -> str | None:
    """Every method the published document allows at this API path (a 405's Allow header),
    or None for a path the document does not describe."""
    methods: set[str] = set()
    for template, ops in app.openapi().get("paths", {}).items():
        if re.fullmatch(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)), path):
            methods |= {m.upper() for m in ops}
    return ", ".join(sorted(methods)) if methods else None


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(deps.SignInRequired)
    async def sign_in(request: Request, exc: deps.SignInRequired) -> Response:
        if _is_api(request):
            return problem(
                401,
                "Give an API token: Authorization: Bearer TOKEN.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if request.method == "GET":
            return RedirectResponse("/signin", status_code=303)
        return _error_page(request, 401, "Please sign in", "Your session has ended.")

    @app.exception_handler(deps.Forbidden)
    async def forbidden(request: Request, exc: deps.Forbidden) -> Response:
        if _is_api(request):
            return problem(403, exc.message)
        return _error_page(request, 403, "Not allowed", exc.message)

    @app.exception_handler(deps.Gone)
    async def gone(request: Request, exc: deps.Gone) -> Response:
        if _is_api(request):
            return problem(404, exc.message)
        return _error_page(request, 404, "Not found", exc.message)

    @app.exception_handler(api.ApiError)
    async def api_error(request: Request, exc: api.ApiError) -> Response:
        return problem(exc.status, exc.detail, exc.issues, headers=exc.headers)

    @app.exception_handler(StorageError)
    async def storage(request: Request, exc: StorageError) -> Response:
        status = _storage_status(exc)
        if status in (403, 404):
            await run_in_threadpool(refusals.note_refusal, request, status)
        message = str(exc) if status != 503 else "The database is not available. Try again."
        if _is_api(request):
            return problem(status, message)
        return _error_page(request, status, "That did not work", message)

    @app.exception_handler(AssessmentError)
    async def invalid_assessment(request: Request, exc: AssessmentError) -> Response:
        if _is_api(request):
            return problem(422, "The assessment breaks the contract.", exc.issues)
        return _error_page(request, 422, "Invalid assessment", str(exc))

    @app.exception_handler(BackstoryError)
    async def backstory_error(request: Request, exc: BackstoryError) -> Response:
        """Every error of the family without a handler of its own (``problems.error_status``)."""
        status, message = error_status(exc)
        if status >= 500:
            route = getattr(request.scope.get("route"), "path", None) or "(no route)"
            log.error("%s on %s: %s", type(exc).__name__, route, exc.one_line())
        if _is_api(request):
            return problem(status, message)
        return _error_page(request, status, "That did not work", message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        issues = []
        unparsable = False
        for err in exc.errors():
            if err.get("type") == "json_invalid":
                unparsable = True
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
            message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            issues.append(Issue(".".join(loc), message))
        if _is_api(request):
            if unparsable:
                return problem(400, "The request body is not valid JSON.")
            return problem(422, "The request is not valid.", issues)
        return _error_page(request, 400, "Incomplete form", "Please go back and try again.")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = str(exc.detail) if exc.detail else "Error"
        headers = dict(exc.headers or {})
        allowed = _allowed_methods(app, request.url.path) if exc.status_code == 405 else None
        if allowed is not None:
            # Starlette names the methods of the first route of the path only
            headers["Allow"] = allowed
        if _is_api(request):
            return problem(exc.status_code, detail, headers=headers)
        if exc.status_code == 404:
            return _error_page(request, 404, "Not found", "This page does not exist.")
        return _error_page(request, exc.status_code, "That did not work", detail)


def _instrument_wording(settings: Settings, kb: KnowledgeBase) -> Wording:
    try:
        return wording_of(settings.instrument_wording_file, kb)
    except WordingError as exc:
        raise SettingsError(str(exc)) from None


def create_app(
    settings: Settings,
    database: Database,
    *,
    knowledge: KnowledgeBase | None = None,
    clock: Callable[[], dt.datetime] | None = None,
) -> FastAPI:
    """A new app over ``database`` (whose schema must be current: see ``prepare``).

    Raises:
        SettingsError: the trusted CDS clients file cannot be used.
        KnowledgeError: a knowledge file is broken (``backstory.preflight``): no app is built.
    """
    preflight()
    cds_clients = None
    if settings.cds_clients_file:
        try:
            cds_clients = load_trusted_clients(settings.cds_clients_file)
        except TrustConfigError as exc:
            raise SettingsError(f"BACKSTORY_CDS_CLIENTS: {exc}") from None
    app = FastAPI(
        title="Backstory",
        version=__version__,
        description=(
            "Low back pain assessments: safe triage, honest classification and plain-language "
            "explanations. The JSON API lives under /api/v1; authenticate with an API token "
            "(Authorization: Bearer TOKEN) made by a clinic admin. Errors are RFC 9457 problem "
            "details (application/problem+json)."
        ),
        # FastAPI's own Swagger UI and ReDoc pages load scripts from a CDN and run inline
        # script, which the CSP forbids: api_docs serves Swagger UI from local files instead.
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals["version"] = __version__
    templates.env.globals.update(worklist_pages.template_helpers())
    now = clock or utcnow
    app.state.web = deps.WebState(
        settings=settings,
        db=database,
        templates=templates,
        knowledge=knowledge or load_knowledge(),
        signer=Signer(settings.secret_key),
        throttle=SigninThrottle(
            database,
            settings.secret_key,
            settings.login_attempts,
            settings.login_window_seconds,
            now,
            settings.login_max_delay_seconds,
        ),
        cds_replay=DatabaseReplay(database, now),
        clock=now,
        cds_clients=cds_clients,
        cds_fetcher=FhirFetcher(settings.cds_fhir_servers, allow_http=not settings.production),
    )
    app.state.web.extra["page_context"] = worklist_pages.alerts_for
    app.state.web.extra[INSTRUMENT_WORDING] = _instrument_wording(settings, app.state.web.knowledge)
    _install_handlers(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        """Liveness for load balancers and tests: no database, no session."""
        return JSONResponse({"status": "ok"})

    for router in (
        auth.router,
        worklist_pages.router,
        clinic_settings.router,
        patients.router,
        assessments.router,
        episode_pages.router,
        knowledge_pages.router,
        admin.router,
        operator_pages.router,
        patient_link.router,
        programmes.router,
        programme_patient.router,
        api_worklist.router,
        api.router,
        cds.router,
        fhir_api.router,
        api_docs.router,
    ):
        app.include_router(router)
    if settings.mail is not None:
        app.include_router(mail.router)  # e-mailing links exists only when mail is set up
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(limits.BodyLimit)  # innermost: a refusal still gets logged and headers
    app.add_middleware(RequestLog)
    app.add_middleware(SecurityHeaders)
    if settings.trusted_proxy:
        app.add_middleware(ProxyHeaders)
    return app


def app_info(app: FastAPI) -> dict[str, Any]:
    """A few facts about an app, for the serve command's start-up message."""
    state: deps.WebState = app.state.web
    return {"database": state.db.display_url(), "environment": state.settings.environment}
