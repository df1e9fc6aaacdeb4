"""The CDS Hooks services, as pure functions of the hook request.

Backstory keeps no state for a hook call: the EHR sends (or lets us fetch) the patient's
latest Backstory QuestionnaireResponse, and the cards are computed from it with the same
engine as every other adapter. Nothing here fetches: :func:`fetch_plan` says which FHIR search
a call needs when the EHR sent no prefetch, and the web app decides whether to make it (only
from an operator's allow-list, :mod:`backstory.cds.servers`) and passes the result back in as
the prefetch.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.resources.abc import Traversable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backstory.contract import AssessmentError, parse_assessment
from backstory.core.engine import assess
from backstory.core.report import Report
from backstory.errors import BackstoryError
from backstory.fhir.questionnaire import questionnaire_url
from backstory.fhir.response import response_to_assessment
from backstory.knowledge.files import (
    KnowledgeError,
    data_root,
    first_places,
    load_bibliography_from,
    read_yaml,
    validate,
)
from backstory.knowledge.loader import KnowledgeBase, load_knowledge, load_knowledge_from

DATA_FILE = "cds.yaml"

_NS = uuid.UUID("5f1d7c3e-8a1b-4f7e-9c2d-6b0a3e4d2c11")
MAX_SUMMARY = 140

ReportLink = Callable[[Mapping[str, Any]], str | None]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceText(_Model):
    id: str
    title: str
    description: str


class Services(_Model):
    patient_view: ServiceText
    order_select: ServiceText


class ImagingOrder(_Model):
    site: list[str]
    modality: list[str]
    citations: list[str]


class CardText(_Model):
    summary: str
    detail: str
    cancel_label: str = ""
    citations: list[str]


class Cards(_Model):
    imaging_not_routine: CardText
    imaging_screen_incomplete: CardText
    imaging_warning_signs: CardText


Indicator = Literal["critical", "warning", "info"]
_SEVERITY: Mapping[str, int] = {"critical": 2, "warning": 1, "info": 0}


class LevelCard(_Model):
    """How one triage level shows on a card: its heading and its CDS Hooks indicator."""

    id: Literal["emergency", "urgent", "soon", "routine"]
    words: str = Field(min_length=1)
    indicator: Indicator


class Decisions(_Model):
    """Which cards a report gets (cds.yaml ``decisions``)."""

    imaging_advice_levels: list[str] = Field(min_length=1)
    no_plan_categories: list[str]
    citations: list[str] = Field(min_length=1)


class OverrideReason(_Model):
    code: str
    display: str


class CdsKnowledge(_Model):
    version: str
    services: Services
    imaging_order: ImagingOrder
    cards: Cards
    override_reasons: list[OverrideReason]
    levels: list[LevelCard]
    decisions: Decisions

    def level(self, level: str) -> LevelCard:
        """How a triage level shows on a card (every level is in the data: checked at load)."""
        return next(lv for lv in self.levels if lv.id == level)


def _check_levels(ck: CdsKnowledge, kb: KnowledgeBase) -> None:
    """Every triage level once, real levels and categories in the decisions, and an indicator
    never milder for a higher level (an emergency is always critical)."""
    rank = {str(lv.id): lv.rank for lv in kb.red_flags.levels}
    given = [lv.id for lv in ck.levels]
    if sorted(given) != sorted(rank):
        raise KnowledgeError(f"need each of {sorted(rank)} once", file=DATA_FILE, path="levels")
    ordered = sorted(ck.levels, key=lambda lv: -rank[lv.id])
    if _SEVERITY[ordered[0].indicator] != max(_SEVERITY.values()):
        raise KnowledgeError(
            f"the highest level ({ordered[0].id}) must be critical", file=DATA_FILE, path="levels"
        )
    for higher, lower in itertools.pairwise(ordered):
        if _SEVERITY[higher.indicator] < _SEVERITY[lower.indicator]:
            raise KnowledgeError(
                f"{higher.id} shows milder than {lower.id}", file=DATA_FILE, path="levels"
            )
    d = ck.decisions
    for lv in d.imaging_advice_levels:
        if lv not in rank:
            raise KnowledgeError(f"{lv!r} is not a triage level", file=DATA_FILE, path="decisions")
    top = max(rank, key=lambda k: rank[k])
    if top in d.imaging_advice_levels:
        raise KnowledgeError(
            f"no advice against imaging at level {top}", file=DATA_FILE, path="decisions"
        )
    categories = {c.id for c in kb.classification.precedence}
    for c in d.no_plan_categories:
        if c not in categories:
            raise KnowledgeError(f"{c!r} is not a category", file=DATA_FILE, path="decisions")


def load_cds_knowledge_from(root: Traversable, kb: KnowledgeBase | None = None) -> CdsKnowledge:
    """The CDS Hooks knowledge in a folder laid out like the bundled one, checked.

    Every pattern must compile and every citation must resolve.

    Raises:
        KnowledgeError: naming the file and the place of the first problem.
    """
    ck = validate(CdsKnowledge, read_yaml(root, DATA_FILE), DATA_FILE)
    _check_levels(ck, kb or load_knowledge_from(root))
    order = ck.imaging_order
    for kind, patterns in (("site", order.site), ("modality", order.modality)):
        for i, pattern in enumerate(patterns):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise KnowledgeError(
                    f"pattern does not compile ({exc})",
                    file=DATA_FILE,
                    path=f"imaging_order.{kind}[{i}]",
                ) from None
    cited = [("imaging_order.citations", order.citations)]
    cited += [("decisions.citations", ck.decisions.citations)]
    cited += [(f"cards.{n}.citations", getattr(ck.cards, n).citations) for n in Cards.model_fields]
    load_bibliography_from(root).check_cited(first_places(cited), DATA_FILE)
    return ck


@cache
def load_cds_knowledge() -> CdsKnowledge:
    """The bundled CDS Hooks knowledge (validated once per process)."""
    return load_cds_knowledge_from(data_root(), load_knowledge())


class CdsError(BackstoryError):
    """A hook call that cannot be answered; ``status`` is the HTTP status to return."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class CdsResponse:
    """A successful hook response body (``{"cards": [...]}``)."""

    cards: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"cards": self.cards}


_ID = re.compile(r"^[A-Za-z0-9._:-]{1,60}$")
HOOKS = {"patient_view": "patient-view", "order_select": "order-select"}


NOT_FETCHED = (
    "prefetch 'assessment' is missing and the assessment was not fetched from the FHIR server "
    "(Backstory fetches only from FHIR servers its operator has allowed); send the assessment "
    "as prefetch"
)
"""The one answer (HTTP 412) for every fetch not made or failed, whatever the cause, so that
a caller learns nothing about the address it named."""


def _search_params(patient: str) -> tuple[tuple[str, str], ...]:
    return (
        ("subject", patient),
        ("questionnaire", questionnaire_url("assessment")),
        ("status", "completed"),
        ("_sort", "-authored"),
        ("_count", "1"),
    )


def _prefetch_query() -> str:
    return "QuestionnaireResponse?" + "&".join(
        f"{k}={v}" for k, v in _search_params("{{context.patientId}}")
    )


@dataclass(frozen=True)
class FhirSearch:
    """The FHIR search a hook call needs because the EHR sent no prefetch: the ``fhirServer``
    the caller named (not checked against anything yet), the resource type, the search
    parameters (to be URL-encoded by the fetcher) and the caller's ``fhirAuthorization``
    access token."""

    server: str
    resource_type: str
    params: tuple[tuple[str, str], ...]
    token: str | None = field(repr=False)


def discovery(ck: CdsKnowledge | None = None) -> dict[str, Any]:
    """The CDS Hooks discovery document."""
    c = ck or load_cds_knowledge()
    out = []
    for key, hook in HOOKS.items():
        text: ServiceText = getattr(c.services, key)
        out.append(
            {
                "hook": hook,
                "id": text.id,
                "title": text.title,
                "description": text.description,
                "prefetch": {"assessment": _prefetch_query()},
                "usageRequirements": (
                    "Send the patient's latest completed Backstory QuestionnaireResponse as "
                    "prefetch 'assessment' (or name as fhirServer a FHIR server this Backstory's "
                    "operator has allowed it to fetch from); authenticate with a "
                    "JWT signed by a CDS client registered with this Backstory (ES384 or "
                    "RS384), or a Backstory API token."
                ),
            }
        )
    return {"services": out}


def _service_key(service_id: str, ck: CdsKnowledge) -> str:
    for key in HOOKS:
        if getattr(ck.services, key).id == service_id:
            return key
    raise CdsError(404, f"no CDS service called {service_id!r}")


def _require(obj: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = obj.get(key)
    if not isinstance(value, kind):
        raise CdsError(400, f"{where}{key} is required ({kind.__name__})")
    return value


def _latest_response(value: Any) -> Mapping[str, Any] | None:
    """The most recent QuestionnaireResponse in a resource or a search Bundle."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise CdsError(400, "prefetch 'assessment' must be a FHIR resource or Bundle")
    if value.get("resourceType") == "QuestionnaireResponse":
        return value
    if value.get("resourceType") == "Bundle":
        found: list[Mapping[str, Any]] = [
            e["resource"]
            for e in value.get("entry") or []
            if isinstance(e, Mapping)
            and isinstance(e.get("resource"), Mapping)
            and e["resource"].get("resourceType") == "QuestionnaireResponse"
        ]
        if not found:
            return None
        return max(found, key=lambda r: str(r.get("authored", "")))
    raise CdsError(400, "prefetch 'assessment' must be a QuestionnaireResponse or a Bundle")


def _has_prefetch(request: Mapping[str, Any]) -> bool:
    prefetch = request.get("prefetch")
    return isinstance(prefetch, Mapping) and "assessment" in prefetch


def _assessment_resource(request: Mapping[str, Any]) -> Any:
    """The prefetched assessment resource; None means "searched, none found"."""
    if _has_prefetch(request):
        return request["prefetch"]["assessment"]
    server = request.get("fhirServer")
    if isinstance(server, str) and server:
        raise CdsError(412, NOT_FETCHED)
    raise CdsError(
        412,
        "prefetch 'assessment' is missing and no FHIR server was given to fetch it from",
    )


def _checked(service_id: str, request: Any, ck: CdsKnowledge) -> tuple[str, list[str]]:
    """The service's key and the selected imaging orders, once the request's shape is valid."""
    key = _service_key(service_id, ck)
    if not isinstance(request, Mapping):
        raise CdsError(400, "the hook request must be a JSON object")
    if request.get("hook") != HOOKS[key]:
        raise CdsError(400, f"this service answers the {HOOKS[key]} hook")
    _require(request, "hookInstance", str, "")
    context = _require(request, "context", Mapping, "")
    _require(context, "patientId", str, "context.")
    _require(context, "userId", str, "context.")
    orders = _selected_imaging(context, ck) if key == "order_select" else []
    return key, orders


def fetch_plan(service_id: str, request: Any) -> FhirSearch | None:
    """The FHIR search to make before :func:`handle_hook` can answer, or None when none is
    needed: the prefetch was sent, the order holds no lumbar imaging, or no ``fhirServer`` was
    named (then :func:`handle_hook` answers 412).

    Raises:
        CdsError: as :func:`handle_hook`, for a request that is not valid.
    """
    key, orders = _checked(service_id, request, load_cds_knowledge())
    if key == "order_select" and not orders:
        return None
    server = request.get("fhirServer")
    if _has_prefetch(request) or not isinstance(server, str) or not server:
        return None
    auth = request.get("fhirAuthorization")
    token = auth.get("access_token") if isinstance(auth, Mapping) else None
    patient = f"Patient/{request['context']['patientId']}"
    return FhirSearch(
        server,
        "QuestionnaireResponse",
        _search_params(patient),
        token if isinstance(token, str) and token else None,
    )


def with_prefetch(request: Mapping[str, Any], resource: Any) -> dict[str, Any]:
    """A copy of the hook request with ``resource`` (fetched) as its prefetch 'assessment'."""
    prefetch = request.get("prefetch")
    return {
        **request,
        "prefetch": {**(prefetch if isinstance(prefetch, Mapping) else {}), "assessment": resource},
    }


def _uuid(request: Mapping[str, Any], key: str) -> str:
    return str(uuid.uuid5(_NS, f"{request.get('hookInstance')}:{key}"))


def _source(kb: KnowledgeBase) -> dict[str, Any]:
    return {"label": f"Backstory (knowledge {kb.version})"}


def _short(text: str) -> str:
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1].rstrip() + "…"


def _names(ids: Sequence[str]) -> str:
    return ", ".join(s.replace("_", " ") for s in ids)


def _triage_card(
    report: Report,
    request: Mapping[str, Any],
    kb: KnowledgeBase,
    link: str | None,
    ck: CdsKnowledge,
) -> dict[str, Any]:
    t = report.triage
    head = ck.level(t.level).words
    summary = (
        f"{head}: suspected {_names(t.suspected)}"
        if t.suspected
        else f"{head}: no warning signs; {report.classification.name.lower()}"
    )
    lines = [f"**{head}.** {t.action}", ""]
    for r in t.reasons:
        because = ", ".join(f"{a.field} = {a.value}" for a in r.because)
        lines.append(f"- **{r.title}** ({r.level}): {r.action} *Because:* {because}.")
    if not report.screening.complete:
        lines += [
            "",
            f"{len(report.screening.unanswered)} essential warning-sign questions were not "
            "asked: " + ", ".join(report.screening.unanswered) + ".",
        ]
    if report.assessed_on:
        lines += ["", f"Assessment of {report.assessed_on}; knowledge {report.knowledge_version}."]
    card: dict[str, Any] = {
        "uuid": _uuid(request, "triage"),
        "summary": _short(summary),
        "detail": "\n".join(lines),
        "indicator": ck.level(t.level).indicator,
        "source": _source(kb),
    }
    if link:
        card["links"] = [{"label": "Open the Backstory report", "url": link, "type": "absolute"}]
    return card


def _plan_card(report: Report, request: Mapping[str, Any], kb: KnowledgeBase) -> dict[str, Any]:
    m = report.management
    risk = (report.scores.get("startback") or {}).get("risk")
    summary = f"Plan for {report.classification.name.lower()} (NICE NG59)"
    if risk:
        summary += f": STarT Back {risk} risk"
    lines = ["**Recommended**", ""]
    for r in m.recommended:
        lines.append(f"- [{r.kind}] {r.text}")
        lines += [f"  - **Caution:** {cx.text}" for cx in r.cautions]
        if r.check_first:
            lines.append(f"  - Check first (unanswered): {', '.join(r.check_first)}")
    if m.not_recommended:
        lines += ["", "**Not recommended (NICE NG59)**", ""]
        lines += [f"- {r.text}" for r in m.not_recommended]
    for pw in m.pathways:
        lines += ["", f"**{pw.name}:** {pw.summary}"]
    return {
        "uuid": _uuid(request, "plan"),
        "summary": _short(summary),
        "detail": "\n".join(lines),
        "indicator": "info",
        "source": _source(kb),
    }


def _note_card(
    request: Mapping[str, Any], kb: KnowledgeBase, key: str, summary: str, detail: str
) -> dict[str, Any]:
    return {
        "uuid": _uuid(request, key),
        "summary": _short(summary),
        "detail": detail,
        "indicator": "info",
        "source": _source(kb),
    }


def _is_imaging(resource: Mapping[str, Any], ck: CdsKnowledge) -> bool:
    code = resource.get("code")
    if not isinstance(code, Mapping):
        return False
    texts = [str(code.get("text") or "")]
    texts += [
        str(c.get("display") or "") for c in code.get("coding") or [] if isinstance(c, Mapping)
    ]
    words = " ".join(texts)
    site = any(re.search(p, words, re.IGNORECASE) for p in ck.imaging_order.site)
    modality = any(re.search(p, words, re.IGNORECASE) for p in ck.imaging_order.modality)
    return site and modality


def _selected_imaging(context: Mapping[str, Any], ck: CdsKnowledge) -> list[str]:
    selections = _require(context, "selections", list, "context.")
    drafts = _require(context, "draftOrders", Mapping, "context.")
    found: list[str] = []
    for entry in drafts.get("entry") or []:
        res = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(res, Mapping) or res.get("resourceType") != "ServiceRequest":
            continue
        ref = f"ServiceRequest/{res.get('id')}"
        if ref in selections and _is_imaging(res, ck):
            found.append(ref)
    return found


def _imaging_cards(
    report: Report,
    request: Mapping[str, Any],
    kb: KnowledgeBase,
    ck: CdsKnowledge,
    orders: list[str],
) -> list[dict[str, Any]]:
    t = report.triage
    when = report.assessed_on or "date not recorded"
    if t.level not in ck.decisions.imaging_advice_levels:
        text = ck.cards.imaging_warning_signs
        return [
            _note_card(
                request,
                kb,
                "imaging",
                text.summary.format(level=t.level),
                text.detail.format(assessed_on=when, suspected=_names(t.suspected)),
            )
        ]
    if not report.screening.complete:
        text = ck.cards.imaging_screen_incomplete
        return [
            _note_card(
                request,
                kb,
                "imaging",
                text.summary,
                text.detail.format(assessed_on=when, missing=len(report.screening.unanswered)),
            )
        ]
    text = ck.cards.imaging_not_routine
    return [
        {
            "uuid": _uuid(request, "imaging"),
            "summary": _short(text.summary),
            "detail": text.detail.format(
                assessed_on=when, category=report.classification.name.lower()
            ),
            "indicator": "warning",
            "source": _source(kb),
            "selectionBehavior": "at-most-one",
            "suggestions": [
                {
                    "label": text.cancel_label,
                    "uuid": _uuid(request, "imaging-cancel"),
                    "isRecommended": True,
                    "actions": [
                        {"type": "delete", "description": text.cancel_label, "resourceId": orders}
                    ],
                }
            ],
            "overrideReasons": [
                {
                    "code": r.code,
                    "system": "https://backstory.example/fhir/CodeSystem/cds-override",
                    "display": r.display,
                }
                for r in ck.override_reasons
            ],
        }
    ]


def handle_hook(
    service_id: str,
    request: Any,
    *,
    knowledge: KnowledgeBase | None = None,
    report_link: ReportLink | None = None,
) -> CdsResponse:
    """Answer one hook call from its prefetch (fetching, if any, was done before: see
    :func:`fetch_plan` and :func:`with_prefetch`).

    Raises:
        CdsError: 404 unknown service, 400 malformed request, 412 required data missing.
    """
    kb = knowledge or load_knowledge()
    ck = load_cds_knowledge()
    key, orders = _checked(service_id, request, ck)
    if key == "order_select" and not orders:
        return CdsResponse([])
    resource = _assessment_resource(request)
    qr = _latest_response(resource)
    if qr is None:
        return CdsResponse(
            [
                _note_card(
                    request,
                    kb,
                    "none",
                    "No Backstory assessment on record",
                    "Complete a Backstory assessment to get triage and a plan.",
                )
            ]
        )
    try:
        data = response_to_assessment(qr, kb)
        assessment = parse_assessment(data, kb.contract)
    except AssessmentError as exc:
        problems = "; ".join(str(i) for i in exc.issues[:5])
        return CdsResponse(
            [
                {
                    **_note_card(
                        request,
                        kb,
                        "unreadable",
                        "The latest Backstory questionnaire response could not be read",
                        f"Problems: {problems}. Check the response, then ask again.",
                    ),
                    "indicator": "warning",
                }
            ]
        )
    report = assess(assessment, kb)
    if key == "order_select":
        return CdsResponse(_imaging_cards(report, request, kb, ck, orders))
    link = report_link(data) if report_link else None
    cards = [_triage_card(report, request, kb, link, ck)]
    if report.category not in ck.decisions.no_plan_categories:
        cards.append(_plan_card(report, request, kb))
    return CdsResponse(cards)


Outcome = Literal["accepted", "overridden"]


def parse_feedback(service_id: str, body: Any) -> list[dict[str, Any]]:
    """The feedback entries to audit: card uuid, outcome, accepted suggestions, reason code.

    Raises:
        CdsError: 404 unknown service, 400 malformed feedback.
    """
    _service_key(service_id, load_cds_knowledge())
    if not isinstance(body, Mapping) or not isinstance(body.get("feedback"), list):
        raise CdsError(400, "feedback must be an object with a 'feedback' list")
    out: list[dict[str, Any]] = []
    for i, fb in enumerate(body["feedback"]):
        if not isinstance(fb, Mapping):
            raise CdsError(400, f"feedback[{i}] must be an object")
        card, outcome = fb.get("card"), fb.get("outcome")
        if (
            not isinstance(card, str)
            or not _ID.match(card)
            or outcome not in ("accepted", "overridden")
        ):
            raise CdsError(400, f"feedback[{i}] needs a card uuid and outcome accepted|overridden")
        accepted = [
            str(s["id"])
            for s in fb.get("acceptedSuggestions") or []
            if isinstance(s, Mapping) and isinstance(s.get("id"), str)
        ]
        reason = fb.get("overrideReason")
        code = None
        if isinstance(reason, Mapping) and isinstance(reason.get("reason"), Mapping):
            code = reason["reason"].get("code")
        out.append(
            {
                "card": card,
                "outcome": outcome,
                "accepted": ",".join(a for a in accepted if _ID.match(a)),
                "override_reason": code if isinstance(code, str) and _ID.match(code) else None,
                "at": str(fb.get("outcomeTimestamp", "")),
            }
        )
    return out
