"""CDS Hooks 2.0 routes: discovery, the two services, feedback, and the linked report view.

The hook logic is in :mod:`backstory.cds` (pure). Here: authentication with a clinic's API
token, the EHR fetch when prefetch is missing, audit of every call and every feedback entry
(ids and codes only - never patient data), and a signed, expiring link to a read-only report
for signed-in clinicians, so nothing from the hook call is stored.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from backstory.cds import CdsError, discovery, handle_hook, parse_feedback
from backstory.contract import AssessmentError, parse_assessment
from backstory.core.engine import assess
from backstory.explain import explain_report
from backstory.storage import audit
from backstory.web import api, deps

router = APIRouter(include_in_schema=False)
MAX_BODY = 2 * 1024 * 1024
REPORT_LINK_SECONDS = 24 * 3600
FETCH_TIMEOUT = 5.0


def _fetch(url: str, token: str | None) -> Any:
    """GET a FHIR search from the EHR's server (only called when prefetch is missing)."""
    req = urllib.request.Request(url, headers={"Accept": "application/fhir+json"})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=FETCH_TIMEOUT) as resp:
        return json.loads(resp.read())


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise CdsError(413, "the request is too large")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise CdsError(400, "the request body is not valid JSON") from None


@router.get("/cds-services")
async def cds_discovery() -> JSONResponse:
    """The discovery document (public, as CDS Hooks expects)."""
    return JSONResponse(discovery())


@router.post("/cds-services/{service_id}")
async def cds_call(
    service_id: str, request: Request, who: api.Reader, state: deps.WebDep
) -> Response:
    """Answer one hook call with cards."""
    try:
        body = await _json_body(request)
        base = deps.base_url(request, state)

        def link(data: Any) -> str:
            return f"{base}/cds/report?t={state.signer.sign('cds-report', data)}"

        result = handle_hook(
            service_id, body, knowledge=state.knowledge, fetch=_fetch, report_link=link
        )
    except CdsError as exc:
        return _error(exc.status, exc.message)
    actor = who.token.principal().username
    state.db.transaction(
        lambda conn: audit.record(
            conn, actor, "cds.hook", "token", who.token.id, count=len(result.cards)
        )
    )
    return JSONResponse(result.to_dict())


@router.post("/cds-services/{service_id}/feedback")
async def cds_feedback(
    service_id: str, request: Request, who: api.Reader, state: deps.WebDep
) -> Response:
    """Record what the clinician did with each card, in the audit log."""
    try:
        entries = parse_feedback(service_id, await _json_body(request))
    except CdsError as exc:
        return _error(exc.status, exc.message)
    actor = who.token.principal().username

    def work(conn: Any) -> None:
        for e in entries:
            audit.record(
                conn,
                actor,
                "cds.feedback",
                "token",
                who.token.id,
                card=e["card"],
                outcome=e["outcome"],
                override=e["override_reason"],
            )

    state.db.transaction(work)
    return JSONResponse({})


@router.get("/cds/report")
def cds_report(request: Request, t: str, principal: deps.SignedIn, state: deps.WebDep) -> Response:
    """The report behind a card's link: read-only, for signed-in clinicians, for 24 hours."""
    data = state.signer.load("cds-report", t, REPORT_LINK_SECONDS)
    if data is None:
        raise deps.Gone("This report link has expired or is not valid.")
    try:
        assessment = parse_assessment(data)
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
            "clinician_doc": explain_report(report, answers, "clinician"),
            "patient_doc": explain_report(report, answers, "patient"),
        },
    )
