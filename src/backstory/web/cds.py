"""CDS Hooks 2.0 routes: discovery, the two services, feedback, and the linked report view.

The hook logic is in :mod:`backstory.cds` (pure). Here: authentication, the fetch from the
EHR's FHIR server when prefetch is missing - only from the operator's allow-list, never
blocking the event loop (:mod:`backstory.web.cds_fetch`), and answered with one and the same
412 whatever went wrong - audit of every call, every fetch, every refusal and every feedback
entry (ids and codes only - never patient data or an address), and a signed, expiring link
to a read-only report for signed-in clinicians, so nothing from the hook call is stored.

Authentication (discovery stays public, as CDS Hooks expects): a bearer value shaped like a
JWT (``header.payload.signature``) is always checked as a CDS client's signed JWT against the
trusted clients (:mod:`backstory.cds.trust`) and never looked up as an API token; any other
bearer value is a clinic's Backstory API token, as before. Either way the caller acts for one
clinic with the rights of that clinic's API token on these routes - and on no other route.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from backstory.cds import (
    NOT_FETCHED,
    CdsError,
    FhirSearch,
    discovery,
    fetch_plan,
    handle_hook,
    parse_feedback,
    trust,
    with_prefetch,
)
from backstory.contract import AssessmentError, parse_assessment, safejson
from backstory.core.engine import assess
from backstory.explain import explain_report
from backstory.storage import accounts as acc
from backstory.storage import audit
from backstory.storage.users import User
from backstory.web import api, deps
from backstory.web.cds_fetch import FetchFailed
from backstory.web.labels import readable_document
from backstory.web.security import token_digest

log = logging.getLogger("backstory.web")
router = APIRouter(include_in_schema=False)
MAX_BODY = 2 * 1024 * 1024
REPORT_LINK_SECONDS = 24 * 3600


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise CdsError(413, "the request is too large")
    try:
        return safejson.loads(raw, max_bytes=MAX_BODY)
    except safejson.UnsafeJson as exc:
        raise CdsError(400, f"the request body is not valid JSON: {exc}") from None


@dataclass(frozen=True)
class CdsCaller:
    """Who called a CDS route: an EHR proved by its signed JWT, or a clinic's API token."""

    scheme: str
    """``jwt`` or ``token``."""
    user: User
    """The caller as an acting user of its clinic, with a clinician's role (as a token is)."""
    record_type: str
    record_id: str

    @property
    def actor(self) -> str:
        """The audit log's actor: ``cds:NAME`` for a trusted client, ``token:ID`` for a token."""
        return self.user.username


def _refuse(
    state: deps.WebState,
    reason: str,
    message: str,
    *,
    client: str | None = None,
    status: int = 401,
) -> api.ApiError:
    """Audit a refused call (a reason code and a configured client name only), then say why."""
    detail: dict[str, str] = {"reason": reason}
    if client is not None:
        detail["client"] = client
    state.db.transaction(
        lambda conn: audit.record(conn, "anonymous", "cds.refused", "clinic", None, **detail)
    )
    challenge = "Bearer" if reason == "missing" else 'Bearer error="invalid_token"'
    return api.ApiError(status, message, headers={"WWW-Authenticate": challenge})


def _by_token(state: deps.WebState, value: str) -> CdsCaller:
    found = state.db.read(lambda conn: acc.token_by_digest(conn, token_digest(value)))
    if found is None:
        raise _refuse(state, "token.invalid", "The API token is not valid (revoked or unknown).")
    return CdsCaller("token", found.principal(), "token", found.id)


def _by_jwt(state: deps.WebState, value: str, audience: str) -> CdsCaller:
    try:
        ok = trust.verify(
            value, state.cds_clients, audience, state.now().timestamp(), state.cds_replay
        )
    except trust.Refused as exc:
        raise _refuse(
            state,
            f"jwt.{exc.reason}",
            f"The CDS client's JWT is refused: {exc.message}.",
            client=exc.client,
            status=503 if exc.reason == "busy" else 401,
        ) from None
    client = ok.client
    clinic_id = state.db.read(lambda conn: acc.clinic_by_name(conn, client.clinic))
    if clinic_id is None:
        log.warning("trusted CDS client %s names a clinic that does not exist", client.name)
        raise _refuse(
            state,
            "jwt.clinic",
            "The CDS client's JWT is refused: the clinic it acts for is not set up here.",
            client=client.name,
        )
    who = f"cds:{client.name}"
    return CdsCaller(
        "jwt", User(who, clinic_id, client.clinic, who, "clinician", True), "clinic", clinic_id
    )


def authenticate(request: Request, state: deps.WebState, path: str) -> CdsCaller:
    """The caller of a CDS route at ``path``; every refusal is audited and answered 401
    (503 when too many recent JWTs are held to check for replay)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        raise _refuse(
            state,
            "missing",
            "Authenticate with a JWT signed by a trusted CDS client (CDS Hooks 2.0), or a "
            "Backstory API token: Authorization: Bearer ...",
        )
    if trust.looks_like_jwt(value):
        return _by_jwt(state, value, deps.base_url(request, state) + path)
    return _by_token(state, value)


def _caller(suffix: str) -> Callable[[str, Request, deps.WebState], CdsCaller]:
    def caller(service_id: str, request: Request, state: deps.WebDep) -> CdsCaller:
        return authenticate(request, state, f"/cds-services/{service_id}{suffix}")

    return caller


HookCaller = Annotated[CdsCaller, Depends(_caller(""))]
FeedbackCaller = Annotated[CdsCaller, Depends(_caller("/feedback"))]


@router.get("/cds-services")
async def cds_discovery() -> JSONResponse:
    """The discovery document (public, as CDS Hooks expects)."""
    return JSONResponse(discovery())


@router.post("/cds-services/{service_id}")
async def cds_call(
    service_id: str, request: Request, who: HookCaller, state: deps.WebDep
) -> Response:
    """Answer one hook call with cards (fetching the assessment first only when it is missing
    and the named FHIR server is on the operator's allow-list)."""
    try:
        body = await _json_body(request)
        search = fetch_plan(service_id, body)
        if search is not None:
            body = with_prefetch(body, await _fetched(state, who, search))
        base = deps.base_url(request, state)

        def link(data: Any) -> str:
            return f"{base}/cds/report?t={state.signer.sign('cds-report', data)}"

        result = await run_in_threadpool(
            lambda: handle_hook(service_id, body, knowledge=state.knowledge, report_link=link)
        )
    except CdsError as exc:
        return _error(exc.status, exc.message)
    await run_in_threadpool(
        state.db.transaction,
        lambda conn: audit.record(
            conn, who.actor, "cds.hook", who.record_type, who.record_id, count=len(result.cards)
        ),
    )
    return JSONResponse(result.to_dict())


async def _fetched(state: deps.WebState, who: CdsCaller, search: FhirSearch) -> Any:
    """The assessment from the allowed FHIR server; every fetch - made or not - is audited
    with an outcome code, and every failure is the same 412 for the caller."""
    outcome, resource = "ok", None
    try:
        resource = await state.cds_fetcher.fetch(search)
    except FetchFailed as exc:
        outcome = exc.reason
    await run_in_threadpool(
        state.db.transaction,
        lambda conn: audit.record(
            conn, who.actor, "cds.fetch", who.record_type, who.record_id, outcome=outcome
        ),
    )
    if resource is None:
        raise CdsError(412, NOT_FETCHED)
    return resource


@router.post("/cds-services/{service_id}/feedback")
async def cds_feedback(
    service_id: str, request: Request, who: FeedbackCaller, state: deps.WebDep
) -> Response:
    """Record what the clinician did with each card, in the audit log."""
    try:
        entries = parse_feedback(service_id, await _json_body(request))
    except CdsError as exc:
        return _error(exc.status, exc.message)

    def work(conn: Any) -> None:
        for e in entries:
            audit.record(
                conn,
                who.actor,
                "cds.feedback",
                who.record_type,
                who.record_id,
                card=e["card"],
                outcome=e["outcome"],
                override=e["override_reason"],
            )

    await run_in_threadpool(state.db.transaction, work)
    return JSONResponse({})


@router.get("/cds/report")
def cds_report(request: Request, t: str, principal: deps.SignedIn, state: deps.WebDep) -> Response:
    """The report behind a card's link: read-only, for signed-in clinicians, for 24 hours."""
    data = state.signer.load("cds-report", t, REPORT_LINK_SECONDS)
    if data is None:
        raise deps.Gone("This report link has expired or is not valid.")
    try:
        assessment = parse_assessment(data, state.knowledge.contract)
    except AssessmentError:
        raise deps.Gone("This report link has expired or is not valid.") from None
    report = assess(assessment, state.knowledge)
    answers = dict(assessment.answers)
    state.db.transaction(
        lambda conn: audit.record(conn, principal.user.username, "cds.report", "report", None)
    )
    return deps.page(
        request,
        "cds_report.html",
        {
            "title": "Report from the health record",
            "report": report,
            "clinician_doc": readable_document(explain_report(report, answers, "clinician")),
            "patient_doc": explain_report(report, answers, "patient"),
        },
    )
