"""Which leaflet a person gets and what it says, checked by message id on vignettes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from backstory.contract import parse_assessment
from backstory.core.engine import assess
from backstory.explain import compose_clinician, compose_patient, document_kind, explain
from backstory.explain.document import Document
from backstory.imaging import load_imaging_knowledge, prevalence_for_age
from backstory.knowledge.loader import KnowledgeBase

from .spec_messages import FACET, SCIATICA

Case = Any  # tests/explain/conftest.py: name, data, assessment, report

NON_SPECIFIC_ONLY = (
    "non-specific-is-a-category",
    "label-matters-less",
    "recovery-drivers",
    "sensitivity-not-damage",
    "same-first-steps",
)
ACT_NOW_ALLOWED = {
    "act-now-do-this",
    "act-now-while-waiting",
    "act-now-why",
    "act-now-signs",
    "safety-net",
    "clinical-assessment",
}

# Every essential warning-sign question asked and answered "no" (screening complete).
SCREENED: dict[str, Any] = {
    "history": {"trauma": "none"},
    "neuro": {"progressive_deficit": False, "gait_disturbance": False},
    "red_flags": {
        k: False
        for k in (
            "saddle_anaesthesia",
            "bladder_dysfunction",
            "bowel_incontinence",
            "sexual_dysfunction",
            "bilateral_leg_symptoms",
            "history_of_cancer",
            "unexplained_weight_loss",
            "fever",
            "iv_drug_use",
            "recent_infection",
            "immunosuppressed",
            "long_term_steroids",
            "osteoporosis",
            "collapse_or_faint",
            "vascular_risk_factors",
            "visceral_symptoms",
            "anticoagulants",
        )
    },
}


def merged(*parts: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge assessment dictionaries (later parts win)."""
    out: dict[str, Any] = {}
    for p in parts:
        for k, v in p.items():
            if isinstance(v, dict) and isinstance(out.get(k), dict):
                out[k] = {**out[k], **v}
            else:
                out[k] = v
    return out


def text_of(doc: Document) -> str:
    return " ".join(doc.message_text(m) for m in doc.message_ids())


@pytest.fixture(scope="module")
def leaflet() -> Callable[[dict[str, Any]], Document]:
    """The patient leaflet for an assessment given as a dictionary."""
    return explain


# ---------------------------------------------------------------------------- which leaflet


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("p01-cauda-equina", "act_now"),
        ("p02-facet-pattern", "back_pain"),
        ("p03-sciatica", "sciatica"),
        ("p04-flexion-related", "back_pain"),
        ("p05-axial-spa", "referral"),
        ("p06-osteoporotic-fracture", "act_now"),
        ("p07-high-risk-with-odi", "back_pain"),
        ("p08-spinal-infection", "act_now"),
    ],
)
def test_document_kind_for_each_example(cases: dict[str, Case], name: str, kind: str) -> None:
    report = cases[name].report
    assert document_kind(report) == kind
    assert compose_patient(report, cases[name].assessment.answers).kind == kind


def test_act_now_is_only_act_now_messages(cases: dict[str, Case]) -> None:
    for name in ("p01-cauda-equina", "p06-osteoporotic-fracture", "p08-spinal-infection"):
        doc = compose_patient(cases[name].report, cases[name].assessment.answers)
        ids = set(doc.message_ids())
        assert ids <= ACT_NOW_ALLOWED, name
        assert {"act-now-do-this", "act-now-why", "safety-net", "clinical-assessment"} <= ids


def test_cauda_equina_leaflet_says_where_and_how_fast(cases: dict[str, Case]) -> None:
    c = cases["p01-cauda-equina"]
    doc = compose_patient(c.report, c.assessment.answers)
    assert doc.title == "Please act on this now" and doc.urgent
    do_now = doc.message_text("act-now-do-this")
    assert "emergency department (A&E) now" in do_now
    assert "cauda equina syndrome" in doc.message_text("act-now-why")
    signs = doc.message_text("act-now-signs")
    assert "Numbness between your legs or around your bottom." in signs
    assert doc.message("act-now-do-this").blocks[0].emphasis


def test_urgent_cancer_case_gets_its_own_warning_signs(leaflet: Any) -> None:
    doc = leaflet(merged(SCREENED, {"age": 61, "red_flags": {"history_of_cancer": True}}))
    assert doc.kind == "act_now" and doc.title == "Please see a doctor in the next few days"
    assert "Tell them you have had cancer" in doc.message_text("act-now-do-this")
    net = doc.message_text("safety-net")
    assert "pain like a tight band around your chest - go to A&E at once" in net
    assert "unsteadiness in your legs" in net


def test_referral_has_none_of_the_non_specific_messages(cases: dict[str, Case]) -> None:
    c = cases["p05-axial-spa"]
    doc = compose_patient(c.report, c.assessment.answers)
    ids = doc.message_ids()
    assert ids == (
        "referral-what-for",
        "inflammatory-back-pain",  # axial spondyloarthritis is suspected (HZ-34)
        "referral-what-happens",
        "referral-meanwhile",
        "safety-net",
        "clinical-assessment",
    )
    assert "rheumatologist" in doc.message_text("referral-what-for")
    assert "A painful red eye called uveitis or iritis." in doc.message_text("referral-what-for")


def test_sciatica_leaflet_has_the_spec_messages_only(cases: dict[str, Case]) -> None:
    c = cases["p03-sciatica"]
    ids = compose_patient(c.report, c.assessment.answers).message_ids()
    assert set(SCIATICA) <= set(ids)
    assert not set(ids) & set(NON_SPECIFIC_ONLY + FACET)
    assert set(ids) - set(SCIATICA) <= {"not-recommended", "clinical-assessment"}


def test_facet_messages_follow_the_fit(cases: dict[str, Case]) -> None:
    for name in ("p02-facet-pattern", "p04-flexion-related", "p07-high-risk-with-odi"):
        c = cases[name]
        ids = set(compose_patient(c.report, c.assessment.answers).message_ids())
        assert set(NON_SPECIFIC_ONLY) <= ids
        shows = c.report.pattern("facet").fit in ("strong", "possible")
        assert (set(FACET) <= ids) is shows, name
        assert not (set(FACET) & ids) or shows, name


# ---------------------------------------------------------------------------- HZ-17 wording


def test_nothing_serious_only_after_a_complete_screen(leaflet: Any) -> None:
    complete = leaflet(merged(SCREENED, {"age": 40, "pain": {"back": 5, "leg": 0}}))
    assert "nothing serious was found" in complete.message_text("non-specific-is-a-category")
    partial = leaflet({"age": 40, "pain": {"back": 5}})
    what = partial.message_text("non-specific-is-a-category")
    assert "nothing serious was found" not in text_of(partial)
    assert "Nothing in your answers points to a serious cause" in what
    net = partial.message_text("safety-net")
    assert "You were not asked about some warning signs" in net
    for topic in ("Numbness between your legs or around your bottom.", "A fever or shivers."):
        assert topic in net


# ---------------------------------------------------------------------------- tailoring


def test_recovery_drivers_follow_the_answers(leaflet: Any) -> None:
    base = merged(SCREENED, {"age": 35, "pain": {"back": 4, "leg": 0}})
    plain = leaflet(base).message_text("recovery-drivers")
    worried = leaflet(
        merged(
            base,
            {
                "beliefs": {
                    "fear_of_movement": 8,
                    "confidence_to_move": 2,
                    "expects_recovery": False,
                    "off_work": True,
                }
            },
        )
    ).message_text("recovery-drivers")
    for phrase in (
        "worry that moving could harm your back",
        "do not feel sure you can do normal things",
        "do not expect to get better",
        "off work",
    ):
        assert phrase in worried and phrase not in plain


def test_startback_group_chooses_the_support(cases: dict[str, Case]) -> None:
    low = compose_patient(cases["p02-facet-pattern"].report)
    high = compose_patient(cases["p07-high-risk-with-odi"].report)
    assert "low chance of a slow recovery" in low.message_text("same-first-steps")
    assert "higher chance of a slow recovery" in high.message_text("same-first-steps")


@pytest.mark.parametrize(
    ("age", "people"), [(45, "people your age"), (17, "people aged 20"), (93, "people aged 80")]
)
def test_scan_figures_are_age_matched(leaflet: Any, age: int, people: str) -> None:
    doc = leaflet({"age": age, "pain": {"back": 3}})
    table = load_imaging_knowledge().prevalence
    disc = prevalence_for_age(table, "disc_degeneration", age)
    text = doc.message_text("imaging-not-needed")
    assert f"About {disc} in 100 {people} with no back pain have disc changes" in text


def test_usual_course_gives_means_not_recovery_rates(leaflet: Any) -> None:
    recent = leaflet({"age": 30, "history": {"duration_weeks": 2}, "pain": {"back": 5}})
    lasting = leaflet({"age": 30, "history": {"duration_weeks": 20}, "pain": {"back": 5}})
    unknown = leaflet({"age": 30, "pain": {"back": 5}})
    r = recent.message_text("usual-course")
    p = lasting.message_text("usual-course")
    u = unknown.message_text("usual-course")
    assert "six weeks" in r and "more than three months" not in r
    assert "more than three months" in p and "six weeks" not in p
    assert "six weeks" in u and "eases more slowly" in u
    for t in (r, p, u):
        assert "average pain score" in t and "These are averages" in t
        assert "About 7 in 10 people who got better had another bout in a year" in t


def test_not_recommended_in_plain_words(cases: dict[str, Case]) -> None:
    c = cases["p02-facet-pattern"]
    text = compose_patient(c.report).message_text("not-recommended")
    assert "Acupuncture." in text and "Injections into the back." in text
    assert "SSRI" not in text and "TENS" in text


def test_report_alone_is_enough(cases: dict[str, Case]) -> None:
    """Without the answers, the leaflet is made from the report; answer-only parts drop out."""
    for c in cases.values():
        doc = compose_patient(c.report)
        assert "safety-net" in doc.message_ids()


def test_date_in_plain_words(leaflet: Any) -> None:
    doc = leaflet({"age": 40, "assessed_on": "2025-03-01", "pain": {"back": 4}})
    assert doc.intro == "This is about the answers you gave on 1 March 2025."


# ---------------------------------------------------------------------------- clinician


def test_referral_summary_for_urgent_and_soon(cases: dict[str, Case], kb: KnowledgeBase) -> None:
    urgent = compose_clinician(cases["p06-osteoporotic-fracture"].report, kb=kb)
    assert urgent.title.startswith("Referral summary - URGENT")
    assert urgent.sections[0].id == "referral"
    ref = urgent.message_text("clinician-referral")
    assert "RF-FX-FRAGILITY" in ref and "Action:" in ref and "Because:" in ref
    soon = compose_clinician(cases["p05-axial-spa"].report, kb=kb)
    assert soon.title.startswith("Referral summary - SOON")
    routine = compose_clinician(cases["p02-facet-pattern"].report, kb=kb)
    assert routine.title == "Clinician summary" and routine.sections[0].id == "triage"


def test_clinician_summary_carries_every_conclusion(cases: dict[str, Case]) -> None:
    c = cases["p07-high-risk-with-odi"]
    doc = compose_clinician(c.report, c.assessment.answers)
    ids = doc.message_ids()
    for mid in (
        "clinician-triage",
        "clinician-classification",
        "clinician-patterns",
        "clinician-pattern-facet",
        "clinician-scores",
        "clinician-plan",
        "clinician-not-recommended",
        "clinician-unknowns",
        "clinician-warnings",
        "clinician-codes",
        "clinician-leaflet",
    ):
        assert mid in ids, mid
    assert "band: severe" in doc.message_text("clinician-scores")  # clinician vocabulary
    assert "NICE NG59" in doc.message_text("clinician-plan")
    assert c.report.knowledge_version in doc.footer
    widespread = doc.message_text("clinician-pattern-widespread-sensitisation")
    assert "For:" in widespread and "What would change the fit" in widespread
    assert {s.id for s in doc.sources} >= set(c.report.citations)


def test_assessment_mapping_is_validated() -> None:
    from backstory.contract import AssessmentError

    with pytest.raises(AssessmentError):
        explain({"age": 12})


def test_explain_matches_compose(kb: KnowledgeBase) -> None:
    data = {"age": 50, "pain": {"back": 5}}
    a = parse_assessment(data)
    assert explain(data).to_dict() == compose_patient(assess(a, kb), a.answers).to_dict()
