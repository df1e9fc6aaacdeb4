"""The exported Bundle: valid R4B, only verified codes, reproducible ids, faithful to the report."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings

import backstory.fhir.bundle as bundle_module
from backstory.contract import AssessmentError, parse_assessment
from backstory.core.engine import assess
from backstory.fhir import PatientText, export_bundle, response_to_assessment
from backstory.fhir.codes import load_table
from backstory.knowledge.loader import KnowledgeBase
from backstory.testing import assessments

WHEN = dt.datetime(2026, 1, 5, 10, 30, tzinfo=dt.UTC)
UUID = re.compile(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

CES: dict[str, Any] = {
    "id": "p01",
    "assessed_on": "2026-01-05",
    "age": 39,
    "history": {"duration_weeks": 1},
    "pain": {"back": 7, "leg": 8, "leg_side": "both", "below_knee": True},
    "red_flags": {"saddle_anaesthesia": True, "bladder_dysfunction": True},
    "startback": [1, 0, 1, 0, 1, 1, 1, 0, "very_much"],
    "odi": [1, 2, 3, None, 4, 5, 0, 1, 2, 3],
    "rmdq": [1, 0] * 12,
}


def resources(b: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == kind]


def by_code(b: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [o for o in resources(b, "Observation") if o["code"]["coding"][0]["code"] == code]


@settings(max_examples=max(40, settings().max_examples // 3))
@given(assessments())
def test_every_export_validates_and_emits_only_verified_codes(
    fhir_check: Callable[[dict[str, Any]], list[str]], data: dict[str, Any]
) -> None:
    b = export_bundle(data, explanation=PatientText("Plain words."), recorded=WHEN)
    assert fhir_check(b) == []
    assert b["type"] == "collection"
    refs = [e["fullUrl"] for e in b["entry"]]
    assert all(UUID.match(r) for r in refs) and len(set(refs)) == len(refs)
    text = json.dumps(b)
    for ref in re.findall(r'"reference": "([^"]+)"', text):
        assert ref in refs, ref  # every reference resolves inside the Bundle
    (qr,) = resources(b, "QuestionnaireResponse")
    assert parse_assessment(response_to_assessment(qr)).answers == {
        k: v
        for k, v in parse_assessment(data).answers.items()
        if not (isinstance(v, tuple) and set(v) == {None})
    }


def test_exports_are_reproducible_and_content_addressed() -> None:
    first = export_bundle(CES, recorded=WHEN)
    assert export_bundle(CES, recorded=WHEN) == first
    later = export_bundle(CES, recorded=WHEN + dt.timedelta(days=1))
    assert [e["fullUrl"] for e in later["entry"]] == [e["fullUrl"] for e in first["entry"]]
    assert later["id"] == first["id"]
    other = export_bundle({**CES, "age": 40}, recorded=WHEN)
    assert not {e["fullUrl"] for e in other["entry"]} & {e["fullUrl"] for e in first["entry"]}
    with_text = export_bundle(CES, recorded=WHEN, explanation=PatientText("x"))
    assert with_text["id"] != first["id"]


def test_scores_become_observations(kb: KnowledgeBase) -> None:
    b = export_bundle(CES, recorded=WHEN)
    report = assess(parse_assessment(CES), kb)
    back, leg = by_code(b, "72514-3")
    assert (back["valueInteger"], back["bodySite"]["text"]) == (7, "Lower back")
    assert (leg["valueInteger"], leg["bodySite"]["text"]) == (8, "Leg")
    (odi,) = by_code(b, "97909-6")
    assert odi["valueQuantity"] == {
        "value": report.scores["odi"]["percent"] if report.scores["odi"] else None,
        "unit": "%",
        "system": "http://unitsofmeasure.org",
        "code": "%",
    }
    assert report.scores["startback"] is not None and report.scores["rmdq"] is not None
    assert by_code(b, "startback-total")[0]["valueInteger"] == report.scores["startback"]["total"]
    psych = by_code(b, "startback-psychosocial")[0]
    assert psych["valueInteger"] == report.scores["startback"]["psychosocial"]
    assert by_code(b, "rmdq-score")[0]["valueInteger"] == report.scores["rmdq"]["score"]
    for o in resources(b, "Observation"):
        assert o["status"] == "final" and o["effectiveDateTime"] == "2026-01-05"
        coding = o["code"]["coding"][0]
        assert coding["system"] in ("http://loinc.org", load_table().systems.instruments)


def test_missing_scores_are_left_out() -> None:
    b = export_bundle({"age": 30, "pain": {"back": 3}}, recorded=WHEN)
    assert len(resources(b, "Observation")) == 1
    assert [r["code"]["text"] for r in resources(b, "RiskAssessment")] == [
        "Red-flag triage for serious causes of low back pain"
    ]


@pytest.mark.parametrize(
    ("startback", "risk", "code"),
    [
        ([0] * 8 + ["not_at_all"], "low", "low"),
        ([1, 1, 1, 1, 0, 0, 0, 0, "moderately"], "medium", "moderate"),
        ([0, 0, 0, 0, 1, 1, 1, 0, "very_much"], "high", "high"),
    ],
)
def test_startback_group_is_a_risk_assessment(startback: list[Any], risk: str, code: str) -> None:
    b = export_bundle({"age": 30, "startback": startback}, recorded=WHEN)
    (ra,) = [r for r in resources(b, "RiskAssessment") if "coding" in r["method"]]
    assert ra["method"]["coding"][0]["code"] == "startback"
    q = ra["prediction"][0]["qualitativeRisk"]
    assert q["coding"][0]["system"] == "http://terminology.hl7.org/CodeSystem/risk-probability"
    assert q["coding"][0]["code"] == code
    assert q["text"] == f"STarT Back {risk} risk"
    refs = {e["resource"]["resourceType"]: e["fullUrl"] for e in b["entry"]}
    assert {"reference": refs["QuestionnaireResponse"]} in ra["basis"]
    assert len(ra["basis"]) == 3


def test_suspicions_go_to_the_triage_risk_assessment_never_to_conditions() -> None:
    b = export_bundle(CES, recorded=WHEN)
    assert resources(b, "Condition") == []
    (triage,) = [r for r in resources(b, "RiskAssessment") if "coding" not in r["method"]]
    (prediction,) = triage["prediction"]
    assert prediction["outcome"]["coding"] == [
        {
            "system": "http://hl7.org/fhir/sid/icd-10-cm",
            "code": "G83.4",
            "display": "Cauda equina syndrome",
        }
    ]
    assert triage["mitigation"].startswith("Triage level emergency:")
    assert any("essential warning-sign" in n["text"] for n in triage["note"])


def test_no_condition_without_a_verified_code(kb: KnowledgeBase) -> None:
    """Non-specific low back pain maps to M54.50, which is only [S]: nothing is exported."""
    b = export_bundle({"age": 30, "pain": {"back": 4, "leg": 0}}, recorded=WHEN)
    assert assess(parse_assessment({"age": 30, "pain": {"back": 4}}), kb).category == (
        "non_specific"
    )
    assert resources(b, "Condition") == []
    assert "M54.5" not in json.dumps(b)


def test_a_verified_category_code_gives_a_provisional_condition(
    monkeypatch: pytest.MonkeyPatch, fhir_check: Callable[[dict[str, Any], Any], list[str]]
) -> None:
    table = load_table()
    codes = tuple(
        c.model_copy(update={"status": "verified"}) if c.id == "icd10cm-m54-50" else c
        for c in table.codes
    )
    checked = table.model_copy(update={"codes": codes})
    monkeypatch.setattr(bundle_module, "load_table", lambda: checked)
    b = export_bundle({"age": 30, "pain": {"back": 4}}, recorded=WHEN)
    (cond,) = resources(b, "Condition")
    assert cond["code"]["coding"][0]["code"] == "M54.50"
    assert cond["verificationStatus"]["coding"][0]["code"] == "provisional"
    assert fhir_check(cond, checked) == []


def test_provenance_names_knowledge_and_rules(kb: KnowledgeBase) -> None:
    b = export_bundle(CES, recorded=WHEN)
    (prov,) = resources(b, "Provenance")
    assert prov["recorded"] == "2026-01-05T10:30:00+00:00"
    systems = load_table().systems
    ids = {
        (e["what"]["identifier"]["system"], e["what"]["identifier"]["value"])
        for e in prov["entity"]
    }
    assert (systems.knowledge, kb.version) in ids
    assert (systems.rules, "RF-CES-NEW") in ids
    assert (systems.classification, "specific_pathology_suspected") in ids
    targets = {t["reference"] for t in prov["target"]}
    assert targets == {e["fullUrl"] for e in b["entry"]} - {b["entry"][-1]["fullUrl"]}
    assert prov["agent"][0]["who"]["display"].startswith("Backstory ")


def test_contradictions_applied_are_named() -> None:
    data = {"age": 50, "pain": {"leg_side": "both"}, "red_flags": {"bilateral_leg_symptoms": False}}
    (prov,) = resources(export_bundle(data, recorded=WHEN), "Provenance")
    values = {e["what"]["identifier"]["value"] for e in prov["entity"]}
    assert "CX-BILATERAL-SIDE" in values


def test_the_explanation_is_a_document_reference_only_when_given() -> None:
    assert resources(export_bundle(CES, recorded=WHEN), "DocumentReference") == []
    html = "<p>Your back \u2013 explained.</p>"
    b = export_bundle(CES, recorded=WHEN, explanation=PatientText(html, "text/html", "T", "en-GB"))
    (doc,) = resources(b, "DocumentReference")
    att = doc["content"][0]["attachment"]
    assert att["contentType"] == "text/html; charset=utf-8" and att["language"] == "en-GB"
    assert base64.b64decode(att["data"]).decode("utf-8") == html
    assert doc["status"] == "current" and doc["description"] == "T"


def test_subject_defaults_to_an_unidentified_person_and_can_be_given() -> None:
    b = export_bundle(CES, recorded=WHEN)
    subjects = {
        json.dumps(r.get("subject")) for r in (e["resource"] for e in b["entry"]) if "subject" in r
    }
    assert len(subjects) == 1 and "Unidentified person" in subjects.pop()
    b = export_bundle(CES, recorded=WHEN, subject={"reference": "Patient/123"})
    (qr,) = resources(b, "QuestionnaireResponse")
    assert qr["subject"] == {"reference": "Patient/123"}


def test_invalid_input_is_refused() -> None:
    with pytest.raises(AssessmentError):
        export_bundle({"age": 12})
    with pytest.raises(ValueError, match="time zone"):
        export_bundle(CES, recorded=dt.datetime(2026, 1, 5, 10, 0))


def test_the_checker_itself_catches_bad_codes(
    fhir_check: Callable[[dict[str, Any]], list[str]],
) -> None:
    bad = {
        "resourceType": "Observation",
        "status": "bogus",
        "code": {"coding": [{"system": "http://loinc.org", "code": "12345-6", "display": "x"}]},
    }
    found = fhir_check(bad)
    assert any("bogus" in p for p in found) and any("12345-6" in p for p in found)
