"""The pre-visit questionnaire is knowledge: cited, checked against the contract and the
cauda equina rules at load, and refused with a located message when it is broken (HZ-11, HZ-18).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import textstat

from backstory.knowledge.checks import check_knowledge
from backstory.knowledge.loader import KnowledgeBase, KnowledgeError, data_root
from backstory.knowledge.questionnaire import load_questionnaire, load_questionnaire_from
from backstory.knowledge.schema import emphasis_parts


def test_shipped_questionnaire_loads_and_every_entry_cites(kb: KnowledgeBase) -> None:
    form = load_questionnaire()
    cited = [p.citations for p in form.parts]
    cited += [q.citations for q in form.questions()]
    cited.append(form.emergency_banner.citations)
    assert all(ids and all(i in kb.sources for i in ids) for ids in cited)
    ces = [q for q in form.questions() if q.ces]
    essential = {e.field for e in kb.screening.essential if e.group == "cauda_equina"}
    assert {q.field for q in ces} == essential
    assert all(set(q.citations) >= {"girft-ces-2023", "hssib-ces"} for q in ces)
    assert set(form.emergency_banner.citations) >= {"girft-ces-2023", "hssib-ces"}


def test_knowledge_check_validates_and_counts_the_questionnaire() -> None:
    result = check_knowledge()
    assert "questionnaire.yaml" in result.files
    assert len(result.questionnaire.questions()) == 47  # 2026.12.1: movements, where it hurts


def test_banner_emphasis_markers() -> None:
    parts = emphasis_parts("checked **today**.")
    assert parts == (("checked ", False), ("today", True), (".", False))
    assert emphasis_parts("plain A&E <b>") == (("plain A&E <b>", False),)
    for bad in ("an **unpaired marker", "empty ****", "** **"):
        with pytest.raises(ValueError):
            emphasis_parts(bad)


@pytest.fixture
def copy_root(tmp_path: Path) -> Path:
    dst = tmp_path / "data"
    shutil.copytree(Path(str(data_root())), dst)
    return dst


def _break(root: Path, old: str, new: str) -> None:
    path = root / "questionnaire.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


CES_QUESTION = "      - field: red_flags.sexual_dysfunction\n"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        pytest.param(
            "field: red_flags.fever\n",
            "field: red_flags.fevr\n",
            "questionnaire.yaml/p-health/red_flags.fevr: unknown field 'red_flags.fevr'",
            id="unknown-field",
        ),
        pytest.param(
            "{value: both, label: Both}",
            "{value: all, label: Both}",
            "questionnaire.yaml/p-where/pain.leg_side: option 'all' is not a possible value of "
            "pain.leg_side",
            id="option-not-in-contract",
        ),
        pytest.param(
            "{value: other, label: Other}",
            "{value: not_sure, label: Other}",
            "'not_sure' is added to every question by the page",
            id="not-sure-listed",
        ),
        pytest.param(
            CES_QUESTION,
            "      - field: red_flags.iv_drug_use\n",
            "questionnaire.yaml/p-urgent/red_flags.iv_drug_use: marked ces, but "
            "red_flags.iv_drug_use is not a red_flags question that a cauda equina rule reads",
            id="ces-not-a-ces-field",
        ),
        pytest.param(
            CES_QUESTION,
            "      - field: exam.saddle_sensation_reduced\n",
            "marked ces, but exam.saddle_sensation_reduced is not a red_flags question",
            id="ces-not-a-red-flag",
        ),
        pytest.param(
            CES_QUESTION,
            "      - field: red_flags.ces_symptoms_stable_over_2_weeks\n",
            "a yes to red_flags.ces_symptoms_stable_over_2_weeks alone makes no cauda equina "
            "rule fire at the emergency level",
            id="ces-yes-not-an-emergency",
        ),
        pytest.param(
            "citations: [yusuf-2019]",
            "citations: [no-such-source]",
            "questionnaire.yaml/p-health/red_flags.fever: cites unknown source 'no-such-source'",
            id="unresolved-citation",
        ),
        pytest.param(
            "call {emergency_number}.\n  citations: [girft-ces-2023, hssib-ces]\n",
            "call {emergency_number}.\n  citations: [girft-ces-2023, hssib-cess]\n",
            "questionnaire.yaml/emergency_banner: cites unknown source 'hssib-cess'",
            id="unresolved-banner-citation",
        ),
        pytest.param(
            "{emergency_number}.\n  citations: [girft-ces-2023, hssib-ces]\n\n# Where",
            "{emergency_number}.\n  citations: [girft-ces-2023, hssib]\n\n# Where",
            "questionnaire.yaml/unsure_banner: cites unknown source 'hssib'",
            id="unresolved-unsure-citation",
        ),
        pytest.param(
            "call {emergency_number}.\n  citations",
            "call {ambulance}.\n  citations",
            "unknown placeholder {ambulance}",
            id="unknown-placeholder",
        ),
        pytest.param(
            "If you cannot reach them today, contact\n    {urgent_advice}.",
            "If you cannot reach them today, contact\n    {urgent_advice} or {clinic_contact.",
            "stray brace",
            id="stray-brace",
        ),
        pytest.param(
            "**Contact your clinic today: {clinic_contact}.**",
            "**Contact your clinic today.**",
            "with_contact must name {clinic_contact}",
            id="contact-not-named",
        ),
        pytest.param(
            "Tell them about your back pain and these questions.",
            "Tell {clinic_contact} about your back pain.",
            "only with_contact may name {clinic_contact}",
            id="contact-in-the-wrong-text",
        ),
        pytest.param(
            '    emergency_number: "112"',
            '    emergency_number: "call 112"',
            "emergency_number",
            id="emergency-number-not-a-number",
        ),
        pytest.param(
            "  - code: IE\n",
            "  - code: GB\n",
            "country codes must be unique",
            id="country-twice",
        ),
        pytest.param(
            "    citations: [eu-112]",
            "    citations: [eu-999]",
            "questionnaire.yaml/countries/IE: cites unknown source 'eu-999'",
            id="unresolved-country-citation",
        ),
        pytest.param(
            "  evidence: expert_opinion",
            "  evidence: common_sense",
            "evidence",
            id="unsure-evidence-kind",
        ),
        pytest.param(
            "        kind: yesno\n        note: Diabetes",
            "        kind: scale\n        note: Diabetes",
            "a scale question cannot answer history.diabetes, which takes true or false",
            id="kind-does-not-fit-the-field",
        ),
        pytest.param(
            "    citations: [finucane-2020]\n",
            "    citations: []\n",
            "parts.4.citations: List should have at least 1 item",
            id="part-without-sources",
        ),
        pytest.param(
            "        kind: yesno\n        required: true\n        ces: true\n"
            "        citations: [girft-ces-2023, hssib-ces]\n\n",
            "        kind: yesno\n        required: true\n"
            "        citations: [girft-ces-2023, hssib-ces]\n\n",
            "every cauda equina screening question must be asked as a ces question; missing: "
            "red_flags.bilateral_leg_symptoms",
            id="ces-question-dropped",
        ),
        pytest.param(
            "        text: Have you lost weight without trying?\n        kind: yesno\n",
            "        text: Have you lost weight without trying?\n        kind: yesno\n"
            "        required: true\n        ces: true\n",
            "the cauda equina (ces) questions must come first",
            id="ces-question-late",
        ),
        pytest.param(
            "        required: true\n        ces: true\n",
            "        ces: true\n",
            "a cauda equina (ces) question must be a required yesno question",
            id="ces-question-optional",
        ),
        pytest.param(
            "doctor\n      **today**.",
            "doctor\n      **today.",
            "unpaired ** emphasis marker",
            id="banner-unpaired-emphasis",
        ),
        pytest.param(
            "most of the time?\n        kind: scale\n",
            "most of the time?\n        kind: scale\n        not_sure_label: Not sure\n",
            "a scale question has no not-sure answer to label",
            id="not-sure-label-on-a-number",
        ),
        pytest.param(
            "        kind: yesno\n        note: Diabetes",
            "        kind: yesno\n        wording: x\n        note: Diabetes",
            "Extra inputs are not permitted",
            id="unknown-key",
        ),
        pytest.param(
            "    title: How your back is now\n",
            "    title: How your **back** is now\n",
            "an opening is plain words",
            id="opening-with-emphasis",
        ),
        pytest.param(
            "  follow_up:\n    title: How your back is now\n",
            "  later:\n    title: How your back is now\n",
            "follow_up",
            id="opening-missing",
        ),
    ],
)
def test_broken_questionnaire_is_refused(copy_root: Path, old: str, new: str, message: str) -> None:
    _break(copy_root, old, new)
    with pytest.raises(KnowledgeError) as exc:
        load_questionnaire_from(copy_root)  # type: ignore[arg-type]
    assert message in str(exc.value)
    assert "questionnaire.yaml" in str(exc.value)


def test_unsure_advice_says_it_is_expert_opinion_and_cites_the_ces_sources() -> None:
    """HZ-85: the advice to a patient unsure about a cauda equina question is cited and says
    what kind of evidence it rests on; every country gives an emergency number."""
    form = load_questionnaire()
    assert form.unsure_banner.evidence == "expert_opinion"
    assert "expert opinion" in form.unsure_banner.note
    assert {"girft-ces-2023", "hssib-ces"} <= set(form.unsure_banner.citations)
    assert form.countries[0].code == "GB" and form.countries[0].emergency_number == "999"
    assert form.country("IE").emergency_number == "112"
    assert form.country("ZZ") == form.countries[0]  # unknown: the default


def test_movement_questions_feed_every_movement_a_pattern_reads(kb: KnowledgeBase) -> None:
    """Issue 14: the questionnaire asks each movement and place the pain patterns read, and
    its "not sure" is the patient's uncertainty (kept), not a refusal to say."""
    form = load_questionnaire()
    asked = {q.field: q for q in form.questions()}
    read: set[str] = set()
    for pattern in kb.patterns.patterns:
        for feature in pattern.features:
            read |= {feature.field} if feature.field else set()
            read |= kb.fields_of(feature.when) if feature.when is not None else set()
    wanted = {
        "movement.flexion",
        "movement.extension",
        "movement.rotation",
        "movement.side_bending",
        "movement.rising_from_sitting",
        "movement.sitting",
        "movement.standing",
        "movement.walking",
        "movement.lying_down",
        "movement.cough_sneeze",
        "pain.back_side",
        "pain.maximal_below_l5",
        "pain.distribution",
        "pain.thoracic",
        "pain.constant",
    }
    assert wanted <= set(asked) and wanted <= read
    # every answer a pattern reads is asked, but the examination's and the scores (and leg
    # pain "the main problem", which the fact also reads from the two pain scores asked)
    history = {f for f in read if not f.startswith(("exam.", "scores.", "startback."))}
    assert history - set(asked) == {"pain.leg_worse_than_back"}
    for field in wanted:
        q = asked[field]
        assert q.records_uncertainty and q.not_sure_text() == "Not sure", field
    # a choice without a label keeps "I would rather not say", which is not uncertainty
    assert not asked["sex"].records_uncertainty
    assert asked["sex"].not_sure_text() == "I would rather not say"
    assert asked["pain.constant"].not_sure_text() == "Not sure"


def test_a_part_id_fits_a_draft(copy_root: Path) -> None:
    """A part's id names its page in a saved draft, which holds at most 40 characters."""
    at_limit = "p-" + "w" * 38
    _break(copy_root, "  - id: p-where\n", f"  - id: {at_limit}\n")
    assert at_limit in [p.id for p in load_questionnaire_from(copy_root).parts]  # type: ignore[arg-type]
    _break(copy_root, f"  - id: {at_limit}\n", f"  - id: {at_limit}w\n")
    with pytest.raises(KnowledgeError, match="at most 40 characters"):
        load_questionnaire_from(copy_root)  # type: ignore[arg-type]


def test_the_openings_are_plain_and_say_which_questionnaire_it_is() -> None:
    """HZ-18: the opening words pass the same readability gate as the questions; a follow-up
    never calls itself a pre-visit questionnaire."""
    openings = load_questionnaire().openings
    for words in (openings.pre_visit, openings.follow_up):
        assert textstat.flesch_kincaid_grade(words.intro) <= 8, words.intro
    assert openings.follow_up.title != openings.pre_visit.title
    assert "appointment" not in (openings.follow_up.title + openings.follow_up.intro).lower()
