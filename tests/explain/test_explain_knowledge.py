"""The explanation and code knowledge: complete, cited, and broken data refused at load."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from backstory.core.report import Report
from backstory.explain.knowledge import (
    EXPLANATIONS_FILE,
    ExplainKnowledgeError,
    check_against_core,
    load_explanation_sources,
    load_explanations,
    parse_explanations,
)
from backstory.explain.select import answer_signals, known_answers
from backstory.knowledge.checks import check_knowledge
from backstory.knowledge.codes import load_code_table
from backstory.knowledge.loader import KnowledgeBase, data_root

from .spec_messages import FACET, NON_SPECIFIC, SCIATICA

# The spec's message ids (shared/spec/key-messages.md), typed here, not read from the data.
SPEC = Path(__file__).resolve().parents[3] / "shared" / "spec" / "key-messages.md"
EXAMPLES = Path(__file__).parents[1] / "data" / "examples"


def _raw() -> Any:
    return yaml.safe_load(data_root().joinpath(EXPLANATIONS_FILE).read_text("utf-8"))


def test_every_spec_message_exists_in_its_documents() -> None:
    kn = load_explanations()
    for mid in NON_SPECIFIC + FACET:
        assert "back_pain" in kn.message(mid).documents, mid
    for mid in SCIATICA:
        assert "sciatica" in kn.message(mid).documents, mid
    for kind in ("act_now", "referral", "sciatica", "back_pain"):
        assert kind in kn.message("safety-net").documents
        assert kind in kn.message("clinical-assessment").documents


def test_spec_ids_match_the_shared_spec_when_present() -> None:
    """The typed ids above are the spec's (checked only where the shared spec is available)."""
    if not SPEC.exists():
        pytest.skip("shared spec not available")
    ids = set(re.findall(r"`([a-z]+(?:-[a-z]+)+)`", SPEC.read_text("utf-8")))
    assert ids == set(NON_SPECIFIC) | set(FACET) | set(SCIATICA)


def test_facet_messages_only_when_the_fit_is_strong_or_possible() -> None:
    kn = load_explanations()
    for mid in FACET:
        assert kn.message(mid).when == {"facet_fit": ("strong", "possible")}, mid


def test_every_message_and_rule_text_cites_known_sources(kb: KnowledgeBase) -> None:
    kn = load_explanations()
    for m in kn.messages:
        assert m.citations and all(c in kb.sources for c in m.citations), m.id
    for rid, r in kn.triage_rules.items():
        assert r.citations and all(c in kb.sources for c in r.citations), rid
    assert check_against_core(kn, kb) == []


def test_flare_up_plan_is_labelled_expert_opinion() -> None:
    """No trial of flare-up plans exists: the knowledge says so, and so does the leaflet."""
    m = load_explanations().message("flare-ups")
    assert "expert opinion" in m.evidence
    assert any("expert advice" in t for p in m.parts for t in p.texts())


def test_whole_knowledge_check_passes_with_the_new_files() -> None:
    """`backstory knowledge check`: every citation resolves and every source is cited."""
    result = check_knowledge()
    names = set(result.files)
    assert {"explanations.yaml", "codes.yaml"} <= names


def test_own_sources_are_new_ids_and_all_cited(kb: KnowledgeBase) -> None:
    own = load_explanation_sources()
    assert own and all(s.id.startswith("ex-") for s in own)
    assert all(s.id in kb.sources for s in own)


def test_allowed_phrasings_only_explain() -> None:
    """Each allowed phrasing uses an avoided word only to deny it or to quote a report."""
    wording = load_explanations().wording
    for phrase in wording.allowed_phrasings:
        assert re.search(r"\bnot\b|without|words like", phrase), phrase


def test_odi_band_names_are_avoided_words(kb: KnowledgeBase) -> None:
    """The distinctive ODI band names are on the avoid list (HZ-07)."""
    avoid = load_explanations().wording.avoid
    bands = {b.id for inst in kb.instruments.instruments for b in inst.bands}
    assert {"crippled", "bed_bound"} <= bands
    assert "crippl" in avoid and "bed_bound" in avoid and "bed-bound" in avoid


def test_the_code_table_loads() -> None:
    table = load_code_table()
    assert any(c.status == "verified" for c in table.codes)


# ---------------------------------------------------------------------------- broken data


def _broken(edit: Any) -> Any:
    raw = _raw()
    edit(raw)
    return raw


def _message(raw: Any, mid: str) -> Any:
    return next(m for m in raw["messages"] if m["id"] == mid)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda r: _message(r, "recovery-drivers")["parts"][1].update(
                {"when": {"fearr": ["high"]}}
            ),
            "unknown condition 'fearr'",
        ),
        (
            lambda r: _message(r, "recovery-drivers")["parts"][1].update(
                {"when": {"fear": ["extreme"]}}
            ),
            "'fear' cannot be 'extreme'",
        ),
        (
            lambda r: _message(r, "imaging-not-needed")["parts"][1]["one_of"][-1].update(
                {"text": "About {disc_chnages} in 100."}
            ),
            "unknown placeholders ['disc_chnages']",
        ),
        (
            lambda r: _message(r, "imaging-not-needed")["parts"][1]["one_of"][-1].update(
                {"text": "About {disc_changes!r} in 100."}
            ),
            "only plain {name} placeholders",
        ),
        (
            lambda r: _message(r, "sensitivity-not-damage")["parts"][0]["one_of"][-1].update(
                {"text": "Your discs show wear and tear."}
            ),
            "patient text uses ['wear and tear']",
        ),
        (
            lambda r: r["triage_rules"]["RF-CES-NEW"].update(
                {"why": "Most scans are clear, so this is probably nothing serious."}
            ),
            "act-now text must not reassure",
        ),
        (
            lambda r: _message(r, "safety-net")["parts"][0]["one_of"][0].update(
                {"text": "Nothing to worry about, but go to A&E at once if:"}
            ),
            "act-now text must not reassure",
        ),
        (
            lambda r: r["documents"][3]["sections"][0]["messages"].append("no-such-message"),
            "unknown message 'no-such-message'",
        ),
        (
            lambda r: _message(r, "usual-course").update({"documents": ["back_pain", "sciatica"]}),
            "listed for 'sciatica' but in none of its sections",
        ),
        (
            lambda r: _message(r, "usual-course").update({"extra": 1}),
            "Extra inputs are not permitted",
        ),
        (
            lambda r: _message(r, "usual-course").update({"citations": []}),
            "citations",
        ),
    ],
)
def test_broken_explanations_are_refused(edit: Any, message: str) -> None:
    with pytest.raises(ExplainKnowledgeError) as exc:
        parse_explanations(_broken(edit))
    assert message in str(exc.value)


def test_missing_plain_words_for_the_core_are_refused(kb: KnowledgeBase) -> None:
    """A new rule, screening question or do-not-offer item needs its patient wording."""
    raw = _raw()
    del raw["triage_rules"]["RF-AAA-MASS"]
    raw["answers"] = [a for a in raw["answers"] if a["field"] != "red_flags.fever"]
    del raw["not_recommended"]["MG-NO-TRACTION"]
    raw["triage_rules"]["RF-AXSPA-IBP"]["do_now"] = "Go now."
    problems = check_against_core(parse_explanations(raw), kb)
    text = "\n".join(problems)
    assert "RF-AAA-MASS has no plain words" in text
    assert "red_flags.fever has no plain words" in text
    assert "MG-NO-TRACTION has no plain words" in text
    assert "RF-AXSPA-IBP: a soon rule has no do_now" in text


@pytest.mark.parametrize(
    ("choice", "message"),
    [
        # urgent explained as a referral while emergency acts now: a lowered escalation
        (
            {"act_now_levels": ["emergency"], "referral_levels": ["urgent", "soon"]},
            "urgent must get the act-now leaflet",
        ),
        # urgent acts now but emergency does not
        (
            {"act_now_levels": ["urgent"], "referral_levels": ["emergency"]},
            "every act-now level must outrank every other level",
        ),
        # routine referred while soon is not
        (
            {"act_now_levels": ["emergency", "urgent"], "referral_levels": ["routine"]},
            "every referral level must outrank the levels left",
        ),
        (
            {"act_now_levels": ["emergency", "urgent"], "referral_levels": ["urgent", "soon"]},
            "a level cannot be both act-now and referral",
        ),
        ({"act_now_levels": ["emergency", "urgnt"]}, "'urgnt' is not a triage level"),
        ({"by_category": {"radiclar": "sciatica"}}, "'radiclar' is not a category"),
    ],
)
def test_a_leaflet_choice_that_lowers_an_escalation_is_refused(
    kb: KnowledgeBase, choice: dict[str, Any], message: str
) -> None:
    raw = _raw()
    raw["leaflet_choice"].update(choice)
    assert message in "\n".join(check_against_core(parse_explanations(raw), kb))


def test_the_bundled_leaflet_choice_is_accepted(kb: KnowledgeBase) -> None:
    raw = _raw()
    assert raw["leaflet_choice"]["act_now_levels"] == ["emergency", "urgent"]
    assert check_against_core(parse_explanations(raw), kb) == []


def test_the_inflammatory_paragraph_follows_the_suspected_condition(
    kb: KnowledgeBase, run: Callable[[dict[str, Any]], Report]
) -> None:
    """The signal reads ``suspected.axial_spondyloarthritis``, true only when it is suspected."""
    kn = load_explanations()
    for name, expected in (("p05-axial-spa", "yes"), ("p03-sciatica", "no")):
        data = json.loads((EXAMPLES / f"{name}.json").read_text("utf-8"))
        report = run(data)
        assert ("axial_spondyloarthritis" in report.triage.suspected) is (expected == "yes")
        sig = answer_signals(report, known_answers(report), kn, kb)
        assert sig["inflammatory"] == expected, name


def test_the_clinic_contact_texts_are_checked_like_the_leaflet() -> None:
    """The printed "Your clinic" section is knowledge: plain words, its own placeholders."""
    kn = load_explanations()
    texts = dict(kn.printed_texts())
    assert texts["clinic_contact/urgent_first"].startswith("Follow the advice")
    for where, text in texts.items():
        for word in kn.wording.avoid:
            assert word.lower() not in text.lower(), (where, word)
    assert "clinic_contact/urgent_first" in dict(kn.act_now_texts())
    raw = _raw()
    raw["clinic_contact"]["phone"] = "To contact the clinic, phone {number}."
    with pytest.raises(ExplainKnowledgeError, match="unknown placeholders"):
        parse_explanations(raw)


@pytest.mark.parametrize(
    ("answer", "advised", "expected"),
    [
        (True, False, "yes"),
        (False, True, "no"),  # the answer wins over the plan
        (None, True, "yes"),  # no answer at hand: the return-to-work advice implies it
        (None, False, "unknown"),
    ],
)
def test_off_work_is_read_by_the_knowledge(
    kb: KnowledgeBase,
    run: Callable[[dict[str, Any]], Report],
    answer: bool | None,
    advised: bool,
    expected: str,
) -> None:
    import dataclasses

    report = run(json.loads((EXAMPLES / "p02-facet-pattern.json").read_text("utf-8")))
    plan = report.management
    rtw = [r for r in (*plan.recommended, *plan.not_recommended) if r.id == "MG-RETURN-TO-WORK"]
    others = tuple(r for r in plan.recommended if r.id != "MG-RETURN-TO-WORK")
    if advised:
        item = rtw[0] if rtw else dataclasses.replace(others[0], id="MG-RETURN-TO-WORK")
        others = (*others, item)
    report = dataclasses.replace(report, management=dataclasses.replace(plan, recommended=others))
    known = {} if answer is None else {"beliefs.off_work": answer}
    sig = answer_signals(report, known, load_explanations(), kb)
    assert sig["off_work"] == expected
