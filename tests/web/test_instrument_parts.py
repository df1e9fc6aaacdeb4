"""The questionnaire's instrument parts: own words by default, a clinic's licensed wording
from a file checked at start-up (issue 14 item 5; HZ-118, HZ-119)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backstory.knowledge.loader import KnowledgeBase
from backstory.storage import Database, Store
from backstory.storage.tables import assessment
from backstory.web.app import create_app
from backstory.web.instrument_parts import (
    ENV,
    WordingError,
    instrument_answers,
    instrument_parts,
    load_wording,
)
from backstory.web.questionnaire import NOT_SURE
from backstory.web.settings import Settings, SettingsError, settings_from_env

from .conftest import World, example, sign_in
from .questionnaire_walk import answers, new_link, walk

STARTBACK = {f"startback.{i}": "0" for i in range(1, 9)} | {"startback.9": "slightly"}

# Invented stand-in text: the tests never hold any questionnaire's real wording.
LICENSED = {
    "rmdq": {
        "source": "Test wording held under an imaginary licence",
        "items": [{"text": f"Invented statement {i}"} for i in range(1, 25)],
    },
    "startback": {
        "source": "Another imaginary licence",
        "items": [
            *({"text": f"Invented line {i}", "answers": {0: "No", 1: "Yes"}} for i in range(1, 9)),
            {"text": "Invented line 9"},
        ],
    },
}


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "wording.json"
    path.write_text(json.dumps(data), "utf-8")
    return path


def test_own_words_parts_only_where_the_knowledge_gives_them(kb: KnowledgeBase) -> None:
    parts = instrument_parts(kb)
    assert [p.id for p in parts] == ["p-startback"]  # ODI and RMDQ need licensed wording
    (part,) = parts
    assert part.intro.startswith(kb.instruments.wording.own_words)
    first = part.questions[0]
    assert first.field == "startback.1" and first.text == "Pain spreading into a leg"
    assert first.options == (("0", "Disagree"), ("1", "Agree"))
    assert part.questions[8].options[0] == ("not_at_all", "Not at all")


def test_licensed_wording_is_shown_and_named(kb: KnowledgeBase, tmp_path: Path) -> None:
    wording = load_wording(_write(tmp_path, LICENSED), kb)
    parts = {p.id: p for p in instrument_parts(kb, wording)}
    assert set(parts) == {"p-startback", "p-rmdq"}
    rmdq = parts["p-rmdq"]
    assert "official wording: Test wording held under an imaginary licence" in rmdq.intro
    assert rmdq.questions[23].text == "Invented statement 24"
    assert rmdq.questions[0].options == (("0", "Does not apply"), ("1", "Applies"))
    sb = parts["p-startback"].questions
    assert sb[0].options == (("0", "No"), ("1", "Yes")) and sb[0].text == "Invented line 1"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"nosuch": {"source": "x", "items": []}}, "'nosuch' is not an instrument"),
        ({"rmdq": {"source": "x", "items": [{"text": "a"}]}}, "rmdq needs 24 items, has 1"),
        (
            {
                "startback": {
                    **LICENSED["startback"],
                    "items": [{"text": "a", "answers": {7: "x"}}] * 9,
                }
            },
            "startback item 1: answers ['7']",
        ),
        ({"rmdq": {"items": []}}, "rmdq.source"),
        ([1, 2], "must map instrument ids"),
    ],
)
def test_a_broken_wording_file_is_refused(
    kb: KnowledgeBase, tmp_path: Path, data: object, words: str
) -> None:
    with pytest.raises(WordingError) as exc:
        load_wording(_write(tmp_path, data), kb)
    assert str(exc.value).startswith(ENV) and words in str(exc.value)


def test_the_app_refuses_to_start_on_a_broken_wording_file(
    kb: KnowledgeBase, tmp_path: Path, settings: Settings, web_db: Database
) -> None:
    assert settings_from_env({ENV: " /x.yaml "}).instrument_wording_file == "/x.yaml"
    broken = dataclasses.replace(settings, instrument_wording_file=str(tmp_path / "missing.yaml"))
    with pytest.raises(SettingsError, match=ENV):
        create_app(broken, web_db, knowledge=kb)
    fine = dataclasses.replace(settings, instrument_wording_file=str(_write(tmp_path, LICENSED)))
    create_app(fine, web_db, knowledge=kb)


def test_answers_become_the_instrument_arrays(kb: KnowledgeBase) -> None:
    parts = instrument_parts(kb)
    data, issues = instrument_answers(STARTBACK, parts, kb)
    assert issues == [] and data == {"startback": [0] * 8 + ["slightly"]}
    none, issues = instrument_answers({"startback.1": NOT_SURE}, parts, kb)
    assert none == {} and issues == []
    _part, issues = instrument_answers({"startback.1": "1"}, parts, kb)
    assert len(issues) == 8 and all("every question in this part" in i.message for i in issues)
    _bad, issues = instrument_answers({**STARTBACK, "startback.2": "7"}, parts, kb)
    assert [i.field for i in issues] == ["startback.2"]


def test_the_patient_answers_startback_and_it_is_stored(world: World) -> None:
    path = new_link(world.app, world.patient_a)
    patient = TestClient(world.app)
    page = patient.get(f"{path}?part=p-startback").text
    assert 'name="part" value="p-startback"' in page and "Backstory&#39;s own words" in page
    pages: list[str] = []
    r = walk(patient, path, answers(**STARTBACK), pages=pages)
    assert r.status_code == 200 and "Thank you" in r.text
    assert any('value="p-startback"' in p for p in pages)
    rows = world.db.transaction(
        lambda conn: conn.execute(
            select(assessment).where(assessment.c.created_by.like("link:%"))
        ).all()
    )
    assert [json.loads(r.source_json)["startback"] for r in rows] == [[0] * 8 + ["slightly"]]


def test_a_partly_answered_startback_is_asked_again_on_its_page(world: World) -> None:
    path = new_link(world.app, world.patient_a)
    r = walk(TestClient(world.app), path, answers(**{"startback.1": "1"}))
    assert r.status_code == 422
    assert 'name="part" value="p-startback"' in r.text and "every question in this part" in r.text


def test_the_report_page_lists_every_instrument(world: World) -> None:
    store = Store(world.db, "clin-a")
    pid = store.add_patient("ref-scores").id
    saved = store.save_assessment(
        pid, json.dumps(example(rmdq=[1, 1, 1] + [0] * 21, startback=[1] * 8 + ["extremely"]))
    )
    html = sign_in(world.app, "clin-a").get(f"/assessments/{saved.assessment.id}").text
    scores = html[html.index('id="scores"') :]
    assert "<dt>STarT Back</dt><dd>total 9/9, psychosocial 5/5, high risk</dd>" in scores
    assert "<dt>RMDQ</dt><dd>3/24</dd>" in scores
    assert "<dt>ODI</dt><dd>" in scores
