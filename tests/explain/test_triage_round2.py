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
from backstory.explain import compose_patient, document_kind, render_text
from backstory.explain.knowledge import load_explanations
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
        ("RF-INF-RISK-NEURO", "emergency"),
        ("RF-AXSPA-ASAS-FEATURE", "soon"),
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
    """NICE NG234 as QS56 states it: neurology - MRI and plan within 24 hours; pain only -
    within one week. The CG75 "discuss within 24 hours" for pain only is not NG234's timing."""
    rules = {r.id: r for r in kb.red_flags.rules}
    mscc = " ".join(rules["RF-MSCC"].action.split())
    assert "within 24 hours" in mscc and "immediately" in mscc and "week" not in mscc
    mets = " ".join(rules["RF-MAL-SPINAL-METS"].action.split())
    assert "within one week" in mets and "24 hours" not in mets
    history = " ".join(rules["RF-MAL-HISTORY"].action.split())
    assert "within one week" in history and "24 hours" not in history


CANCER_PAIN = screened(
    {"age": 66, "red_flags": {"history_of_cancer": True}, "pain": {"back": 4, "thoracic": False}}
)
CANCER_NUMB = screened(
    {"age": 66, "red_flags": {"history_of_cancer": True}, "neuro": {"leg_numbness": True}}
)
CANCER_METS_PAIN = screened(
    {
        "age": 66,
        "red_flags": {"history_of_cancer": True},
        "pain": {"back": 8, "constant": True, "night": "none", "thoracic": False},
    }
)


def test_cancer_timings_agree_across_rules_leaflets_and_faq(
    run: Callable[[dict[str, Any]], Report],
) -> None:
    """HZ-130: the rules, the patient's words and the FAQ give one timing per presentation."""
    faq = _faq("when-to-worry")
    words = load_explanations().triage_rules

    pain = run(CANCER_PAIN)  # cancer and only the pain: days
    assert pain.triage.level == "urgent"
    for r in pain.triage.reasons:
        if r.level == "urgent":
            assert "day or two" in " ".join((words[r.rule].do_now or "").split()), r.rule
    assert "only the pain is new, see your doctor within a day or two" in faq

    mets = run(CANCER_METS_PAIN)  # pain suggesting metastases: scan within a week
    assert mets.triage.level == "urgent"
    assert "RF-MAL-SPINAL-METS" in {r.rule for r in mets.triage.reasons}
    said = " ".join((words["RF-MAL-SPINAL-METS"].do_now or "").split())
    assert "within a week" in said and "within a day" not in said
    assert "week" not in faq or "within a week" in faq

    numb = run(CANCER_NUMB)  # neurological symptoms: same day
    assert numb.triage.level == "emergency"
    assert "RF-MSCC" in {r.rule for r in numb.triage.reasons}
    assert "now" in (words["RF-MSCC"].do_now or "")
    assert "numbness, trouble walking or bladder or bowel changes mean the same day" in faq


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


NG65_THREE = screened(
    {
        "age": 41,
        "history": {"duration_weeks": 30, "age_at_first_onset": 39},
        "inflammatory": {
            "wakes_second_half_of_night": True,
            "buttock_pain": True,
            "improves_with_exercise": True,
            "family_history_spa": False,
            "peripheral_arthritis": False,
            "enthesitis": False,
            "psoriasis": False,
        },
    }
)


def test_three_ng65_criteria_get_the_inflammatory_words_not_the_mechanical_ones(
    run: Callable[[dict[str, Any]], Report],
) -> None:
    """HZ-127: HLA-B27 advised with the NSAID response unknown, and the leaflet says the pain
    may be inflammatory; it never says the pain comes from how the back moves."""
    r = run(NG65_THREE)
    assert r.triage.level == "routine"
    assert "MG-HLA-B27" in {m.id for m in r.management.recommended}
    doc = compose_patient(r, parse_assessment(NG65_THREE).answers)
    assert doc.kind == "back_pain"
    said = doc.message_text("inflammatory-back-pain")
    assert "inflammatory back pain" in said and "blood test" in said
    flat = " ".join(render_text(doc).split())
    assert "comes from how the back moves" not in flat
    assert "good long-term outlook" not in flat


@pytest.mark.parametrize("feature", [("hla_b27", "positive"), ("sacroiliitis_on_imaging", True)])
def test_an_asas_referral_feature_alone_refers_with_the_inflammatory_leaflet(
    run: Callable[[dict[str, Any]], Report], feature: tuple[str, Any]
) -> None:
    """HZ-126: chronic back pain that began before 45 with one ASAS/SPARTAN feature."""
    d = screened({"age": 34, "history": {"duration_weeks": 40}, "inflammatory": dict([feature])})
    r = run(d)
    assert r.triage.level == "soon"
    assert "RF-AXSPA-ASAS-FEATURE" in {x.rule for x in r.triage.reasons}
    doc = compose_patient(r, parse_assessment(d).answers)
    assert doc.kind == "referral"
    assert "inflammatory-back-pain" in doc.message_ids()
    assert "non-specific-is-a-category" not in doc.message_ids()


def test_mechanical_back_pain_gets_no_inflammatory_words(
    run: Callable[[dict[str, Any]], Report],
) -> None:
    d = screened({"age": 35, "history": {"duration_weeks": 3}, "pain": {"back": 5}})
    doc = compose_patient(run(d), parse_assessment(d).answers)
    assert doc.kind == "back_pain"
    assert "inflammatory-back-pain" not in doc.message_ids()
