"""The patient's pre-visit questionnaire and explanation, opened from a link (HZ-11, HZ-18)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import textstat
from fastapi.templating import Jinja2Templates
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import select

import backstory.web
from backstory.knowledge.questionnaire import load_questionnaire
from backstory.storage import audit
from backstory.storage.tables import assessment, patient_link
from backstory.web.questionnaire import CES_FIELDS, DEFAULT_HELP, PARTS, Banner, questions

from .conftest import Clock, World, csrf_of, sign_in
from .questionnaire_walk import answers, walk

HZ11 = "This is part of a clinical assessment"
EMERGENCY = "Go to the emergency department (A&amp;E) today"


def _make_link(world: World, path: str | None = None) -> str:
    c = sign_in(world.app, "clin-a")
    csrf = csrf_of(c.get("/patients").text)
    r = c.post(path or f"/patients/{world.patient_a}/links", data={"csrf": csrf})
    assert r.status_code == 200
    assert 'src="data:image/svg+xml' in r.text and "QR code" in r.text
    url = re.search(r'id="link-url" type="text" readonly value="([^"]+)"', r.text)
    assert url
    return url.group(1).replace("http://testserver", "")


def test_questionnaire_page_is_plain_safe_and_says_it_is_part_of_an_assessment(
    world: World,
) -> None:
    path = _make_link(world)
    page = TestClient(world.app).get(path)
    assert page.status_code == 200
    html = page.text
    assert HZ11 in html
    # the banner is always there, hidden, with the external script that reveals it
    assert re.search(r'<div class="ces-banner" id="ces-banner"[^>]* hidden>', html)
    assert '<script src="/static/warning.js" defer></script>' in html
    for field in CES_FIELDS:
        radios = re.findall(rf'<input type="radio" [^>]*name="{re.escape(field)}"[^>]*>', html)
        assert radios and all('data-ces="1"' in r and "required" in r for r in radios)
    # the first page asks the cauda equina questions only; consent is asked on the last page
    assert 'name="red_flags.saddle_anaesthesia"' in html and 'name="age"' not in html
    assert "Page 1 of " in html and 'id="next-page"' in html and 'id="previous-page"' not in html
    assert "saddle" not in re.sub(r'name="[^"]*"|id="[^"]*"|for="[^"]*"', "", html).lower()
    js = TestClient(world.app).get("/static/warning.js")
    assert js.status_code == 200 and 'data-ces="1"' in js.text and "ces-banner" in js.text


def test_questions_are_in_plain_words() -> None:
    """HZ-18: readable questions, no clinical jargon."""
    jargon = ("anaesthesia", "saddle", "incontinence", "bilateral", "dysfunction", "cauda")
    jargon += ("flexion", "extension", "rotation", "lumbar", "sacroiliac", "thoracic")
    for q in questions():
        text = q.text.lower()
        assert not any(word in text for word in jargon), q.text
        assert textstat.flesch_kincaid_grade(q.text) <= 8, q.text
    whole = " ".join(q.text for q in questions())
    assert textstat.flesch_reading_ease(whole) >= 70
    assert len(PARTS[0].questions) == len(CES_FIELDS) == 5


def test_answers_are_stored_for_the_clinician_and_the_link_is_used_up(world: World) -> None:
    path = _make_link(world)
    c = TestClient(world.app)
    missing = walk(c, path, answers(), consent=False)
    assert missing.status_code == 422 and "tick the box" in missing.text
    r = walk(c, path, answers())
    assert r.status_code == 200 and "Thank you" in r.text and HZ11 in r.text
    assert re.search(r'id="ces-banner"[^>]* hidden>', r.text)  # no warning sign: stays hidden
    link_id = world.db.transaction(
        lambda conn: conn.execute(
            select(patient_link.c.id).where(patient_link.c.used_at.is_not(None))
        ).scalar_one()
    )
    rows = world.db.transaction(
        lambda conn: conn.execute(
            select(assessment).where(assessment.c.created_by == f"link:{link_id}")
        ).all()
    )
    assert len(rows) == 1
    data = json.loads(rows[0].source_json)
    assert data["age"] == 38 and data["red_flags"]["saddle_anaesthesia"] is False
    assert "fever" not in data.get("red_flags", {})  # unanswered is left out, never "no"
    events = world.db.transaction(lambda conn: audit.events(conn, world.patient_a))
    assert {(e.action, e.actor) for e in events} >= {
        ("link.use", f"link:{link_id}"),
        ("assessment.create", f"link:{link_id}"),
    }
    csrf = csrf_of(missing.text)
    again = c.post(path, data={"csrf": csrf, "part": "send", "go": "send", "consent": "yes"})
    assert "not ready yet" in again.text  # used up: no second assessment
    assert HZ11 in c.get(path).text and "not ready yet" in c.get(path).text
    count = world.db.transaction(
        lambda conn: len(
            conn.execute(
                select(assessment).where(assessment.c.created_by == f"link:{link_id}")
            ).all()
        )
    )
    assert count == 1


@pytest.mark.parametrize("field", CES_FIELDS)
def test_any_cauda_equina_answer_says_go_to_the_emergency_department(
    world: World, field: str
) -> None:
    path = _make_link(world)
    c = TestClient(world.app)
    r = walk(c, path, answers(**{field: "yes"}))
    assert r.status_code == 200
    banner = re.search(r'<div class="ces-banner" id="ces-banner"[^>]*>', r.text)
    assert banner and "hidden" not in banner.group(0)
    assert EMERGENCY in r.text and r.text.index(EMERGENCY) < r.text.index("<h1>Thank you</h1>")
    # also when the form comes back with a problem: the warning is not lost
    path2 = _make_link(world)
    r2 = walk(c, path2, answers(**{field: "yes", "age": ""}))
    assert r2.status_code == 422 and "please answer this question" in r2.text.lower()
    banner2 = re.search(r'<div class="ces-banner" id="ces-banner"[^>]*>', r2.text)
    assert banner2 and "hidden" not in banner2.group(0)


def test_emergency_banner_words_come_from_the_knowledge(world: World) -> None:
    """HZ-11: the banner says the reviewed, cited words of questionnaire.yaml, emphasis kept."""
    banner = load_questionnaire().emergency_banner
    html = TestClient(world.app).get(_make_link(world)).text
    assert f'<h2 id="ces-banner-title">{escape(banner.title)}</h2>' in html
    for paragraph in banner.paragraph_parts():  # the clinic's country fills the number in
        body = "".join(
            f"<strong>{escape(DEFAULT_HELP.fill(text))}</strong>"
            if strong
            else str(escape(DEFAULT_HELP.fill(text)))
            for text, strong in paragraph
        )
        assert f"<p>{body}</p>" in html
    assert EMERGENCY in html and "a doctor <strong>today</strong>." in html
    assert "<strong>Go to the emergency department (A&amp;E) now." in html


def test_banner_text_is_escaped_never_trusted() -> None:
    """Knowledge text is data: only the template adds markup (the emphasis), never the YAML."""
    templates = Jinja2Templates(directory=Path(backstory.web.__file__).parent / "templates")
    banner = Banner("A&E <i>now</i>", ((("<script>x()</script> ", False), ("today", True)),))
    html = templates.env.get_template("ces_banner.html").render(ces=True, ces_banner=banner)
    assert "<script>" not in html and "<i>" not in html
    assert "&lt;script&gt;x()&lt;/script&gt; <strong>today</strong>" in html
    assert "A&amp;E &lt;i&gt;now&lt;/i&gt;" in html


def test_explanation_is_shown_only_after_release(world: World) -> None:
    path = _make_link(world, f"/assessments/{world.assessment_a}/links")
    patient = TestClient(world.app)
    waiting = patient.get(path)
    assert "not ready yet" in waiting.text and HZ11 in waiting.text
    clinician = sign_in(world.app, "clin-a")
    csrf = csrf_of(clinician.get("/patients").text)
    clinician.post(
        f"/assessments/{world.assessment_a}/release", data={"csrf": csrf, "released": "yes"}
    )
    shown = patient.get(path)
    assert 'data-audience="patient"' in shown.text and HZ11 in shown.text
    assert 'data-audience="clinician"' not in shown.text
    events = world.db.transaction(lambda conn: audit.events(conn, world.patient_a))
    assert any(e.action == "report.view" and e.actor.startswith("link:") for e in events)
    clinician.post(
        f"/assessments/{world.assessment_a}/release", data={"csrf": csrf, "released": "no"}
    )
    assert "not ready yet" in patient.get(path).text


def test_links_expire_and_forged_links_find_nothing(world: World, clock: Clock) -> None:
    path = _make_link(world)
    c = TestClient(world.app)
    assert c.get(path + "x").status_code == 404
    assert c.get("/p/" + "A" * 60).status_code == 404
    clock.advance(hours=73)
    expired = c.get(path)
    assert expired.status_code == 404 and "expired" in expired.text and HZ11 in expired.text


def test_patient_pages_are_phone_friendly() -> None:
    templates = Path(backstory.web.__file__).parent / "templates"
    base = (templates / "base_patient.html").read_text()
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in base
    assert HZ11 in base
