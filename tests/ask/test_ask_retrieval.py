"""Retrieval quality and behaviour of ``answer_question``, measured on held-out questions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from backstory.ask import Answer, answer_question, load_questions_knowledge
from backstory.ask import answer as answer_module
from backstory.ask.text import apply_synonyms, raw_tokens, stem

KB = load_questions_knowledge()
EVAL: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parent / "eval_questions.yaml").read_text(encoding="utf-8")
)
MIN_ACCURACY = 0.85
MIN_HOLDOUT_ACCURACY = 0.80


def _norm(text: str) -> str:
    return " ".join(raw_tokens(text))


def _accuracy(items: list[dict[str, str]]) -> tuple[float, list[str]]:
    misses = []
    for item in items:
        got = answer_question(item["q"])
        if not (got.matched and got.entry_id == item["expect"]):
            misses.append(f"{item['q']!r}: expected {item['expect']}, got {got.entry_id}")
    return 1 - len(misses) / len(items), misses


def test_eval_set_is_big_enough_and_valid() -> None:
    ids = {e.id for e in KB.entries}
    assert len(EVAL["paraphrases"]) >= 75
    assert len(EVAL["out_of_scope"]) >= 10
    for item in EVAL["paraphrases"] + EVAL["holdout_paraphrases"]:
        assert item["expect"] in ids, item


def test_eval_questions_are_not_copied_into_the_data() -> None:
    """Guards against overfitting: no eval question may appear verbatim in the knowledge."""
    known = {_norm(t) for e in KB.entries for t in (e.question, *e.variants)}
    asked = [i["q"] for i in EVAL["paraphrases"] + EVAL["holdout_paraphrases"]]
    asked += EVAL["out_of_scope"] + EVAL["holdout_out_of_scope"]
    copied = [q for q in asked if _norm(q) in known]
    assert not copied


def test_paraphrase_top1_accuracy() -> None:
    accuracy, misses = _accuracy(EVAL["paraphrases"])
    print(f"\nask: top-1 accuracy {accuracy:.1%} on {len(EVAL['paraphrases'])} paraphrases")
    for miss in misses:
        print("  miss:", miss)
    assert accuracy >= MIN_ACCURACY


def test_holdout_top1_accuracy() -> None:
    accuracy, misses = _accuracy(EVAL["holdout_paraphrases"])
    n = len(EVAL["holdout_paraphrases"])
    print(f"\nask: holdout top-1 accuracy {accuracy:.1%} on {n} paraphrases")
    for miss in misses:
        print("  miss:", miss)
    assert accuracy >= MIN_HOLDOUT_ACCURACY


@pytest.mark.parametrize("question", EVAL["out_of_scope"] + EVAL["holdout_out_of_scope"])
def test_out_of_scope_gets_no_good_match(question: str) -> None:
    got = answer_question(question)
    assert not got.matched, f"matched {got.entry_id} with score {got.score}"
    assert got.entry_id is None and got.question is None and got.citations == ()
    assert got.answer == KB.messages.no_match


@pytest.mark.parametrize("entry", KB.entries, ids=lambda e: e.id)
def test_each_entry_finds_itself(entry: Any) -> None:
    for text in (entry.question, *entry.variants):
        got = answer_question(text)
        assert got.matched and got.entry_id == entry.id, text


def test_matched_answer_carries_the_entry() -> None:
    got = answer_question("Do I need an MRI?")
    entry = KB.entry("need-mri")
    assert got.matched
    assert (got.entry_id, got.question, got.answer) == ("need-mri", entry.question, entry.answer)
    assert got.citations == entry.citations
    assert 0.0 < got.score <= 1.0
    assert got.knowledge_version == KB.version


def test_alternatives_are_other_entries_at_most_three() -> None:
    got = answer_question("is an mri scan or an x-ray needed for back pain")
    ids = [a.id for a in got.alternatives]
    assert len(ids) <= 3
    assert got.entry_id not in ids
    assert len(ids) == len(set(ids))


def test_no_match_still_offers_close_topics_when_there_are_some() -> None:
    got = answer_question("what about flares of knee and shoulder arthritis during pregnancy")
    assert not got.matched
    assert got.alternatives


def test_dict_is_json_ready_and_complete() -> None:
    got = answer_question("Should I rest in bed?")
    data = got.to_dict()
    assert set(data) == {
        "query",
        "matched",
        "entry_id",
        "question",
        "answer",
        "score",
        "alternatives",
        "citations",
        "knowledge_version",
    }
    assert json.loads(json.dumps(data)) == data


def test_answer_is_frozen() -> None:
    got = answer_question("What is sciatica?")
    with pytest.raises(AttributeError):
        got.matched = False  # type: ignore[misc]


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
def test_empty_question_is_refused(question: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        answer_question(question)


def test_questions_with_nothing_to_match_get_no_match() -> None:
    for question in ("???", "is it", "back pain", "hello there"):
        assert not answer_question(question).matched, question


def test_deterministic() -> None:
    question = "my back has gone again, what should i do"
    assert answer_question(question) == answer_question(question)


def test_pure_when_given_knowledge(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_io() -> None:
        raise AssertionError("answer_question read files although knowledge was given")

    monkeypatch.setattr(answer_module, "load_questions_knowledge", no_io)
    got: Answer = answer_question("Will acupuncture help?", KB)
    assert got.entry_id == "acupuncture-tens"


def test_typos_and_informal_words() -> None:
    assert answer_question("do i need an mri of my lumbar spinne").entry_id == "need-mri"
    assert answer_question("will a chiropracter sort my back out").entry_id == "manual-therapy"
    assert answer_question("when do i need to go to A & E").entry_id == "when-to-worry"


def test_text_pipeline_basics() -> None:
    assert raw_tokens("Don't go to A & E!") == ["dont", "go", "to", "a&e"]
    assert [stem(w) for w in ("scans", "bulging", "worried", "injuries", "tens")] == [
        "scan",
        "bulg",
        "worry",
        "injury",
        "tens",
    ]
    phrases = {("leg", "pain"): "sciatica", ("leg",): "limb"}
    assert apply_synonyms(["my", "leg", "pain"], phrases, 2) == [
        ("my", "my"),
        ("sciatica", None),
    ]


def test_the_index_is_built_once_for_many_questions() -> None:
    """Answering stays quick because the matching tables are built once, not per question.

    (Counted, not timed: a timing assertion fails on a busy machine and proves little.)
    """
    from backstory.ask.index import build_index

    build_index.cache_clear()
    for item in EVAL["paraphrases"]:
        answer_question(item["q"])
    info = build_index.cache_info()
    assert len(EVAL["paraphrases"]) > 10
    assert info.misses == 1 and info.hits >= len(EVAL["paraphrases"]) - 1
