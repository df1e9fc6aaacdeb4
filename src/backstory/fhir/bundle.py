"""Export of one assessed report as a FHIR R4 collection Bundle, checked with the R4B models.

The Bundle carries the answers (QuestionnaireResponse), each score as an Observation, the
STarT Back group and the red-flag triage as RiskAssessments, a Condition only where a verified
code fits the working classification exactly, the patient explanation as a DocumentReference
when one is given, and a Provenance naming the knowledge version and the rules that fired - so
a receiving system can tell what Backstory concluded and from what.

Every fullUrl is a ``urn:uuid`` derived (uuid5) from the validated answers, the knowledge
version, the subject and the explanation, so exporting the same assessment again gives the
same identifiers; only ``Provenance.recorded`` (and ``DocumentReference.date``) say when.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from backstory import __version__
from backstory.contract import Assessment, parse_assessment
from backstory.core.engine import assess
from backstory.core.report import Report
from backstory.fhir.codes import FhirTable, ObservationDef, load_table
from backstory.fhir.r4b import validate
from backstory.fhir.response import assessment_to_response
from backstory.knowledge.loader import KnowledgeBase, load_knowledge

_UNIDENTIFIED = "Unidentified person (no patient record was linked to this export)"


@dataclass(frozen=True, slots=True)
class PatientText:
    """A rendered patient explanation to attach as a DocumentReference (UTF-8 text or HTML)."""

    content: str
    content_type: Literal["text/plain", "text/html"] = "text/plain"
    title: str = "Your back pain assessment explained"
    language: str = "en"


class _Ids:
    """Deterministic urn:uuid references: the same content always gets the same ids."""

    def __init__(self, table: FhirTable, content: Any) -> None:
        self.namespace = uuid.uuid5(uuid.NAMESPACE_URL, table.canonical)
        blob = json.dumps(content, sort_keys=True, separators=(",", ":"), default=list)
        self.digest = hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def uuid(self, key: str) -> str:
        return str(uuid.uuid5(self.namespace, f"{self.digest}/{key}"))

    def ref(self, key: str) -> str:
        return f"urn:uuid:{self.uuid(key)}"


def _score(report: Report, path: str) -> Any:
    group, _, key = path.partition(".")
    if group == "pain":
        return report.pain.get(key)
    scores = report.scores.get(group)
    return None if scores is None else scores.get(key)


def _concept(table: FhirTable, code_id: str, text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"coding": [table.code(code_id).coding()]}
    if text:
        out["text"] = text
    return out


def _observation(
    table: FhirTable, o: ObservationDef, value: Any, common: Mapping[str, Any], qr: str
) -> dict[str, Any]:
    coding = table.code(o.code).coding() if o.code else table.project_coding(str(o.project_code))
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": [_concept(table, "category-survey")],
        "code": {"coding": [coding], "text": o.text},
        **common,
        "derivedFrom": [{"reference": qr}],
    }
    if o.body_site:
        obs["bodySite"] = {"text": o.body_site}
    if o.unit:
        unit = table.code(o.unit)
        obs["valueQuantity"] = {
            "value": value,
            "unit": unit.code,
            "system": unit.system,
            "code": unit.code,
        }
    else:
        obs["valueInteger"] = value
    return obs


def _condition(
    table: FhirTable, code_id: str, text: str, note: str, common: Mapping[str, Any], qr: str
) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "clinicalStatus": _concept(table, "condition-active"),
        # Backstory suspects; it never confirms. "provisional" is FHIR's "tentative diagnosis".
        "verificationStatus": _concept(table, "condition-provisional"),
        "category": [_concept(table, "condition-encounter-diagnosis")],
        "code": _concept(table, code_id, text),
        "subject": common["subject"],
        "evidence": [{"detail": [{"reference": qr}]}],
        "note": [{"text": note}],
    }


def _triage(
    table: FhirTable, kb: KnowledgeBase, report: Report, qr: str, subject: Mapping[str, Any]
) -> dict[str, Any]:
    """The red-flag triage as a RiskAssessment: one prediction per suspected condition.

    Suspicions are predictions of an outcome, never Conditions: Backstory does not diagnose.
    The level and action go in ``mitigation``; warnings (an incomplete warning-sign screen
    among them) go in notes so that "routine" is never read as "nothing was missed".
    """
    names: dict[str, str] = {c.id: c.name for c in kb.red_flags.conditions}
    predictions = []
    for suspected in report.triage.suspected:
        outcome: dict[str, Any] = {"text": names.get(suspected, suspected)}
        code_id = table.suspected.get(suspected)
        if code_id is not None and table.code(code_id).emittable:
            outcome["coding"] = [table.code(code_id).coding()]
        why = [r.rationale for r in report.triage.reasons if suspected in r.suspected]
        prediction: dict[str, Any] = {"outcome": outcome}
        if why:
            prediction["rationale"] = " ".join(dict.fromkeys(why))
        predictions.append(prediction)
    ra: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "status": "final",
        "code": {"text": "Red-flag triage for serious causes of low back pain"},
        "method": {"text": f"Backstory triage rules, knowledge {report.knowledge_version}"},
        "subject": dict(subject),
    }
    if report.assessed_on:
        ra["occurrenceDateTime"] = report.assessed_on
    ra["basis"] = [{"reference": qr}]
    if predictions:
        ra["prediction"] = predictions
    ra["mitigation"] = f"Triage level {report.triage.level}: {report.triage.action}"
    if report.warnings:
        ra["note"] = [{"text": w.message} for w in report.warnings]
    return ra


def _instant(recorded: dt.datetime | None) -> str:
    if recorded is None:
        recorded = dt.datetime.now(dt.UTC)
    if recorded.tzinfo is None:
        raise ValueError("recorded needs a time zone (FHIR instants always carry one)")
    return recorded.replace(microsecond=0).isoformat()


def export_bundle(
    assessment: Assessment | Mapping[str, Any],
    *,
    report: Report | None = None,
    knowledge: KnowledgeBase | None = None,
    explanation: PatientText | None = None,
    subject: Mapping[str, Any] | None = None,
    recorded: dt.datetime | None = None,
) -> dict[str, Any]:
    """The assessment and its report as a FHIR R4 ``collection`` Bundle (JSON dict).

    ``report`` defaults to assessing ``assessment`` with ``knowledge`` (default: bundled).
    ``subject`` is a FHIR Reference for every resource's subject (default: a display-only
    reference saying no patient was linked). ``recorded`` (time-zone aware) dates the
    Provenance; it defaults to now. Raises :class:`backstory.AssessmentError` for an invalid
    assessment and :class:`backstory.fhir.FhirValidationError` if the Bundle would not
    validate (a bug, never expected).
    """
    kb = knowledge or load_knowledge()
    if not isinstance(assessment, Assessment):
        assessment = parse_assessment(assessment, kb.contract)
    report = report or assess(assessment, kb)
    table = load_table()
    subject = dict(subject) if subject is not None else {"display": _UNIDENTIFIED}
    shown = (
        [explanation.content_type, explanation.content, explanation.title, explanation.language]
        if explanation
        else None
    )
    ids = _Ids(
        table,
        {
            "answers": dict(assessment.answers),
            "knowledge": report.knowledge_version,
            "subject": subject,
            "explanation": shown,
        },
    )
    when = _instant(recorded)
    common: dict[str, Any] = {"subject": subject}
    if report.assessed_on:
        common["effectiveDateTime"] = report.assessed_on

    entries: list[tuple[str, dict[str, Any]]] = []
    qr_ref = ids.ref("QuestionnaireResponse")
    entries.append(
        (
            qr_ref,
            assessment_to_response(assessment, report=report, knowledge=kb, subject=subject),
        )
    )
    obs_refs: dict[str, str] = {}
    for o in table.observations:
        value = _score(report, o.score)
        if value is None:
            continue
        obs_refs[o.id] = ids.ref(f"Observation/{o.id}")
        entries.append((obs_refs[o.id], _observation(table, o, value, common, qr_ref)))

    sb = report.scores.get("startback")
    if sb is not None and sb.get("risk") in table.risk_groups:
        risk = sb["risk"]
        basis = [qr_ref] + [
            obs_refs[k] for k in ("startback.total", "startback.psychosocial") if k in obs_refs
        ]
        inst = next(i for i in kb.instruments.instruments if i.id == "startback")
        ra: dict[str, Any] = {
            "resourceType": "RiskAssessment",
            "status": "final",
            "method": {"coding": [table.project_coding("startback")], "text": inst.name},
            "subject": subject,
        }
        if report.assessed_on:
            ra["occurrenceDateTime"] = report.assessed_on
        ra["basis"] = [{"reference": r} for r in basis]
        ra["prediction"] = [
            {
                "outcome": {"text": table.risk_outcome},
                "qualitativeRisk": _concept(
                    table, table.risk_groups[risk], f"STarT Back {risk} risk"
                ),
            }
        ]
        entries.append((ids.ref("RiskAssessment/startback"), ra))

    entries.append((ids.ref("RiskAssessment/triage"), _triage(table, kb, report, qr_ref, subject)))
    category_code = table.conditions.get(report.category)
    if category_code is not None and table.code(category_code).emittable:
        cond = _condition(
            table,
            category_code,
            report.classification.name,
            f"Backstory's working classification: {report.classification.rationale}",
            common,
            qr_ref,
        )
        entries.append((ids.ref(f"Condition/{report.category}"), cond))

    if explanation is not None:
        data = base64.b64encode(explanation.content.encode("utf-8")).decode("ascii")
        doc = {
            "resourceType": "DocumentReference",
            "status": "current",
            "type": {"text": "Patient explanation of a low back pain assessment"},
            "subject": subject,
            "date": when,
            "description": explanation.title,
            "content": [
                {
                    "attachment": {
                        "contentType": f"{explanation.content_type}; charset=utf-8",
                        "language": explanation.language,
                        "data": data,
                        "title": explanation.title,
                    }
                }
            ],
            "context": {"related": [{"reference": qr_ref}]},
        }
        entries.append((ids.ref("DocumentReference/explanation"), doc))

    entries.append((ids.ref("Provenance"), _provenance(table, kb, report, entries, when)))
    bundle = {
        "resourceType": "Bundle",
        "id": ids.uuid("Bundle"),
        "type": "collection",
        "entry": [{"fullUrl": ref, "resource": res} for ref, res in entries],
    }
    validate(bundle)
    return bundle


def _provenance(
    table: FhirTable,
    kb: KnowledgeBase,
    report: Report,
    entries: list[tuple[str, dict[str, Any]]],
    when: str,
) -> dict[str, Any]:
    """Who produced the exported resources, from which knowledge and by which rules."""
    systems = table.systems
    entity = [
        {
            "role": "source",
            "what": {
                "identifier": {"system": systems.knowledge, "value": report.knowledge_version},
                "display": f"{kb.manifest.name} {report.knowledge_version}",
            },
        }
    ]
    for reason in report.triage.reasons:
        entity.append(
            {
                "role": "source",
                "what": {
                    "identifier": {"system": systems.rules, "value": reason.rule},
                    "display": f"{reason.rule}: {reason.title} ({reason.level})",
                },
            }
        )
    entity.append(
        {
            "role": "source",
            "what": {
                "identifier": {"system": systems.classification, "value": report.category},
                "display": report.classification.name,
            },
        }
    )
    contradictions = {c.id for c in kb.contradictions}
    for w in report.warnings:
        if w.code in contradictions:
            entity.append(
                {
                    "role": "source",
                    "what": {
                        "identifier": {"system": systems.contradictions, "value": w.code},
                        "display": w.message,
                    },
                }
            )
    return {
        "resourceType": "Provenance",
        "target": [{"reference": ref} for ref, _ in entries],
        "recorded": when,
        "activity": {"text": "Triage, classification and scoring by Backstory"},
        "agent": [
            {
                "type": _concept(table, "agent-performer"),
                "who": {"display": f"Backstory {__version__}"},
            }
        ],
        "entity": entity,
    }
