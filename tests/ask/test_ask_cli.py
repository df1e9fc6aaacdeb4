"""``backstory ask`` on the command line: readable text, JSON, and a plain refusal when empty."""

from __future__ import annotations

import json

from click.testing import CliRunner

from backstory.ask import answer_question, load_questions_knowledge, source_short_names
from backstory.cli.main import cli

KB = load_questions_knowledge()


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["ask", *args])
    return result.exit_code, result.stdout, result.stderr


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_registered_on_the_main_group() -> None:
    assert "ask" in cli.commands


def test_text_answer_shows_question_answer_sources_and_safety_net() -> None:
    code, out, err = _run("Is facet joint pain arthritis?")
    assert code == 0, err
    flat = _flat(out)
    entry = KB.entry("facet-arthritis")
    assert f"Question: {entry.question}" in flat
    assert _flat(entry.answer) in flat
    names = source_short_names()
    for cid in entry.citations:
        assert _flat(names.get(cid, cid)) in flat
    assert "general information, not a diagnosis" in flat
    for phrase in (
        "emergency department the same day",
        "numbness between your legs",
        "bladder or bowel problems",
        "sexual problems",
        "both legs",
    ):
        assert phrase in flat


def test_text_output_fits_80_columns() -> None:
    for question in ("What is radiofrequency denervation?", "how do i reset my password"):
        code, out, _ = _run(question)
        assert code == 0
        assert max(len(line) for line in out.splitlines()) <= 80


def test_words_need_not_be_quoted() -> None:
    code, out, _ = _run("do", "i", "need", "an", "mri")
    assert code == 0
    assert "Question: Do I need an MRI scan?" in out


def test_no_match_is_said_plainly() -> None:
    code, out, _ = _run("what diet should I follow for diabetes")
    assert code == 0
    flat = _flat(out)
    assert "No good match" in flat
    assert _flat(KB.messages.no_match) in flat
    assert "emergency department the same day" in flat


def test_no_match_lists_closest_topics() -> None:
    question = "what about flares of knee and shoulder arthritis during pregnancy"
    expected = answer_question(question)
    code, out, _ = _run(question)
    assert code == 0 and expected.alternatives
    assert "Closest topics:" in out
    for alt in expected.alternatives:
        assert alt.question in _flat(out)


def test_json_prints_the_answer_dict() -> None:
    code, out, _ = _run("--json", "Should I rest in bed?")
    assert code == 0
    assert json.loads(out) == answer_question("Should I rest in bed?").to_dict()


def test_empty_question_exits_2_with_a_message_on_stderr_only() -> None:
    for args in ((), ("",), ("   ",), ("--json", "")):
        code, out, err = _run(*args)
        assert code == 2, args
        assert out == ""
        assert "Please type a question" in err
