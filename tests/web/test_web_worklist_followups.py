"""The worklist shows follow-up questionnaires when they fall due (issue 14 item 7).

A patient first seen on 2026-01-05 has follow-ups at 2, 6 and 12 weeks; on 2026-02-20 the
first two are due (2026-01-19 and 2026-02-16) and the third (2026-03-30) is not. The
worklist's first page says how many are due at the top and lists them below the patients,
each with the button that makes its link; making one marks it sent, and it leaves the list.
The API lists the same, for the token's clinic only; every read is audited. The follow-up's
questionnaire says it is one: its own heading and opening words.
"""

from __future__ import annotations

import datetime as dt
import json
import re

from fastapi.testclient import TestClient

from backstory.storage import Store, audit
from backstory.web.questionnaire import opening

from .conftest import Clock, World, csrf_of, example, sign_in
from .questionnaire_walk import answers, walk

ON = dt.datetime(2026, 2, 20, 9, 0, tzinfo=dt.UTC)


def _scheduled(world: World, c: TestClient) -> str:
    store = Store(world.db, "clin-a")
    p = store.add_patient("follow-due-1")
    saved = store.save_assessment(
        p.id, json.dumps(example("p02-facet-pattern.json", assessed_on="2026-01-05"))
    )
    csrf = csrf_of(c.get("/worklist").text)
    r = c.post(f"/episodes/{saved.episode.id}/followups", data={"csrf": csrf})
    assert r.status_code == 200
    return p.id


def test_due_follow_ups_are_on_the_worklist_until_their_link_is_made(
    world: World, clock: Clock
) -> None:
    clock.now = ON
    c = sign_in(world.app, "clin-a")
    pid = _scheduled(world, c)
    page = c.get("/worklist").text
    assert "2 follow-up questionnaires are due" in page
    section = page[page.index('id="followups-due"') :]
    rows = re.findall(r'<li id="due-(F[0-9A-Z]+)">', section)
    assert len(rows) == 2
    assert "the 2-week follow-up questionnaire, due 2026-01-19 (32 days ago)" in section
    assert "the 6-week follow-up questionnaire, due 2026-02-16 (4 days ago)" in section
    assert "12-week" not in section  # due on 2026-03-30: not yet
    assert f'href="/patients/{pid}">follow-due-1</a>' in section
    # searching narrows them like the patients
    assert 'id="followups-due"' not in c.get("/worklist?q=nobody").text
    assert 'id="followups-due"' in c.get("/worklist?q=DUE-1").text

    made = c.post(f"/followups/{rows[0]}/link", data={"csrf": csrf_of(page)})
    assert made.status_code == 200 and "/p/" in made.text
    after = c.get("/worklist").text
    assert "1 follow-up questionnaire is due" in after and f'id="due-{rows[0]}"' not in after

    clock.now = ON - dt.timedelta(days=5)  # 2026-02-15: the 6-week one is not due yet
    assert 'id="followups-due"' not in c.get("/worklist").text
    events = world.db.transaction(lambda conn: audit.events(conn))
    assert sum(e.action == "followup.list" for e in events) >= 4


def test_the_api_lists_the_due_follow_ups_of_the_tokens_clinic(world: World, clock: Clock) -> None:
    clock.now = ON
    _scheduled(world, sign_in(world.app, "clin-a"))
    a = TestClient(world.app, headers={"Authorization": f"Bearer {world.read_token}"})
    found = a.get("/api/v1/followups/due").json()
    assert [(f["reference"], f["weeks"], f["due_on"], f["days_overdue"]) for f in found] == [
        ("follow-due-1", 2, "2026-01-19", 32),
        ("follow-due-1", 6, "2026-02-16", 4),
    ]
    assert TestClient(world.app).get("/api/v1/followups/due").status_code == 401
    other = sign_in(world.app, "clin-b")
    assert 'id="followups-due"' not in other.get("/worklist").text  # clinic B sees none


def _heading(html: str) -> str:
    found = re.search(r"<h1>(.*?)</h1>", html)
    assert found
    return found.group(1)


def test_a_follow_up_questionnaire_says_what_it_is_for(world: World, clock: Clock) -> None:
    """A follow-up link asks the same questions, headed and opened as a follow-up (the words
    are knowledge: questionnaire.yaml, openings), never "before your appointment"; a link
    made before a visit keeps its own heading."""
    clock.now = ON
    c = sign_in(world.app, "clin-a")
    _scheduled(world, c)
    page = c.get("/worklist").text
    due = re.findall(r'<li id="due-(F[0-9A-Z]+)">', page)
    made = c.post(f"/followups/{due[0]}/link", data={"csrf": csrf_of(page)}).text
    assert "Link to the follow-up questionnaire" in made and 'id="link-once"' in made
    path = re.search(r'value="http://testserver(/p/[^"]+)"', made)
    assert path
    follow_up, before = opening(True), opening(False)
    assert follow_up.title != before.title and "appointment" not in follow_up.title.lower()

    patient = TestClient(world.app)
    pages: list[str] = []
    done = walk(patient, path.group(1), answers(), pages=pages)
    assert done.status_code == 200 and "Thank you" in done.text
    assert pages and all(_heading(p) == follow_up.title for p in pages)
    assert all(f": {follow_up.title}</title>" in p for p in pages)
    assert follow_up.intro in pages[0] and before.intro not in pages[0]
    assert "appointment" not in " ".join(_heading(p) for p in pages).lower()

    # a pre-visit link of the same patient is still "before your appointment"
    pid = re.search(r'href="/patients/([0-9A-Z]+)" id="back-to-patient"', made)
    assert pid
    csrf = csrf_of(c.get("/worklist").text)
    first = c.post(f"/patients/{pid.group(1)}/links", data={"csrf": csrf}).text
    assert "Link to the pre-visit questionnaire" in first
    link = re.search(r'value="http://testserver(/p/[^"]+)"', first)
    assert link
    shown = patient.get(link.group(1)).text
    assert _heading(shown) == before.title and before.intro in shown
