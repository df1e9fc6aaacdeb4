"""The JSON API under ``/api/v1``: patients, assessments, reports and progress.

Authentication is an API token (``Authorization: Bearer TOKEN``) made by a clinic admin,
scoped to that clinic and to reading or reading and writing. Request models are strict (no
"1" for 1, no ``false`` for 0) and refuse unknown keys; an assessment body is the contract
JSON itself, validated by ``backstory.contract`` exactly as the command line does. Every
error is an RFC 9457 problem (``application/problem+json``). Every read and write of patient
data is audited under the token's name (``token:ID``).
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator

from backstory.contract import Issue, safejson
from backstory.errors import BackstoryError
from backstory.storage import Store, sharing
from backstory.storage import accounts as acc
from backstory.storage import worklist as work
from backstory.storage.records import EpisodeRecord
from backstory.storage.repository import reference_problem
from backstory.web import deps, limits
from backstory.web.problems import responses
from backstory.web.schema import assessment_schema
from backstory.web.security import token_digest
from backstory.web.views import progress_data, summary_of
from backstory.web.work_schema import ProgrammeFacts, WorkFacts, programme_facts, work_facts

_HIDDEN = r"\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff"
REFERENCE_PATTERN = rf"^[^{_HIDDEN}]*[^{_HIDDEN}\s][^{_HIDDEN}]*$"
"""What a schema can say of a reference: something not blank, without the usual control and
invisible characters (the code refuses every non-printable character, see reference_problem)."""
MAX_BODY = limits.API_BODY
"""The largest request body (enforced while it streams in, by :class:`limits.BodyLimit`)."""


class ApiError(BackstoryError):
    """An error answered as a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        issues: list[Issue] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.issues = issues or []
        self.headers = headers


router = APIRouter(prefix="/api/v1", responses=responses(401))


@dataclass(frozen=True)
class Caller:
    token: acc.Token
    digest: str


BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="apiToken",
    description=(
        "An API token of one clinic, made by its admin under API tokens (read, or read and "
        "write): Authorization: Bearer TOKEN."
    ),
)
"""Declares the token in the OpenAPI document (so Swagger UI's Authorize sends it); the
errors stay Backstory's own problem documents (``auto_error=False``)."""


def caller(
    state: deps.WebDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
) -> Caller:
    """The API token behind the Authorization header (401 without a valid one)."""
    value = credentials.credentials.strip() if credentials is not None else ""
    if not value:
        raise ApiError(
            401,
            "Give an API token: Authorization: Bearer TOKEN.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    digest = token_digest(value)
    # a read outside the write lock; the store checks the token again inside its transaction
    found = state.db.read(lambda conn: acc.token_by_digest(conn, digest))
    if found is None:
        raise ApiError(
            401,
            "The API token is not valid (revoked or unknown).",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return Caller(found, digest)


def writer(who: Annotated[Caller, Depends(caller)]) -> Caller:
    if who.token.scope != "write":
        raise ApiError(403, "This API token may only read; ask an admin for a write token.")
    return who


Reader = Annotated[Caller, Depends(caller)]
Writer = Annotated[Caller, Depends(writer)]


def _store(state: deps.WebState, who: Caller, *, write: bool) -> Store:
    return state.store(
        who.token.principal().username, resolve=acc.token_resolver(who.digest, write=write)
    )


# -- models ---------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


THIS_YEAR = dt.date.today().year
"""The latest year of birth the document and the model accept (as storage does)."""


class PatientIn(_Strict):
    """A new pseudonymous patient: use the clinic's own code as the reference, never a name."""

    reference: StrictStr = Field(
        min_length=1,
        max_length=100,
        # documented, and checked by _printable with a plain message (every non-printable
        # character, which a pattern cannot list exactly)
        json_schema_extra={"pattern": REFERENCE_PATTERN},
        description=(
            "The clinic's own code for the patient (never a name): 1 to 100 printable "
            "characters, kept in Unicode NFC without surrounding spaces. Control and "
            "invisible characters (tabs, right-to-left overrides, zero-width spaces) are "
            "refused."
        ),
    )
    birth_year: StrictInt | None = Field(
        default=None,
        ge=1900,
        le=THIS_YEAR,
        description=(
            "Year of birth, from 1900 to this year, written as a whole number: 1986, not "
            "1986.0 (JSON Schema's integer type admits 1986.0; this API does not, as "
            "everywhere in Backstory)."
        ),
    )
    sex: Literal["female", "male", "other", "unknown"] | None = None

    @field_validator("reference")
    @classmethod
    def _printable(cls, value: str) -> str:
        problem = reference_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value


class PatientOut(BaseModel):
    id: str
    reference: str
    birth_year: int | None
    sex: str | None
    created_at: str
    episodes: int
    assessments: int
    last_assessed: str | None
    # the worklist's facts (api_worklist.py): the assessment that most needs attention
    triage: str | None = None
    worklist: WorkFacts | None = None
    unreviewed: int = 0
    programme: ProgrammeFacts | None = None


class AssessmentSummary(BaseModel):
    id: str
    version: int
    assessed_on: str
    supersedes_id: str | None
    current: bool
    created_by: str
    triage: str | None
    category: str | None
    report_id: str | None


class EpisodeOut(BaseModel):
    id: str
    started_on: str
    closed_on: str | None
    assessments: list[AssessmentSummary]


class PatientDetail(BaseModel):
    id: str
    reference: str
    birth_year: int | None
    sex: str | None
    created_at: str
    episodes: list[EpisodeOut]


class Saved(BaseModel):
    assessment_id: str
    patient_id: str
    episode_id: str
    opened_episode: bool
    report_id: str
    report: dict[str, Any]


class AssessmentOut(BaseModel):
    id: str
    patient_id: str
    episode_id: str
    version: int
    supersedes_id: str | None
    correction_reason: str | None
    assessed_on: str
    contract_version: str
    created_at: str
    created_by: str
    released: bool
    report_id: str | None
    answers: dict[str, Any]


class ReportOut(BaseModel):
    assessment_id: str
    report_id: str
    knowledge_version: str
    created_at: str
    report: dict[str, Any]


class ProgressOut(BaseModel):
    patient_id: str
    episode_id: str
    started_on: str
    closed_on: str | None
    visits: list[dict[str, Any]]
    measures: list[dict[str, Any]]
    risk: dict[str, Any] | None
    recovered: bool | None
    days_followed: int
    reassess: list[str]
    stale_days: int | None


class Pong(BaseModel):
    pong: bool


# -- endpoints ------------------------------------------------------------------------------


@router.get("/ping", response_model=Pong, responses=responses(400), tags=["service"])
async def ping() -> Pong:
    """A constant answer through the same middleware, for load-test comparisons."""
    return Pong(pong=True)


class PatientPage(BaseModel):
    """One page of patients: ``items``, the ``total`` matching, and the page's place."""

    items: list[PatientOut]
    total: int
    limit: int
    offset: int


@router.get(
    "/patients",
    response_model=PatientPage,
    responses=responses(403, 422),
    tags=["patients"],
)
def list_patients(
    who: Reader,
    state: deps.WebDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    reference: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=work.MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> PatientPage:
    """The clinic's patients by reference, a page at a time, searched in the database
    (`q`, or the older `reference`: the reference contains the text). Each carries the
    worklist's facts about the assessment that most needs attention (its triage level,
    unanswered warning-sign questions, "not sure" answers, who reviewed it) and the flags
    of their programme check-ins (a warning sign, a worse check-in, missed check-ins)."""
    found = _store(state, who, write=False).run(
        lambda conn, user: work.patient_page(
            conn,
            user,
            q=unicodedata.normalize("NFC", q if q is not None else (reference or "")),
            limit=limit,
            offset=offset,
            today=state.now().date(),
        )
    )
    return PatientPage(
        items=[
            PatientOut(
                id=s.patient.id,
                reference=s.patient.reference,
                birth_year=s.patient.birth_year,
                sex=s.patient.sex,
                created_at=s.patient.created_at.isoformat(),
                episodes=s.episodes,
                assessments=s.assessments,
                last_assessed=s.last_assessed.isoformat() if s.last_assessed else None,
                triage=s.latest.level if s.latest else None,
                worklist=work_facts(s.latest) if s.latest else None,
                unreviewed=s.unreviewed,
                programme=programme_facts(s.programme),
            )
            for s in found.items
        ],
        total=found.total,
        limit=found.limit,
        offset=found.offset,
    )


@router.post(
    "/patients",
    status_code=201,
    response_model=PatientOut,
    responses=responses(400, 403, 409, 413, 422),
    tags=["patients"],
)
def create_patient(body: PatientIn, who: Writer, state: deps.WebDep) -> PatientOut:
    """Add a pseudonymous patient to the token's clinic."""
    p = _store(state, who, write=True).add_patient(
        body.reference, birth_year=body.birth_year, sex=body.sex
    )
    return PatientOut(
        id=p.id,
        reference=p.reference,
        birth_year=p.birth_year,
        sex=p.sex,
        created_at=p.created_at.isoformat(),
        episodes=0,
        assessments=0,
        last_assessed=None,
    )


def _episode_out(record: EpisodeRecord) -> EpisodeOut:
    return EpisodeOut(
        id=record.episode.id,
        started_on=record.episode.started_on.isoformat(),
        closed_on=record.episode.closed_on.isoformat() if record.episode.closed_on else None,
        assessments=[
            AssessmentSummary(
                id=a.assessment.id,
                version=a.assessment.version,
                assessed_on=a.assessment.assessed_on.isoformat(),
                supersedes_id=a.assessment.supersedes_id,
                current=a.is_current,
                created_by=a.assessment.created_by,
                **summary_of(a),
            )
            for a in record.assessments
        ],
    )


@router.get(
    "/patients/{patient_id}",
    response_model=PatientDetail,
    responses=responses(403, 404, 422),
    tags=["patients"],
)
def get_patient(patient_id: str, who: Reader, state: deps.WebDep) -> PatientDetail:
    """One patient with every episode and assessment (404 for another clinic's patient)."""
    record = _store(state, who, write=False).patient_record(patient_id)
    p = record.patient
    return PatientDetail(
        id=p.id,
        reference=p.reference,
        birth_year=p.birth_year,
        sex=p.sex,
        created_at=p.created_at.isoformat(),
        episodes=[_episode_out(e) for e in record.episodes],
    )


async def _body(request: Request) -> str:
    # the size is checked while the body streams in (limits.BodyLimit answers 413)
    raw = await request.body()
    if len(raw) > MAX_BODY:  # pragma: no cover - the middleware refused it already
        raise ApiError(413, f"The request body is larger than {safejson.size_text(MAX_BODY)}.")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "The body is not UTF-8 text.") from None


@router.post(
    "/patients/{patient_id}/assessments",
    status_code=201,
    response_model=Saved,
    responses=responses(400, 403, 404, 409, 413, 422),
    tags=["assessments"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "One assessment in the contract's JSON form (backstory/assessment@1).",
            "content": {"application/json": {"schema": assessment_schema()}},
        }
    },
)
def create_assessment(
    patient_id: str,
    who: Writer,
    state: deps.WebDep,
    text: Annotated[str, Depends(_body)],
) -> Saved:
    """Validate, reason and store one assessment with its report (one transaction)."""
    try:
        safejson.loads(text, max_bytes=MAX_BODY)
    except safejson.UnsafeJson as exc:
        # not JSON, or JSON refused by the safe reader: nested too deep, an integer of
        # too many digits, a lone surrogate (each was a server error found by fuzzing)
        raise ApiError(400, f"The request body is not valid JSON: {exc}.") from None
    saved = _store(state, who, write=True).save_assessment(
        patient_id, text, today=state.now().date()
    )
    return Saved(
        assessment_id=saved.assessment.id,
        patient_id=saved.episode.patient_id,
        episode_id=saved.episode.id,
        opened_episode=saved.opened_episode,
        report_id=saved.report_id,
        report=saved.report.to_dict(),
    )


@router.get(
    "/assessments/{assessment_id}",
    response_model=AssessmentOut,
    responses=responses(403, 404, 422),
    tags=["assessments"],
)
def get_assessment(assessment_id: str, who: Reader, state: deps.WebDep) -> AssessmentOut:
    """One stored assessment: the answers exactly as given, and its place in the record."""
    patient, record, released = _store(state, who, write=False).run(
        lambda conn, user: sharing.view_assessment(conn, user, assessment_id)
    )
    a = record.assessment
    latest = record.latest_report
    return AssessmentOut(
        id=a.id,
        patient_id=patient.id,
        episode_id=a.episode_id,
        version=a.version,
        supersedes_id=a.supersedes_id,
        correction_reason=a.correction_reason,
        assessed_on=a.assessed_on.isoformat(),
        contract_version=a.contract_version,
        created_at=a.created_at.isoformat(),
        created_by=a.created_by,
        released=released,
        report_id=latest.id if latest else None,
        answers=json.loads(a.source_json),
    )


@router.get(
    "/assessments/{assessment_id}/report",
    response_model=ReportOut,
    responses=responses(403, 404, 422),
    tags=["reports"],
)
def get_report(assessment_id: str, who: Reader, state: deps.WebDep) -> ReportOut:
    """The stored JSON report of an assessment (the latest, under the newest knowledge)."""
    _patient, record, _released = _store(state, who, write=False).run(
        lambda conn, user: sharing.view_assessment(conn, user, assessment_id, "report.view")
    )
    latest = record.latest_report
    if latest is None:
        raise ApiError(404, f"assessment {record.assessment.id} has no report")
    return ReportOut(
        assessment_id=record.assessment.id,
        report_id=latest.id,
        knowledge_version=latest.knowledge_version,
        created_at=latest.created_at.isoformat(),
        report=latest.data(),
    )


@router.get(
    "/patients/{patient_id}/progress",
    response_model=ProgressOut,
    responses=responses(403, 404, 422),
    tags=["progress"],
)
def get_progress(
    patient_id: str,
    who: Reader,
    state: deps.WebDep,
    episode: Annotated[str | None, Query(max_length=20)] = None,
) -> ProgressOut:
    """Change over an episode (default: the latest) against the minimal important change.

    Each measure's `status` is `improved`, `no_important_change`, `worse`, or `not_evaluable`
    when its baseline is below `improvement_evaluable_from` (too low at the start for an
    improvement to be judged; a rise is still `worse`); null without a follow-up.
    """
    record = _store(state, who, write=False).episode_history(patient_id, episode)
    data = progress_data(record, state.now().date())
    return ProgressOut(patient_id=record.episode.patient_id, **data)
