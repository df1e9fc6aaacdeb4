"""The questionnaire's instrument parts: own words by default, a clinic's licensed wording
from a file checked at start-up (issue 14 item 5; HZ-118, HZ-119)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import textstat
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


def test_own_words_parts_without_a_wording_file(kb: KnowledgeBase) -> None:
    """STarT Back, ODI and RMDQ are asked in own words when no licensed wording is loaded,
    each part saying so (HZ-118, HZ-161)."""
    parts = {p.id: p for p in instrument_parts(kb)}
    assert list(parts) == ["p-startback", "p-odi", "p-rmdq"]
    for part in parts.values():
        assert part.intro.startswith(kb.instruments.wording.own_words)
        assert "official wording" not in part.intro.replace("not the official", "")
    first = parts["p-startback"].questions[0]
    assert first.field == "startback.1" and first.text == "Pain spreading into a leg"
    assert first.options == (("0", "Disagree"), ("1", "Agree"))
    assert parts["p-startback"].questions[8].options[0] == ("not_at_all", "Not at all")
    odi = parts["p-odi"].questions
    assert len(odi) == 10 and odi[2].field == "odi.3" and odi[2].text == "Lifting"
    assert [v for v, _ in odi[2].options] == ["0", "1", "2", "3", "4", "5"]
    assert odi[2].options[0] == ("0", "Lifting heavy things does not add to my pain")
    assert all(len({label for _, label in q.options}) == 6 for q in odi)
    assert not any("Statement scoring" in label for q in odi for _, label in q.options)
    rmdq = parts["p-rmdq"].questions
    assert len(rmdq) == 24 and rmdq[23].text == "Lying in bed for much of the day"
    assert rmdq[0].options == (("0", "Does not apply"), ("1", "Applies"))


def test_the_clinician_form_keeps_the_odi_answer_labels(kb: KnowledgeBase) -> None:
    """The ODI's own-words statements are for patients only: the answers' labels and codes
    (clinician form, FHIR) are unchanged."""
    (odi,) = (i for i in kb.instruments.instruments if i.id == "odi")
    assert odi.options(3)[0].label == "Statement scoring 0"
    assert [label for _, label in odi.patient_options(3)][5].startswith("I can not lift")


def test_the_own_words_are_plain(kb: KnowledgeBase) -> None:
    """HZ-7, HZ-161: the own-words instrument text passes the questionnaire's readability gate
    (each statement at reading grade 8 or lower, the whole at reading ease 70 or more)."""
    texts: list[str] = []
    for part in instrument_parts(kb):
        assert textstat.flesch_kincaid_grade(part.intro) <= 8, part.intro
        for q in part.questions:
            texts += [q.text, *(label for _, label in q.options)]
    statements = [t for t in set(texts) if len(t.split()) >= 5]
    assert len(statements) > 60
    for text in statements:
        assert textstat.flesch_kincaid_grade(text) <= 8, text
    assert textstat.flesch_reading_ease(" ".join(f"{t}." for t in sorted(set(texts)))) >= 70


def test_licensed_wording_is_shown_and_named(kb: KnowledgeBase, tmp_path: Path) -> None:
    wording = load_wording(_write(tmp_path, LICENSED), kb)
    parts = {p.id: p for p in instrument_parts(kb, wording)}
    assert set(parts) == {"p-startback", "p-odi", "p-rmdq"}
    rmdq = parts["p-rmdq"]
    assert "official wording: Test wording held under an imaginary licence" in rmdq.intro
    assert kb.instruments.wording.own_words not in rmdq.intro
    assert rmdq.questions[23].text == "Invented statement 24"
    assert rmdq.questions[0].options == (("0", "Does not apply"), ("1", "Applies"))
    sb = parts["p-startback"].questions
    assert sb[0].options == (("0", "No"), ("1", "Yes")) and sb[0].text == "Invented line 1"
    assert parts["p-odi"].intro.startswith(kb.instruments.wording.own_words)  # none loaded


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


ODI = {f"odi.{i}": "2" for i in range(1, 11) if i != 8}  # section 8 left out
RMDQ = {f"rmdq.{i}": "1" if i <= 5 else "0" for i in range(1, 25)}


def _from_link(world: World) -> tuple[str, dict[str, object]]:
    """The assessment the patient's link sent, and the report stored with it."""
    record = Store(world.db, "clin-a").patient_record(world.patient_a)
    (sent,) = (
        a
        for e in record.episodes
        for a in e.assessments
        if a.assessment.created_by.startswith("link:")
    )
    assert sent.latest_report is not None
    return sent.assessment.id, sent.latest_report.data()


def test_a_full_walk_in_own_words_scores_odi_and_rmdq(world: World) -> None:
    """Without a wording file the ODI and RMDQ pages are in own words, and a full walk gives
    an ODI percent and an RMDQ score in the stored assessment's report (HZ-161)."""
    path = new_link(world.app, world.patient_a)
    patient = TestClient(world.app)
    pages: list[str] = []
    r = walk(patient, path, answers(**STARTBACK, **ODI, **RMDQ), pages=pages)
    assert r.status_code == 200 and "Thank you" in r.text
    odi = next(p for p in pages if 'name="part" value="p-odi"' in p)
    assert "Backstory&#39;s own words" in odi
    assert "Lifting heavy things does not add to my pain" in odi
    rmdq = next(p for p in pages if 'name="part" value="p-rmdq"' in p)
    assert "Backstory&#39;s own words" in rmdq and "Lying in bed for much of the day" in rmdq
    sent, report = _from_link(world)
    assert report["odi"] == {"percent": 40.0, "band": "moderate"}  # 9 sections of 2: 18/45
    assert report["rmdq"] == {"score": 5}
    page = sign_in(world.app, "clin-a").get(f"/assessments/{sent}").text
    scores = page[page.index('id="scores"') :]
    assert "<dt>ODI</dt><dd>40.0% (moderate)</dd>" in scores
    assert (
        '<p id="scores-wording">On this clinic&#39;s patient questionnaire the wording of '
        "STarT Back, ODI and RMDQ is Backstory&#39;s own, not the validated wording" in scores
    )
    typed = sign_in(world.app, "clin-a").get(f"/assessments/{world.assessment_a}").text
    assert 'id="scores-wording"' not in typed  # entered by a clinician: no such note


def test_licensed_wording_replaces_the_own_words_on_the_page(
    world: World, settings: Settings, kb: KnowledgeBase, tmp_path: Path
) -> None:
    licensed = dataclasses.replace(
        settings, instrument_wording_file=str(_write(tmp_path, LICENSED))
    )
    app = create_app(licensed, world.db, knowledge=kb)
    path = new_link(app, world.patient_a)
    page = TestClient(app).get(f"{path}?part=p-rmdq").text
    assert 'name="part" value="p-rmdq"' in page
    assert "Invented statement 24" in page and "Test wording held under an imaginary" in page
    assert "Lying in bed for much of the day" not in page and "own words" not in page
    odi = TestClient(app).get(f"{path}?part=p-odi").text  # no licensed ODI: own words
    assert "Backstory&#39;s own words" in odi and "Lifting heavy things" in odi
    r = walk(TestClient(app), path, answers(**STARTBACK, **ODI, **RMDQ))
    assert r.status_code == 200 and "Thank you" in r.text
    sent, _report = _from_link(world)
    page = sign_in(app, "clin-a").get(f"/assessments/{sent}").text
    assert "the wording of ODI is Backstory&#39;s own" in page  # RMDQ, STarT Back licensed
