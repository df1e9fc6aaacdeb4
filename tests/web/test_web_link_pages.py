"""Link pages say what is true (issue 14 item 8): who the link is from and when it stops.

Every page a patient opens from a link - the questionnaire, the thank-you page, "not ready
yet", the explanation - names the clinic and the day the link stops working (its expiry, set
when it was made). The page the clinician prints says the same day, and that the answers can
be sent once: a second send shows no questions again (it is what the page says it is).
Programme links say the same on the page that shows them and on every programme page.
"""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient

from backstory.storage import Store
from backstory.web.links import day_words
from backstory.web.programme_view import LINK_DAYS
from backstory.web.questionnaire_steps import SEND

from .conftest import Clock, World, csrf_of, sign_in
from .questionnaire_walk import answers, walk
from .test_web_plain_words import _internal, _text
from .test_web_programme import _checkin, _released

LINK = re.compile(r'id="link-url" type="text" readonly value="http://testserver([^"]+)"')


def _made(world: World, c: TestClient, path: str) -> tuple[str, str]:
    r = c.post(path, data={"csrf": csrf_of(c.get("/worklist").text)})
    assert r.status_code == 200
    found = LINK.search(r.text)
    assert found
    return found.group(1), r.text


def _about(html: str) -> str:
    found = re.search(r'<p class="link-about" id="link-about">(.*?)</p>', html)
    assert found, "the page does not say who the link is from"
    return re.sub(r"<[^>]+>", "", found.group(1))


def test_link_pages_name_the_clinic_and_the_day_the_link_stops(world: World, clock: Clock) -> None:
    c = sign_in(world.app, "clin-a")
    path, printed = _made(world, c, f"/patients/{world.patient_a}/links")
    stops = day_words(clock.now + dt.timedelta(hours=72))
    assert f'<strong id="link-expires">{stops}</strong>' in printed
    assert "Clinic A" in printed and "can send their answers once" in printed
    assert "Keep this link" not in printed

    patient = TestClient(world.app)
    page = patient.get(path).text
    assert _about(page) == (
        f"From Clinic A. This link stops working on {stops}; after that, ask your clinic "
        "for a new one."
    )
    pages: list[str] = []
    done = walk(patient, path, answers(), pages=pages)
    assert done.status_code == 200 and "Thank you" in done.text
    for shown in pages:  # every page of the questionnaire says both, and no internal name
        assert "Clinic A" in _about(shown) and stops in _about(shown)
        assert _internal(_text(shown)) == []
    assert "Clinic A" in _about(done.text) and stops in _about(done.text)
    assert "can be sent only once" in done.text and "Keep this link" not in done.text

    # sent once: the link now shows no questions, and still says when it stops
    again = patient.get(path).text
    assert 'name="consent"' not in again and "not ready yet" in again
    assert f"it works until {stops}" in again and stops in _about(again)
    resend = patient.post(
        path, data={"csrf": csrf_of(page), "part": SEND, "go": "send", "consent": "yes"}
    )
    assert 'name="consent"' not in resend.text

    # released: the explanation names the clinic too
    record = Store(world.db, "clin-a").patient_record(world.patient_a)
    aid = next(
        a.assessment.id
        for e in record.episodes
        for a in e.assessments
        if a.assessment.created_by.startswith("link:")
    )
    csrf = csrf_of(c.get("/worklist").text)
    c.post(f"/assessments/{aid}/release", data={"csrf": csrf, "released": "yes"})
    explained = patient.get(path).text
    assert "not ready yet" not in explained and 'data-audience="patient"' in explained
    assert "Clinic A" in _about(explained) and stops in _about(explained)
    for html in (page, done.text, again, explained):
        assert _internal(_text(html)) == []

    # after the day it stops, it does
    clock.advance(hours=73)
    assert "has expired" in patient.get(path).text


def test_the_day_is_written_as_people_write_it() -> None:
    # at noon UTC it is the same day from UTC-11 to UTC+11 (the server's zone is used)
    assert day_words(dt.datetime(2026, 12, 9, 12, 0, tzinfo=dt.UTC)) == (
        "Wednesday 9 December 2026"
    )
    assert day_words(dt.datetime(2027, 1, 1, 12, 0, tzinfo=dt.UTC)) == "Friday 1 January 2027"


def test_programme_link_pages_name_the_clinic_and_the_day_the_link_stops(
    world: World, clock: Clock
) -> None:
    """The programme link (84 days unless revoked) says the same as the other link pages: the
    page the clinician prints names the day it stops, and so does every page the patient
    opens from it (the plan, the check-in and its thank-you page)."""
    c = sign_in(world.app, "clin-a")
    pid, gid, path = _released(world, c)
    stops = day_words(clock.now + dt.timedelta(days=LINK_DAYS))
    made = c.post(
        f"/patients/{pid}/programme-links", data={"csrf": csrf_of(c.get(f"/programmes/{gid}").text)}
    )
    assert f'<strong id="link-expires">{stops}</strong>' in made.text
    assert f"{LINK_DAYS} days unless you revoke it" in made.text and "Clinic A" in made.text
    listed = c.get(f"/programmes/{gid}").text
    assert f"works until {stops}" in listed

    patient = TestClient(world.app)
    plan = patient.get(path).text
    form = patient.get(f"{path}/checkin").text
    done = _checkin(patient, path).text
    assert "Thank you" in done
    for html in (plan, form, done):
        assert _about(html) == (
            f"From Clinic A. This link stops working on {stops}; after that, ask your clinic "
            "for a new one."
        )
