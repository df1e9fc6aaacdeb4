"""CDS Hooks services: discovery, patient-view, order-select, prefetch and feedback."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from backstory.cds import (
    NOT_FETCHED,
    CdsError,
    discovery,
    fetch_plan,
    handle_hook,
    parse_feedback,
    with_prefetch,
)
from backstory.fhir.response import assessment_to_response

EXAMPLES = Path(__file__).parents[1] / "data" / "examples"
PV, OS = "backstory-patient-view", "backstory-order-select"


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def qr(name: str) -> dict[str, Any]:
    return assessment_to_response(example(name))


def patient_view(prefetch: Any = None, **extra: Any) -> dict[str, Any]:
    req: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/1", "patientId": "p1"},
        **extra,
    }
    if prefetch is not None:
        req["prefetch"] = {"assessment": prefetch}
    return req


MRI = {
    "resourceType": "ServiceRequest",
    "id": "mri-1",
    "status": "draft",
    "intent": "order",
    "subject": {"reference": "Patient/p1"},
    "code": {"text": "MRI lumbar spine"},
}


def order_select(prefetch: Any, order: dict[str, Any] = MRI) -> dict[str, Any]:
    return {
        "hook": "order-select",
        "hookInstance": "2f0a2b0e-7f5a-4a55-8b4d-1e3a0c9d7b61",
        "context": {
            "userId": "Practitioner/1",
            "patientId": "p1",
            "selections": [f"ServiceRequest/{order['id']}"],
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": order}],
            },
        },
        "prefetch": {"assessment": prefetch},
    }


def test_discovery_lists_both_services_with_prefetch() -> None:
    services = {s["id"]: s for s in discovery()["services"]}
    assert services[PV]["hook"] == "patient-view" and services[OS]["hook"] == "order-select"
    for s in services.values():
        assert "{{context.patientId}}" in s["prefetch"]["assessment"]


def check_cards(cards: list[dict[str, Any]]) -> None:
    for c in cards:
        assert c["uuid"] and c["source"]["label"].startswith("Backstory")
        assert len(c["summary"]) <= 140
        assert c["indicator"] in ("info", "warning", "critical")


def test_emergency_gives_a_critical_card_and_no_plan() -> None:
    cards = handle_hook(PV, patient_view(qr("p01-cauda-equina"))).cards
    check_cards(cards)
    assert cards[0]["indicator"] == "critical"
    assert "cauda equina" in cards[0]["summary"]
    assert len(cards) == 1


def test_routine_gives_triage_and_plan_cards_with_link() -> None:
    cards = handle_hook(
        PV, patient_view(qr("p02-facet-pattern")), report_link=lambda d: "https://x/r/1"
    ).cards
    check_cards(cards)
    assert [c["indicator"] for c in cards] == ["info", "info"]
    assert cards[0]["links"][0]["url"] == "https://x/r/1"
    assert "NICE NG59" in cards[1]["summary"] and "Not recommended" in cards[1]["detail"]


def test_cards_are_deterministic_per_hook_instance() -> None:
    a = handle_hook(PV, patient_view(qr("p02-facet-pattern"))).cards
    b = handle_hook(PV, patient_view(qr("p02-facet-pattern"))).cards
    assert a == b


def test_missing_prefetch_is_412() -> None:
    with pytest.raises(CdsError) as exc:
        handle_hook(PV, patient_view())
    assert exc.value.status == 412


def test_missing_prefetch_plans_a_search_of_the_named_server() -> None:
    """The service never fetches: it says what to search for, and answers from the result."""
    req = patient_view(
        fhirServer="https://ehr.example/fhir", fhirAuthorization={"access_token": "abc"}
    )
    search = fetch_plan(PV, req)
    assert search is not None
    assert (search.server, search.resource_type, search.token) == (
        "https://ehr.example/fhir",
        "QuestionnaireResponse",
        "abc",
    )
    assert dict(search.params)["subject"] == "Patient/p1"
    assert dict(search.params)["status"] == "completed"
    assert "abc" not in repr(search)
    # without the fetched result, the call is the one 412 for "not fetched"
    with pytest.raises(CdsError) as exc:
        handle_hook(PV, req)
    assert exc.value.status == 412 and exc.value.message == NOT_FETCHED
    fetched = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": qr("p01-cauda-equina")}],
    }
    cards = handle_hook(PV, with_prefetch(req, fetched)).cards
    assert cards[0]["indicator"] == "critical"


def test_no_search_is_planned_when_none_is_needed() -> None:
    assert fetch_plan(PV, patient_view(qr("p01-cauda-equina"), fhirServer="https://e/f")) is None
    assert fetch_plan(PV, patient_view()) is None  # no server named: handle_hook says 412
    no_imaging = order_select(None, {**MRI, "code": {"text": "Full blood count"}})
    del no_imaging["prefetch"]
    assert fetch_plan(OS, {**no_imaging, "fhirServer": "https://e/f"}) is None
    with pytest.raises(CdsError) as exc:
        fetch_plan(PV, {"hook": "order-select"})
    assert exc.value.status == 400


def test_no_assessment_on_record() -> None:
    empty = {"resourceType": "Bundle", "type": "searchset", "entry": []}
    (card,) = handle_hook(PV, patient_view(empty)).cards
    assert "No Backstory assessment" in card["summary"]


def test_unreadable_response_is_a_warning_card_not_a_crash() -> None:
    bad = copy.deepcopy(qr("p02-facet-pattern"))
    bad["item"].append({"linkId": "red_flags.fevr", "answer": [{"valueBoolean": True}]})
    (card,) = handle_hook(PV, patient_view(bad)).cards
    assert card["indicator"] == "warning" and "red_flags.fever" in card["detail"]


def test_order_select_lumbar_imaging_without_warning_signs() -> None:
    # p02 with the one essential question it leaves out (new walking difficulty) answered
    data = example("p02-facet-pattern")
    data["neuro"] = {**data.get("neuro", {}), "gait_disturbance": False}
    (card,) = handle_hook(OS, order_select(assessment_to_response(data))).cards
    check_cards([card])
    assert card["indicator"] == "warning" and "NICE NG59" in card["detail"]
    action = card["suggestions"][0]["actions"][0]
    assert action["type"] == "delete" and action["resourceId"] == ["ServiceRequest/mri-1"]
    assert len(card["overrideReasons"]) >= 3


def test_order_select_with_warning_signs_does_not_discourage_imaging() -> None:
    (card,) = handle_hook(OS, order_select(qr("p01-cauda-equina"))).cards
    assert card["indicator"] == "info" and "suggestions" not in card


def test_order_select_incomplete_screen() -> None:
    (card,) = handle_hook(OS, order_select(qr("p04-flexion-related"))).cards
    assert card["indicator"] == "info"
    minimal = assessment_to_response({"age": 40, "pain": {"back": 4}})
    (card,) = handle_hook(OS, order_select(minimal)).cards
    assert "incomplete" in card["summary"]


def test_order_select_ignores_other_orders() -> None:
    knee = {**MRI, "id": "k1", "code": {"text": "X-ray left knee"}}
    assert handle_hook(OS, order_select(qr("p02-facet-pattern"), knee)).cards == []


@pytest.mark.parametrize(
    ("service", "request_", "status"),
    [
        ("nope", {}, 404),
        (PV, [], 400),
        (PV, {"hook": "order-select"}, 400),
        (PV, {"hook": "patient-view", "hookInstance": "x", "context": {}}, 400),
    ],
)
def test_bad_requests(service: str, request_: Any, status: int) -> None:
    with pytest.raises(CdsError) as exc:
        handle_hook(service, request_)
    assert exc.value.status == status


def test_feedback() -> None:
    entries = parse_feedback(
        OS,
        {
            "feedback": [
                {
                    "card": "u1",
                    "outcome": "overridden",
                    "overrideReason": {"reason": {"code": "specialist-decision"}},
                    "outcomeTimestamp": "2026-11-27T10:00:00Z",
                }
            ]
        },
    )
    assert entries[0]["override_reason"] == "specialist-decision"
    with pytest.raises(CdsError):
        parse_feedback(OS, {"feedback": [{"card": "u1", "outcome": "maybe"}]})
