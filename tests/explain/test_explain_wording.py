"""Whole patient leaflets: readable, non-threatening, never reassuring when urgent (HZ-07/08/17).

For every public example and a generated set of synthetic assessments (the test profile's
number of examples: 150 fast, 5,000 thorough), the WHOLE rendered leaflet, in its plain-text
form, must read at Flesch-Kincaid grade 7 or lower with reading ease 60 or more (textstat
0.7.8: later versions download data at run time), avoid the frightening words outside the
explicit explanatory phrasings, never name an ODI band, carry the messages its kind requires
and none it must not, and - for an act-now leaflet - contain nothing reassuring.
"""

from __future__ import annotations

import re
from typing import Any

import textstat  # type: ignore[import-untyped]
from hypothesis import given
from hypothesis import strategies as st

from backstory.contract import AssessmentError, parse_assessment
from backstory.core.engine import assess
from backstory.core.report import Report
from backstory.explain import compose_patient, render_text
from backstory.explain.document import Document
from backstory.knowledge.loader import KnowledgeBase, load_knowledge
from backstory.testing import assessments

from .spec_messages import FACET, NON_SPECIFIC, SCIATICA

MAX_GRADE = 7.0
MIN_EASE = 60.0

# Typed here, not read from the data, so that an edit to the data cannot weaken the test.
AVOID = (
    "degenerat",
    "wear and tear",
    "worn out",
    "damage",
    "crumbl",
    "slipped disc",
    "crippl",
    "bed-bound",
    "bed bound",
    "bed_bound",
)
REASSURANCE = (
    "nothing serious",
    "not serious",
    "nothing to worry",
    "do not worry",
    "don't worry",
    "reassur",
    "harmless",
    "benign",
    "common",
    "normal",
    "settle",
    "get better",
    "good outlook",
    "good long-term outlook",
    "most people",
    "rarely",
    "unlikely",
    "nothing in your answers points",
    "safe",
    "fine",
)
ACT_NOW = {
    "act-now-do-this",
    "act-now-while-waiting",
    "act-now-why",
    "act-now-signs",
    "safety-net",
    "clinical-assessment",
}
REFERRAL = {
    "referral-what-for",
    "referral-what-happens",
    "referral-meanwhile",
    "safety-net",
    "clinical-assessment",
}
KB = load_knowledge()


def _strip_allowed(text: str) -> str:
    from backstory.explain import load_explanations

    low = " ".join(text.lower().split())
    for phrase in load_explanations().wording.allowed_phrasings:
        low = low.replace(phrase.lower(), " ")
    return low


def check_leaflet(report: Report, answers: Any) -> tuple[float, float]:
    """Every rule for one whole leaflet; returns (grade, reading ease)."""
    doc = compose_patient(report, answers)
    text = render_text(doc)
    grade = float(textstat.flesch_kincaid_grade(text))
    ease = float(textstat.flesch_reading_ease(text))
    assert grade <= MAX_GRADE, (doc.kind, grade, text)
    assert ease >= MIN_EASE, (doc.kind, ease, text)

    cleaned = _strip_allowed(text)
    for word in AVOID:
        assert word not in cleaned, (word, text)
    for band in ("crippled", "bed-bound", "bed_bound", "minimal disability", "severe disability"):
        assert band not in text.lower()
    assert "oswestry" not in text.lower() and "ODI" not in text

    ids = doc.message_ids()
    assert len(ids) == len(set(ids))
    assert "safety-net" in ids and "clinical-assessment" in ids  # HZ-11, every leaflet
    assert "part of a clinical assessment" in doc.message_text("clinical-assessment")
    net = doc.message_text("safety-net")
    assert "Numbness between your legs or around your bottom." in net
    assert "emergency department (A&E)" in net
    for early in (  # HZ-49: the early bladder signs, in every leaflet (GIRFT)
        "Less feeling when you pass urine, or when you wipe yourself after the toilet.",
        "Not being able to tell when your bladder is full.",
    ):
        assert early in net, (early, net)
    _check_kind(report, doc, text)
    _check_screening(report, doc, text, answers)
    _check_outlook(report, doc, text)
    _check_length(report, doc)
    return grade, ease


#: Reading length of a routine leaflet (issue 12 item 7: "under about 700 words"). The
#: sciatica and back pain leaflets meet it at their longest (every personal paragraph, the
#: longest variants and the whole not-advised list; knowledge 2026.12.1 measured 627 and 670).
#: With a facet pattern the back pain leaflet also carries the eight facet messages the spec
#: requires; its ceiling is what the 2026.12.1 rewording reached without dropping a key
#: message (from 1,285, then 947; 767 without, 791 with inflammatory features): it only
#: ratchets down.
MAX_WORDS = {"sciatica": 700, "back_pain": 700, "back_pain+facet": 791}


def leaflet_words(doc: Document) -> int:
    """Words a person reads: title, opening, headings and messages.

    Left out: the sources and footer (reference matter), and the safety net's personal
    lists (warning signs for this person, questions not asked), which must never be cut
    to fit a length.
    """
    words = [doc.title, doc.intro]
    for section in doc.sections:
        words.append(section.heading)
        for m in section.messages:
            lists = 0
            for b in m.blocks:
                if b.kind == "list":
                    lists += 1
                    if m.id == "safety-net" and lists > 1:
                        continue
                words += b.plain()
    return len(" ".join(words).split())


def _check_length(report: Report, doc: Document) -> None:
    if doc.kind not in ("sciatica", "back_pain"):
        return
    facet = doc.kind == "back_pain" and report.pattern("facet").fit in ("strong", "possible")
    kind = "back_pain+facet" if facet else doc.kind
    assert leaflet_words(doc) <= MAX_WORDS[kind], (kind, leaflet_words(doc))


#: Every essential warning-sign question (screening.yaml), typed here so that narrowing the
#: screen in the data fails this test (HZ-47).
ESSENTIAL = (
    "red_flags.saddle_anaesthesia",
    "red_flags.bladder_dysfunction",
    "red_flags.bowel_incontinence",
    "red_flags.sexual_dysfunction",
    "red_flags.bilateral_leg_symptoms",
    "red_flags.history_of_cancer",
    "red_flags.unexplained_weight_loss",
    "red_flags.fever",
    "red_flags.iv_drug_use",
    "red_flags.recent_infection",
    "red_flags.immunosuppressed",
    "history.trauma",
    "red_flags.long_term_steroids",
    "red_flags.osteoporosis",
    "neuro.progressive_deficit",
    "neuro.gait_disturbance",
    "red_flags.collapse_or_faint",
    "red_flags.vascular_risk_factors",
    "red_flags.visceral_symptoms",
    "red_flags.anticoagulants",
)
GUARDED = ("good long-term outlook", "comes from how the back moves")


def _check_outlook(report: Report, doc: Document, text: str) -> None:
    """HZ-48: no promise of a good outlook or of mechanical pain where it does not fit."""
    high = bool(report.scores["startback"]) and report.scores["startback"].get("risk") == "high"
    sensitised = report.pattern("widespread_sensitisation").fit in ("strong", "possible")
    if high or sensitised:
        flat = " ".join(text.split())
        for phrase in GUARDED:
            assert phrase not in flat, (phrase, high, sensitised)


def _check_kind(report: Report, doc: Document, text: str) -> None:
    ids = set(doc.message_ids())
    level = report.triage.level
    if level in ("emergency", "urgent"):
        assert doc.kind == "act_now" and doc.urgent
        assert ids <= ACT_NOW and "act-now-do-this" in ids and "act-now-why" in ids
        if level == "urgent":  # HZ-50: what to do until seen
            wait = doc.message_text("act-now-while-waiting")
            assert "pain relief" in wait and "NHS 111" in wait
        for marker in REASSURANCE:  # HZ-08: nothing reassuring at all
            assert not re.search(r"\b" + re.escape(marker), text, re.IGNORECASE), (marker, text)
    elif level == "soon":
        axspa = "axial_spondyloarthritis" in report.triage.suspected
        assert doc.kind == "referral"
        assert ids == (REFERRAL | {"inflammatory-back-pain"} if axspa else REFERRAL)
    elif report.category == "radicular":
        assert doc.kind == "sciatica"
        assert set(SCIATICA) <= ids and not ids & (set(NON_SPECIFIC) - set(SCIATICA))
        assert not ids & set(FACET)
    else:
        assert doc.kind == "back_pain" and set(NON_SPECIFIC) <= ids
        facet = report.pattern("facet").fit in ("strong", "possible")
        assert (set(FACET) <= ids) if facet else not (ids & set(FACET))


def _check_screening(report: Report, doc: Document, text: str, answers: Any = None) -> None:
    """HZ-17: "nothing serious was found" only after a complete screen; the rest is named."""
    if "nothing serious was found" in text:
        assert report.screening.complete
        assert set(ESSENTIAL) <= set(KB.contract.fields)
        if answers is not None:  # HZ-47: every question of the widened screen was answered
            missing = [f for f in ESSENTIAL if answers.get(f) is None]
            assert not missing, missing
    if not report.screening.complete:
        net = doc.message_text("safety-net")
        assert "You were not asked about some warning signs" in net
    if doc.kind in ("back_pain", "sciatica"):
        first = doc.message_ids()[0]
        said = doc.message_text(first)
        if report.screening.complete:
            assert "nothing serious was found" in said
        else:
            assert "Nothing in your answers points to a serious cause" in said


def test_every_public_example(cases: dict[str, Any]) -> None:
    grades = [check_leaflet(c.report, c.assessment.answers) for c in cases.values()]
    assert len(grades) == 8


def _calm(data: dict[str, Any]) -> dict[str, Any]:
    """The same answers with every red flag and escalating finding set to "no".

    Random answers nearly always hold some warning sign, so half the generated cases are
    calmed to reach the sciatica and back pain leaflets often.
    """
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    flags = out.get("red_flags", {})
    for k in list(flags):
        if isinstance(flags[k], bool):
            flags[k] = False
    if "neuro" in out:
        out["neuro"].update(progressive_deficit=False, gait_disturbance=False)
        out["neuro"].pop("weakness_side", None)
    if "exam" in out:
        for k in ("upper_motor_neuron_signs", "saddle_sensation_reduced", "anal_tone_reduced"):
            out["exam"].pop(k, None)
        out["exam"].pop("worst_motor_grade", None)
    if "history" in out:
        out["history"]["trauma"] = "none"
        out["history"].pop("recent_spinal_procedure", None)
    if out.get("pain", {}).get("leg_side") == "both":
        out["pain"]["leg_side"] = "left"
    return out


@given(st.one_of(assessments(), assessments().map(_calm)))
def test_generated_assessments(data: dict[str, Any]) -> None:
    try:
        a = parse_assessment(data)
    except AssessmentError:  # pragma: no cover - the strategy makes valid assessments
        return
    check_leaflet(assess(a, KB), a.answers)


def test_public_routine_leaflets_within_their_length(cases: dict[str, Any]) -> None:
    """The measure itself: each public routine example, and the sciatica one under 700."""
    seen = {}
    for c in cases.values():
        doc = compose_patient(c.report, c.assessment.answers)
        if doc.kind in ("sciatica", "back_pain"):
            seen[c.name] = leaflet_words(doc)
    assert set(seen) == {
        "p02-facet-pattern",
        "p03-sciatica",
        "p04-flexion-related",
        "p07-high-risk-with-odi",
    }
    assert seen["p03-sciatica"] <= 700 and seen["p02-facet-pattern"] <= 700
    assert seen["p04-flexion-related"] <= 700 and seen["p07-high-risk-with-odi"] <= 700
    assert min(seen.values()) > 300  # counts whole leaflets, not one section


#: The longest leaflets the wording can give: every personal paragraph shown (fear,
#: low confidence, not expecting recovery, off work), a low STarT Back risk (its outlook
#: wording is the longest), an unknown duration, an incomplete screen, a date and the whole
#: "not advised" list (found by trying every combination of these choices).
LONGEST: dict[str, Any] = {
    "age": 45,
    "assessed_on": "2026-12-01",
    # leg pain that comes on with walking and eases on sitting adds the "no epidural for
    # claudication" item to the not-advised list (the back pain still leads)
    "pain": {"back": 6, "leg": 3, "leg_side": "left", "below_knee": False},
    "movement": {"walking": "worse", "sitting": "better"},
    "beliefs": {
        "fear_of_movement": 8,
        "confidence_to_move": 2,
        "expects_recovery": False,
        "off_work": True,
    },
    "startback": [0, 0, 0, 0, 0, 0, 0, 0, "not_at_all"],
}
LONGEST_FACET: dict[str, Any] = {
    **LONGEST,
    "pain": {"back": 6, "leg": 0, "leg_side": "none", "distribution": "localised"},
    "movement": {
        "extension": "worse",
        "rotation": "worse",
        "side_bending": "worse",
        "flexion": "better",
        "sitting": "better",
    },
}
#: With answers that fit inflammatory back pain (three NICE NG65 criteria, routine level) the
#: facet leaflet adds the short inflammatory paragraph; the usual-course figures are not
#: shown with a facet pattern anyway, so this is the longest facet leaflet.
LONGEST_FACET_INFLAMMATORY: dict[str, Any] = {
    **LONGEST_FACET,
    "age": 41,
    "history": {"duration_weeks": 30, "age_at_first_onset": 39},
    "inflammatory": {
        "wakes_second_half_of_night": True,
        "buttock_pain": True,
        "improves_with_exercise": True,
    },
}
LONGEST_SCIATICA: dict[str, Any] = {
    **LONGEST,
    "pain": {"back": 3, "leg": 7, "leg_side": "left", "below_knee": True},
    "neuro": {"dermatomal": True},
    "exam": {"slr_positive": True},
}


def test_longest_leaflets_within_their_length() -> None:

    for data, kind in (
        (LONGEST, "back_pain"),
        (LONGEST_FACET, "back_pain+facet"),
        (LONGEST_FACET_INFLAMMATORY, "back_pain+facet"),
        (LONGEST_SCIATICA, "sciatica"),
    ):
        a = parse_assessment(data)
        report = assess(a, KB)
        doc = compose_patient(report, a.answers)
        facet = report.pattern("facet").fit in ("strong", "possible")
        assert doc.kind + ("+facet" if facet else "") == kind
        if data is LONGEST_FACET_INFLAMMATORY:
            assert "inflammatory-back-pain" in doc.message_ids()
        assert leaflet_words(doc) <= MAX_WORDS[kind], (kind, leaflet_words(doc))
        check_leaflet(report, a.answers)


def test_the_gate_is_not_trivially_passing() -> None:
    hard = (
        "Lumbar zygapophysial arthropathy demonstrates considerable interindividual "
        "heterogeneity regarding radiological manifestations and symptomatology."
    )
    assert textstat.flesch_kincaid_grade(hard) > MAX_GRADE
    assert textstat.flesch_reading_ease(hard) < MIN_EASE


def test_calm_reaches_every_leaflet_kind(kb: KnowledgeBase) -> None:
    """The generated set reaches the routine leaflets, not just act-now."""
    kinds = set()
    for data in (
        {"age": 40, "pain": {"back": 5}},
        _calm({"age": 40, "pain": {"leg": 8, "back": 2, "below_knee": True, "leg_side": "left"}}),
    ):
        kinds.add(compose_patient(assess(parse_assessment(data), kb)).kind)
    assert kinds == {"back_pain", "sciatica"}
