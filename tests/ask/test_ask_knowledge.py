"""The questions knowledge: it validates, every claim's source resolves, and the wording is kind."""

from __future__ import annotations

import re

import pytest
import yaml

from backstory.ask import (
    QuestionsKnowledgeError,
    load_question_sources,
    load_questions_knowledge,
)
from backstory.ask.loader import BIBLIOGRAPHY_FILE, SHARED_SOURCE_IDS, data_root
from backstory.ask.loader import parse_questions_knowledge as parse
from backstory.knowledge.loader import load_sources

KB = load_questions_knowledge()
OWN_SOURCES = {s.id: s for s in load_question_sources()}
SOURCE_KEYS = {"id", "short", "title", "authors", "year", "url", "doi", "verified", "note"}

# The topics the feature promises to answer (one entry each).
PROMISED_TOPICS = {
    "facet-arthritis",
    "need-mri",
    "worse-with-age",
    "safe-to-exercise",
    "non-specific-meaning",
    "disc-bulge-on-scan",
    "bed-rest",
    "recovery-time",
    "recurrence",
    "flare-up",
    "when-to-worry",
    "painkillers",
    "injections",
    "what-are-facet-joints",
    "damaged-worn-out",
    "stress-worry",
    "stop-work",
    "back-brace",
    "acupuncture-tens",
    "what-is-sciatica",
    "start-back",
    "surgery",
    "sitting-posture",
    "all-in-my-head",
    "radiofrequency-denervation",
}

# Answers where the cauda equina warning signs must be spelled out in the answer itself.
NEEDS_SAFETY_NET = {
    "need-mri",
    "when-to-worry",
    "serious-cause",
    "flare-up",
    "what-is-sciatica",
    "sciatica-outlook",
    "surgery",
    "safe-to-exercise",
}


def _raw_file() -> str:
    return data_root().joinpath("questions.yaml").read_text(encoding="utf-8")


def _flat(text: str) -> str:
    return " ".join(text.lower().split())


def test_knowledge_validates_with_at_least_25_entries() -> None:
    assert len(KB.entries) >= 25
    assert KB.version
    assert parse(_raw_file()) == KB


def test_every_promised_topic_has_an_entry() -> None:
    assert {e.id for e in KB.entries} >= PROMISED_TOPICS


def test_unknown_top_level_key_is_rejected() -> None:
    with pytest.raises(QuestionsKnowledgeError, match="colour"):
        parse(_raw_file() + "\ncolour: red\n")


def test_unknown_entry_key_is_rejected() -> None:
    broken = _raw_file().replace(
        "  - id: facet-arthritis\n", "  - id: facet-arthritis\n    author: someone\n", 1
    )
    with pytest.raises(QuestionsKnowledgeError, match="author"):
        parse(broken)


def test_entries_without_citations_are_rejected() -> None:
    broken = _raw_file().replace("    citations: [nice-ng59]\n", "    citations: []\n", 1)
    with pytest.raises(QuestionsKnowledgeError, match="citations"):
        parse(broken)


def test_knowledge_is_frozen() -> None:
    with pytest.raises(Exception, match="frozen"):
        KB.entries[0].answer = "changed"  # type: ignore[misc]


def test_every_citation_resolves() -> None:
    known = set(load_sources())
    cited = [(e.id, c) for e in KB.entries for c in e.citations]
    cited += [("messages", c) for c in KB.messages.safety_net_citations]
    missing = [(where, c) for where, c in cited if c not in known]
    assert not missing, f"citations with no source: {missing}"


def test_every_own_source_is_cited() -> None:
    cited = {c for e in KB.entries for c in e.citations} | set(KB.messages.safety_net_citations)
    assert not set(OWN_SOURCES) - cited, "sources defined but never cited"


def test_shared_sources_are_not_redefined_here() -> None:
    assert not set(OWN_SOURCES) & SHARED_SOURCE_IDS


def test_own_source_ids_clash_with_no_other_bibliography_file() -> None:
    """Bibliography files share one namespace; a duplicate id breaks every loader."""
    folder = data_root().joinpath("bibliography")
    clashes: list[tuple[str, str]] = []
    for entry in folder.iterdir():
        if not entry.name.endswith(".yaml") or entry.name == BIBLIOGRAPHY_FILE:
            continue
        raw = yaml.safe_load(entry.read_text(encoding="utf-8")) or []
        for item in raw if isinstance(raw, list) else []:
            if isinstance(item, dict) and item.get("id") in OWN_SOURCES:
                clashes.append((entry.name, str(item["id"])))
    assert not clashes


def test_bibliography_entries_have_exactly_the_shared_keys() -> None:
    path = data_root().joinpath("bibliography", BIBLIOGRAPHY_FILE)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(raw, list) and raw
    for item in raw:
        assert set(item) == SOURCE_KEYS, item.get("id")
        assert isinstance(item["year"], int)
        assert item["verified"] in {"primary", "secondary"}
        assert item["url"] or item["doi"], f"{item['id']}: no way to find the source"
    ids = [item["id"] for item in raw]
    assert len(ids) == len(set(ids))


def _without_allowed(text: str) -> str:
    flat = _flat(text)
    for phrase in KB.allowed_phrasings:
        flat = flat.replace(_flat(phrase), " ")
    return flat


def _patient_texts() -> list[tuple[str, str]]:
    texts = [(e.id, e.answer) for e in KB.entries]
    m = KB.messages
    return [
        *texts,
        ("no_match", m.no_match),
        ("not_diagnosis", m.not_diagnosis),
        ("safety_net", m.safety_net),
    ]


@pytest.mark.parametrize(("where", "text"), _patient_texts(), ids=lambda x: str(x)[:24])
def test_patient_text_avoids_frightening_words(where: str, text: str) -> None:
    rest = _without_allowed(text)
    found = [w for w in KB.avoid_words if re.search(rf"\b{re.escape(w)}\b", rest)]
    assert not found, f"{where}: {found} outside an allowed explanatory phrasing"


def test_avoided_words_are_the_ones_the_key_messages_name() -> None:
    required = {"degeneration", "wear and tear", "damage", "crumbling", "slipped disc"}
    assert required <= set(KB.avoid_words)


def test_every_allowed_phrasing_is_used() -> None:
    """The allow-list stays honest: no entry in it that no answer needs."""
    answers = " ".join(_flat(e.answer) for e in KB.entries)
    unused = [p for p in KB.allowed_phrasings if _flat(p) not in answers]
    assert not unused


def test_wording_check_catches_a_bad_word() -> None:
    rest = _without_allowed("Sensitivity is not damage, but your disc shows degeneration.")
    assert "damage" not in rest
    assert re.search(r"\bdegeneration\b", rest)


@pytest.mark.parametrize("entry", KB.entries, ids=lambda e: e.id)
def test_answers_do_not_diagnose(entry: object) -> None:
    from backstory.ask import QuestionEntry

    assert isinstance(entry, QuestionEntry)
    text = _flat(entry.answer)
    labels = r"(arthritis|sciatica|facet|cancer|a disc|cauda equina|an infection|a fracture)"
    assert not re.search(rf"\byou (have|have got|are suffering from) {labels}", text)
    assert "your diagnosis is" not in text


@pytest.mark.parametrize("entry_id", sorted(NEEDS_SAFETY_NET))
def test_safety_netting_where_relevant(entry_id: str) -> None:
    text = _flat(KB.entry(entry_id).answer)
    assert "emergency department" in text
    assert "same day" in text
    assert "between your legs" in text
    assert "bladder or bowel" in text


def test_safety_net_message_names_every_cauda_equina_sign() -> None:
    text = _flat(KB.messages.safety_net)
    for phrase in (
        "emergency department",
        "same day",
        "numbness between your legs",
        "bladder or bowel",
        "sexual problems",
        "both legs",
    ):
        assert phrase in text


def test_no_match_message_says_so_plainly() -> None:
    text = _flat(KB.messages.no_match)
    assert "no good match" in text
    assert "clinician" in text


def test_answers_are_short_plain_text() -> None:
    for e in KB.entries:
        words = len(e.answer.split())
        assert 30 <= words <= 150, (e.id, words)
        assert "http" not in e.answer and "*" not in e.answer and "#" not in e.answer


def test_synonym_terms_belong_to_one_group() -> None:
    clash = _raw_file().replace(
        "  - canonical: emergency\n    terms: [",
        "  - canonical: emergency\n    terms: [mri, ",
        1,
    )
    with pytest.raises(QuestionsKnowledgeError, match="mri"):
        parse(clash)
