"""Triage round 2: levels that match "emergency = same day", the leaflet each new rule gives,
and FAQ answers that say the same as the rules (HZ-30 to HZ-35)."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest

from backstory.ask.loader import load_questions_knowledge
from backstory.contract import parse_assessment
from backstory.contract.spec import load_contract
from backstory.core.report import Report
from backstory.explain import compose_patient, document_kind
from backstory.knowledge.loader import KnowledgeBase

RANK = {"routine": 0, "soon": 1, "urgent": 2, "emergency": 3}


def screened(extra: dict[str, Any]) -> dict[str, Any]:
    """Every red-flag question answered no, then the given answers on top."""
    flags = {
        k: False
        for k, spec in load_contract().groups["red_flags"].items()
        if spec.type == "bool" and k != "ces_symptoms_stable_over_2_weeks"
    }
    out: dict[str, Any] = {
        "red_flags": flags,
        "history": {"trauma": "none"},
        "neuro": {"progressive_deficit": False},
    }
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out


STENOSIS = screened(
    {
        "age": 74,
        "history": {"duration_weeks": 104, "onset": "gradual"},
        "pain": {"back": 4, "leg": 5, "leg_side": "both", "below_knee": True},
        "neuro": {"neurogenic_claudication": True},
        "red_flags": {"ces_symptoms_stable_over_2_weeks": True},
    }
)
AXSPA_BERLIN = screened(
    {
        "age": 29,
        "history": {"duration_weeks": 26},
        "pain": {"morning_stiffness_minutes": 60},
        "inflammatory": {"wakes_second_half_of_night": True},
    }
)


# The rules whose level this round set, and the level the contract's definitions call for.
@pytest.mark.parametrize(
    ("rule", "level"),
    [
        ("RF-COLLAPSE", "emergency"),
        ("RF-AAA-MASS", "emergency"),
        ("RF-AAA-SUDDEN-OLDER", "emergency"),
        ("RF-INF-UNWELL-RISK", "emergency"),
        ("RF-CORD-SIGNS", "emergency"),
        ("RF-MSCC", "emergency"),
        ("RF-BLEED-ANTICOAG-PAIN", "emergency"),
        ("RF-BLEED-ANTICOAG-NEURO", "emergency"),
        ("RF-MAL-SPINAL-METS", "urgent"),
        ("RF-AXSPA-ASAS-IBP", "soon"),
        ("RF-STENOSIS", "soon"),
    ],
)
def test_round_two_levels(kb: KnowledgeBase, rule: str, level: str) -> None:
    r = next(x for x in kb.red_flags.rules if x.id == rule)
    assert r.level == level
    assert r.citations


def test_ng234_timings_are_in_the_actions(kb: KnowledgeBase) -> None:
    rules = {r.id: r for r in kb.red_flags.rules}
    assert "within 24 hours" in rules["RF-MSCC"].action
    assert "immediately" in rules["RF-MSCC"].action
    mets = rules["RF-MAL-SPINAL-METS"].action
    assert "within 24 hours" in mets and "within one week" in mets


def test_stable_stenosis_gets_the_referral_leaflet_with_the_cauda_equina_safety_net(
    run: Callable[[dict[str, Any]], Report],
) -> None:
    r = run(STENOSIS)
    assert r.triage.level == "soon"
    assert "cauda_equina_syndrome" not in r.triage.suspected
    assert document_kind(r) == "referral"
    doc = compose_patient(r, parse_assessment(STENOSIS).answers)
    assert "safety-net" in doc.message_ids()
    text = doc.message_text("safety-net").lower()
    assert "numbness between your legs" in text and "bladder" in text
    assert "spinal stenosis" in doc.message_text("referral-what-for")


@pytest.mark.parametrize(
    ("group", "key"),
    [
        ("red_flags", "saddle_anaesthesia"),
        ("red_flags", "bladder_dysfunction"),
        ("red_flags", "bowel_incontinence"),
        ("red_flags", "sexual_dysfunction"),
        ("exam", "saddle_sensation_reduced"),
        ("exam", "anal_tone_reduced"),
    ],
)
def test_any_sphincter_or_saddle_feature_ends_the_stenosis_reading(
    run: Callable[[dict[str, Any]], Report], group: str, key: str
) -> None:
    d = copy.deepcopy(STENOSIS)
    d.setdefault(group, {})[key] = True
    r = run(d)
    assert "cauda_equina_syndrome" in r.triage.suspected
    assert RANK[r.triage.level] >= RANK["urgent"]
    d["red_flags"].pop("ces_symptoms_stable_over_2_weeks")
    assert run(d).triage.level == "emergency"


@pytest.mark.parametrize("key", ["saddle_anaesthesia", "bladder_dysfunction"])
def test_an_unanswered_sphincter_question_keeps_the_cauda_equina_reading(
    run: Callable[[dict[str, Any]], Report], key: str
) -> None:
    d = copy.deepcopy(STENOSIS)
    d["red_flags"].pop(key)
    r = run(d)
    assert "cauda_equina_syndrome" in r.triage.suspected
    assert r.triage.level == "urgent"  # stable for more than two weeks: RF-CES-STABLE


def test_suspected_axspa_gets_the_inflammatory_back_pain_explanation(
    run: Callable[[dict[str, Any]], Report],
) -> None:
    r = run(AXSPA_BERLIN)
    assert r.triage.level == "soon"
    assert document_kind(r) == "referral"
    doc = compose_patient(r, parse_assessment(AXSPA_BERLIN).answers)
    ids = doc.message_ids()
    assert "inflammatory-back-pain" in ids
    assert "inflammatory back pain" in doc.message_text("inflammatory-back-pain")
    for mechanical in ("non-specific-is-a-category", "same-first-steps", "labels-overlap"):
        assert mechanical not in ids


def test_other_referrals_do_not_get_the_inflammatory_explanation(
    run: Callable[[dict[str, Any]], Report],
) -> None:
    r = run(STENOSIS)
    ids = compose_patient(r, parse_assessment(STENOSIS).answers).message_ids()
    assert "inflammatory-back-pain" not in ids


def test_bleed_on_blood_thinners_gets_the_act_now_leaflet(
    run: Callable[[dict[str, Any]], Report],
) -> None:
    d = screened({"age": 68, "history": {"onset": "sudden"}, "pain": {"back": 8}})
    d["red_flags"]["anticoagulants"] = True
    r = run(d)
    assert document_kind(r) == "act_now"
    doc = compose_patient(r, parse_assessment(d).answers)
    assert "blood thinner" in doc.message_text("act-now-why")


def _faq(entry_id: str) -> str:
    kn = load_questions_knowledge()
    return " ".join(next(e for e in kn.entries if e.id == entry_id).answer.split())


def test_faq_cancer_timing_matches_the_rules() -> None:
    """RF-MAL-HISTORY is urgent (days), RF-MSCC same day: the FAQ must not say otherwise."""
    text = _faq("when-to-worry")
    assert "if you have had cancer and this pain is new" not in text  # the old same-day claim
    assert (
        "If you have had cancer and only the pain is new, see your doctor within a day or two"
        in text
    )
    assert (
        "If you have had cancer, new weakness, numbness, trouble walking or bladder or bowel "
        "changes mean the same day" in text
    )


def test_faq_names_the_new_same_day_signs() -> None:
    text = _faq("when-to-worry")
    assert "faint" in text
    assert "blood thinner" in text
    assert "new trouble walking" in text


def test_every_same_day_rule_tells_the_person_to_act_today(kb: KnowledgeBase) -> None:
    """A rule at emergency must not be explained as "in the next few days" (levels match)."""
    from backstory.explain import load_explanations

    kn = load_explanations()
    for rule in kb.red_flags.rules:
        text = kn.triage_rules[rule.id].do_now or ""
        if rule.level == "emergency":
            assert re.search(r"\b(now|today|999)\b", text), (rule.id, text)
            assert "next few days" not in text, rule.id
        elif rule.level in ("soon",):
            assert not text, rule.id  # the referral leaflet has no "do now"
