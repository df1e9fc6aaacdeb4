"""The answer signals come from the knowledge, and each threshold is pinned by a boundary pair.

Issue 11: the bands and facts that choose a leaflet's wording live in facts.yaml and the
``signals`` of explanations.yaml, evaluated by the rules' own condition engine. The values
below are typed here, not read from the data, so that moving a band or dropping a fact from
the data fails a test: each pair is one unit apart and the output differs across it.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from backstory.contract import parse_assessment
from backstory.core.engine import assess
from backstory.explain import explain, load_explanations
from backstory.explain.knowledge import DATA_SIGNALS, ExplainKnowledgeError, check_against_core
from backstory.explain.select import answer_signals, known_answers
from backstory.knowledge.loader import KnowledgeBase

from .test_explain_documents import SCREENED, merged

BASE: dict[str, Any] = merged(SCREENED, {"age": 40, "pain": {"back": 5, "leg": 0}})


def signals_for(data: dict[str, Any], kb: KnowledgeBase) -> dict[str, str]:
    a = parse_assessment(data)
    report = assess(a, kb)
    return answer_signals(report, known_answers(report, a.answers), load_explanations(), kb)


def net(data: dict[str, Any]) -> str:
    return explain(data).message_text("safety-net")


# ------------------------------------------------------------------ bands (boundary pairs)


@pytest.mark.parametrize(
    ("value", "band"), [(3, "low"), (4, "moderate"), (6, "moderate"), (7, "high")]
)
@pytest.mark.parametrize(
    ("field", "signal"), [("fear_of_movement", "fear"), ("confidence_to_move", "confidence")]
)
def test_belief_bands(kb: KnowledgeBase, field: str, signal: str, value: int, band: str) -> None:
    sig = signals_for(merged(BASE, {"beliefs": {field: value}}), kb)
    assert sig[signal] == band


def test_belief_bands_unknown_when_unanswered(kb: KnowledgeBase) -> None:
    sig = signals_for(BASE, kb)
    assert sig["fear"] == "unknown" and sig["confidence"] == "unknown"


def test_fear_band_edge_changes_the_leaflet() -> None:
    """Fear 3 is low (nothing said), 4 is moderate (the leaflet speaks to the fear)."""
    phrase = "worry that moving could harm your back"
    at_3 = explain(merged(BASE, {"beliefs": {"fear_of_movement": 3}}))
    at_4 = explain(merged(BASE, {"beliefs": {"fear_of_movement": 4}}))
    assert phrase not in at_3.message_text("recovery-drivers")
    assert phrase in at_4.message_text("recovery-drivers")


@pytest.mark.parametrize(
    ("value", "low", "high"),
    [(3, True, False), (4, False, False), (6, False, False), (7, False, True)],
)
def test_confidence_band_edges_change_the_leaflet(value: int, low: bool, high: bool) -> None:
    text = explain(merged(BASE, {"beliefs": {"confidence_to_move": value}})).message_text(
        "recovery-drivers"
    )
    assert ("do not feel sure you can do normal things" in text) is low
    assert ("You said you feel sure you can do normal things" in text) is high


@pytest.mark.parametrize(("weeks", "persistent"), [(12, False), (13, True)])
def test_duration_edge(weeks: int, persistent: bool) -> None:
    text = explain(merged(BASE, {"history": {"duration_weeks": weeks}})).message_text(
        "usual-course"
    )
    assert ("pain of more than three months still eased" in text) is persistent
    assert ("ease a lot in six weeks" in text) is not persistent


AORTA = "Sudden severe pain in your back or tummy, or feeling faint - call 999."


@pytest.mark.parametrize(("age", "shown"), [(49, False), (50, True)])
def test_vascular_warning_age_edge(age: int, shown: bool) -> None:
    doc = merged(BASE, {"age": age, "red_flags": {"vascular_risk_factors": True}})
    assert (AORTA in net(doc)) is shown


def test_known_aneurysm_warns_at_any_age() -> None:
    assert AORTA in net(merged(BASE, {"age": 30, "red_flags": {"known_aaa": True}}))
    assert AORTA not in net(BASE)


@pytest.mark.parametrize(("leg", "shown"), [(0, False), (1, True)])
def test_leg_warning_edge(leg: int, shown: bool) -> None:
    text = net(merged(BASE, {"pain": {"leg": leg}}))
    assert ("Weakness in your leg or foot that gets worse" in text) is shown


# ------------------------------------------------------------- facts: every answer counts

INFECTION = "A fever, shivers or feeling very unwell with the pain - see a doctor the same day."
CANCER = "pain like a tight band around your chest - go to A&E at once"
FRAGILE = "Sudden bad new pain, even after a small fall or a lift"


@pytest.mark.parametrize(
    "answer",
    [
        {"red_flags": {"iv_drug_use": True}},
        {"red_flags": {"recent_infection": True}},
        {"red_flags": {"immunosuppressed": True}},
        {"history": {"recent_spinal_procedure": True}},
        {"history": {"diabetes": True}},
    ],
)
def test_each_infection_risk_gives_the_infection_warning(kb: KnowledgeBase, answer: Any) -> None:
    data = merged(BASE, answer)
    assert signals_for(data, kb)["infection_risk"] == "yes"
    doc = explain(data)
    if doc.kind != "act_now":  # some of these escalate on their own; the warning is still there
        assert INFECTION in doc.message_text("safety-net")
    assert INFECTION not in net(BASE)


@pytest.mark.parametrize(
    ("answer", "signal"),
    [
        ({"red_flags": {"history_of_cancer": True}}, "cancer_history"),
        ({"red_flags": {"cancer_active": True}}, "cancer_history"),
        ({"red_flags": {"osteoporosis": True}}, "fragility"),
        ({"red_flags": {"long_term_steroids": True}}, "fragility"),
    ],
)
def test_each_answer_of_a_fact_counts(kb: KnowledgeBase, answer: Any, signal: str) -> None:
    assert signals_for(merged(BASE, answer), kb)[signal] == "yes"
    assert signals_for(BASE, kb)[signal] != "yes"
    text = net(merged(BASE, answer))
    assert (CANCER in text) if signal == "cancer_history" else (FRAGILE in text)


# ------------------------------------------------------------------------ the data itself


def test_every_answer_signal_is_defined_in_the_knowledge() -> None:
    assert {g.id for g in load_explanations().signals} == DATA_SIGNALS


def test_a_signal_reading_an_unknown_field_or_fact_is_refused(kb: KnowledgeBase) -> None:
    kn = load_explanations()
    raw = kn.model_dump(mode="json")
    for g in raw["signals"]:
        if g["id"] == "fear":
            g["values"][0]["when"] = {"field": "beliefs.no_such_field", "gte": 7}
        if g["id"] == "fragility":
            g["values"][0]["when"] = {"fact": "no_such_fact"}
    from backstory.explain.knowledge import parse_explanations

    problems = check_against_core(parse_explanations(raw), kb)
    assert any("signals/fear" in p and "no_such_field" in p for p in problems), problems
    assert any("signals/fragility" in p and "no_such_fact" in p for p in problems), problems


def test_a_signal_value_the_wording_cannot_test_is_refused() -> None:
    from backstory.explain.knowledge import parse_explanations

    raw = load_explanations().model_dump(mode="json")
    raw["signals"][0]["otherwise"] = "maybe"
    with pytest.raises(ExplainKnowledgeError, match="cannot be 'maybe'"):
        parse_explanations(raw)


# ------------------------------------------------- issue 12 item 7: never over-reassure

GOOD = ("good long-term outlook", "comes from how the back moves")


def _flat(doc: Any) -> str:
    return " ".join(" ".join(doc.message_text(m) for m in doc.message_ids()).split())


def test_good_outlook_where_it_fits() -> None:
    doc = explain(BASE)
    assert doc.kind == "back_pain"
    assert all(p in _flat(doc) for p in GOOD)


@pytest.mark.parametrize(
    "extra",
    [
        # inflammatory features: three NICE NG65 criteria at 30 (onset before 35), recent pain
        {
            "age": 30,
            "inflammatory": {"buttock_pain": True, "improves_with_exercise": True},
            "history": {"duration_weeks": 4},
        },
        # STarT Back high risk (all nine items agree)
        {"startback": [1, 1, 1, 1, 1, 1, 1, 1, "very_much"]},
    ],
)
def test_no_good_outlook_for_guarded_cases(kb: KnowledgeBase, extra: dict[str, Any]) -> None:
    data = merged(BASE, extra)
    assert signals_for(data, kb)["outlook"] == "guarded"
    doc = explain(data)
    assert doc.kind == "back_pain"
    flat = _flat(doc)
    assert not any(p in flat for p in GOOD), flat
    assert "The same first steps help" in doc.message_text("label-matters-less")


def test_the_widened_screen_holds_back_reassurance() -> None:
    """Every question asked but blood thinners: no "nothing serious was found" (HZ-47)."""
    data = copy.deepcopy(BASE)
    del data["red_flags"]["anticoagulants"]
    doc = explain(data)
    assert "nothing serious was found" not in _flat(doc)
    assert "Nothing in your answers points to a serious cause" in _flat(doc)
    assert "Taking a blood thinner." in doc.message_text("safety-net")
    assert "nothing serious was found" in _flat(explain(BASE))


def test_urgent_leaflet_says_what_to_do_until_seen() -> None:
    urgent = explain(merged(BASE, {"age": 61, "red_flags": {"history_of_cancer": True}}))
    assert urgent.kind == "act_now" and urgent.title.startswith("Please see a doctor")
    wait = urgent.message_text("act-now-while-waiting")
    assert "pain relief" in wait and "NHS 111" in wait
    emergency = explain(merged(BASE, {"red_flags": {"saddle_anaesthesia": True}}))
    assert emergency.kind == "act_now" and "act-now-while-waiting" not in emergency.message_ids()
