"""The worklist, reviewing, "not sure" and the clinic's settings, without a browser (issue 14).

On both backends: a "not sure" stays unknown in the assessment and is kept beside it in the
same transaction (HZ-85); the advice shows without JavaScript too; the worklist sorts by
attention (emergency, then cauda equina questions open, then urgent, soon, routine) with
unreviewed work first; reviewing is stored once, audited and clears the banner; the API's
lists are paged, searched in the database and carry the same facts; clinic settings are an
admin's, checked and audited; the pre-filled assessment never mixes two patients.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
import textstat
from fastapi.testclient import TestClient
from sqlalchemy import select

from backstory.storage import Store, audit
from backstory.storage import worklist as work
from backstory.storage.clinic_settings import save_settings
from backstory.storage.errors import InvalidRequest, NotAllowed, NotFound
from backstory.storage.tables import assessment_review, assessment_unsure
from backstory.web.labels import field_label, plain_text, readable_document
from backstory.web.questionnaire import DEFAULT_HELP, Help

from .conftest import World, csrf_of, example, sign_in
from .questionnaire_walk import answers, walk

NOW = dt.datetime(2026, 12, 6, 9, 0, tzinfo=dt.UTC)


def _link(world: World, patient_id: str | None = None) -> str:
    c = sign_in(world.app, "clin-a")
    r = c.post(
        f"/patients/{patient_id or world.patient_a}/links",
        data={"csrf": csrf_of(c.get("/worklist").text)},
    )
    found = re.search(r'id="link-url" type="text" readonly value="([^"]+)"', r.text)
    assert found
    return found.group(1).replace("http://testserver", "")


def _answers(**changes: str) -> dict[str, str]:
    return answers(**{"age": "47", "pain.back": "5", "pain.leg": "", **changes})


def _send(world: World, **changes: str) -> tuple[str, str]:
    """Fill in a questionnaire for patient A; its page and the new assessment's id."""
    path = _link(world)
    r = walk(TestClient(world.app), path, _answers(**changes))
    assert r.status_code == 200, r.text
    newest = Store(world.db, "clin-a").patient_record(world.patient_a)
    latest = max(
        (a for e in newest.episodes for a in e.assessments),
        key=lambda a: a.assessment.created_at,
    )
    return r.text, latest.assessment.id


def _visible(html: str, banner: str) -> bool:
    found = re.search(rf'<div class="{banner}" id="{banner}"[^>]*>', html)
    assert found, banner
    return "hidden" not in found.group(0)


def test_not_sure_stays_unknown_and_is_kept_beside_the_assessment(world: World) -> None:
    """HZ-85: never stored as "no"; the uncertainty is kept, in the same transaction."""
    html, aid = _send(
        world,
        **{
            "red_flags.bladder_dysfunction": "not_sure",
            "pain.leg": "",
            "history.onset": "not_sure",  # "I would rather not say": not uncertainty
        },
    )
    assert _visible(html, "unsure-banner") and not _visible(html, "ces-banner")
    stored = Store(world.db, "clin-a").run(
        lambda conn, user: work.assessment_flags(conn, user, aid)
    )
    assert stored is not None
    assert stored.unsure == ("red_flags.bladder_dysfunction",)
    assert "red_flags.bladder_dysfunction" in stored.unanswered
    assert stored.ces_open == ("red_flags.bladder_dysfunction",) and stored.ces_unsure
    source = Store(world.db, "clin-a").patient_record(world.patient_a)
    text = next(
        a.assessment.source_json
        for e in source.episodes
        for a in e.assessments
        if a.assessment.id == aid
    )
    assert "bladder_dysfunction" not in json.loads(text)["red_flags"]  # unknown, not "no"


def test_a_not_sure_also_shows_the_advice_without_javascript(world: World) -> None:
    """The server shows the advice again when the form comes back (a missing consent)."""
    path = _link(world)
    c = TestClient(world.app)
    page = c.get(path).text
    assert not _visible(page, "unsure-banner")  # always in the page, hidden
    back = walk(c, path, _answers(**{"red_flags.saddle_anaesthesia": "not_sure"}), consent=False)
    assert back.status_code == 422 and _visible(back.text, "unsure-banner")
    unsure_and_yes = {
        "red_flags.saddle_anaesthesia": "not_sure",
        "red_flags.bowel_incontinence": "yes",
    }
    both = walk(c, path, _answers(**unsure_and_yes), consent=False)
    # a "yes" wins: the emergency banner, not the softer advice
    assert _visible(both.text, "ces-banner") and not _visible(both.text, "unsure-banner")
    nothing_saved = Store(world.db, "clin-a").patient_record(world.patient_a)
    assert sum(len(e.assessments) for e in nothing_saved.episodes) == 1


def test_a_failed_save_keeps_no_uncertainty_either(world: World) -> None:
    """The assessment and its "not sure" answers commit together or not at all."""
    store = Store(world.db, "clin-a")

    def boom(conn: Any, assessment_id: str) -> None:
        work.record_unsure(conn, assessment_id, ["red_flags.fever"], NOW)
        raise RuntimeError("the disk is full")

    with pytest.raises(RuntimeError):
        store.save_assessment(world.patient_a, json.dumps(example()), also=boom)
    rows = world.db.transaction(lambda conn: conn.execute(select(assessment_unsure)).all())
    assert rows == []
    record = store.patient_record(world.patient_a)
    assert sum(len(e.assessments) for e in record.episodes) == 1


def test_the_advice_words_are_plain_and_follow_the_clinics_settings() -> None:
    uk = DEFAULT_HELP.unsure_banner()
    words = " ".join(t for p in uk.paragraphs for t, _ in p)
    assert "NHS 111" in words and "999" in words and "today" in words
    assert textstat.flesch_kincaid_grade(words) <= 8, words
    clinic = Help.of("IE", "phone 01 234 5678").unsure_banner()
    text = " ".join(t for p in clinic.paragraphs for t, _ in p)
    assert "Contact your clinic today: phone 01 234 5678." in text and "112" in text
    assert "999" not in text and "{" not in text
    # the clinic's contact goes in last: braces in it are never read as placeholders
    odd = Help.of("GB", "ring {emergency_number}").unsure_banner()
    assert "ring {emergency_number}" in " ".join(t for p in odd.paragraphs for t, _ in p)


def _store(world: World, name: str) -> Store:
    return Store(world.db, name)


def _save(world: World, store: Store, reference: str, file: str, **changes: Any) -> str:
    p = store.add_patient(reference)
    return store.save_assessment(p.id, json.dumps(example(file, **changes))).assessment.id


def test_the_worklist_puts_the_most_serious_unreviewed_work_first(world: World) -> None:
    store = _store(world, "clin-a")
    routine = _save(world, store, "w-routine", "p02-facet-pattern.json")
    soon = _save(world, store, "w-soon", "p05-axial-spa.json")
    urgent = _save(world, store, "w-urgent", "p06-osteoporotic-fracture.json")
    emergency = _save(world, store, "w-emergency", "p01-cauda-equina.json")
    no_ces = example("p02-facet-pattern.json")
    del no_ces["red_flags"]["bladder_dysfunction"]
    ces_open = store.save_assessment(store.add_patient("w-ces").id, json.dumps(no_ces))
    page = store.run(lambda conn, user: work.worklist(conn, user))
    order = [i.focus.assessment_id for i in page.items]
    first_five = [emergency, ces_open.assessment.id, urgent, soon, routine]
    assert [a for a in order if a in first_five] == first_five
    attention = {i.focus.assessment_id: i.focus.attention for i in page.items}
    # boundary pairs: an open cauda equina question lifts a routine report above urgent, but
    # never above emergency; an unanswered warning sign adds one, within its level
    assert attention[emergency] == 11 and attention[ces_open.assessment.id] == 8
    # p02 leaves a widened essential question unanswered (walking difficulty): routine + 1
    assert attention[urgent] == 5 and attention[soon] == 3 and attention[routine] == 1
    ces_item = next(i for i in page.items if i.focus.assessment_id == ces_open.assessment.id)
    assert ces_item.focus.level == "routine"  # the level is never changed, only the order
    assert ces_item.focus.ces_open == ("red_flags.bladder_dysfunction",)
    # reviewed work goes below everything still waiting (an open episode keeps it listed)
    store.run(lambda conn, user: work.review(conn, user, emergency, NOW))
    again = store.run(lambda conn, user: work.worklist(conn, user))
    assert again.items[-1].focus.assessment_id == emergency
    assert again.items[-1].focus.reviewed_by == "clin-a"
    # a patient with nothing waiting and no open episode leaves the list
    store.close_episode(again.items[-1].focus.episode_id)
    gone = store.run(lambda conn, user: work.worklist(conn, user))
    assert emergency not in [i.focus.assessment_id for i in gone.items]
    paged = store.run(lambda conn, user: work.worklist(conn, user, limit=2, offset=2))
    assert paged.total == gone.total and len(paged.items) == 2
    assert [i.patient_id for i in paged.items] == [i.patient_id for i in gone.items[2:4]]
    found = store.run(lambda conn, user: work.worklist(conn, user, q="W-URG"))
    assert [i.reference for i in found.items] == ["w-urgent"]
    for bad in ({"limit": 0}, {"limit": work.MAX_LIMIT + 1}, {"offset": -1}):
        with pytest.raises(InvalidRequest):
            store.run(lambda conn, user, bad=bad: work.worklist(conn, user, **bad))


def test_reviewing_is_explicit_stored_once_audited_and_clears_the_banner(world: World) -> None:
    _html, aid = _send(world, **{"red_flags.bilateral_leg_symptoms": "not_sure"})
    c = sign_in(world.app, "clin-a")
    page = c.get("/patients").text
    assert 'id="alert-banner"' in page and f"/assessments/{aid}" in page
    assert "ref-a-1" not in page.split('id="alert-banner"')[1].split("</div>")[0]  # no name
    worklist = c.get("/worklist").text
    assert 'data-flag="ces-unsure"' in worklist and "New questionnaire" in worklist
    r = c.post(
        f"/assessments/{aid}/review",
        data={"csrf": csrf_of(worklist), "back": "https://evil.example/"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/worklist"
    assert 'id="alert-banner"' not in c.get("/patients").text
    c.post(f"/assessments/{aid}/review", data={"csrf": csrf_of(worklist), "back": "report"})
    rows = world.db.transaction(lambda conn: conn.execute(select(assessment_review)).all())
    assert [(r.assessment_id, r.reviewed_by) for r in rows] == [(aid, "clin-a")]
    events = world.db.transaction(lambda conn: audit.events(conn, world.patient_a))
    assert [e.action for e in events].count("assessment.review") == 1  # once, not twice
    report = c.get(f"/assessments/{aid}").text
    assert "Reviewed by clin-a" in report and 'id="review"' not in report
    # another clinic: the same 404 as a missing assessment, nothing stored
    other = sign_in(world.app, "clin-b")
    refused = other.post(
        f"/assessments/{world.assessment_a}/review",
        data={"csrf": csrf_of(other.get("/worklist").text)},
    )
    assert refused.status_code == 404
    with pytest.raises(NotFound):
        Store(world.db, "clin-b").run(
            lambda conn, user: work.review(conn, user, world.assessment_a, NOW)
        )


def test_the_banner_is_for_emergency_urgent_or_unsure_questionnaires_only(world: World) -> None:
    store = _store(world, "clin-a")
    _save(world, store, "entered-emergency", "p01-cauda-equina.json")  # by a clinician
    _send(world)  # a questionnaire with every answer "no": routine, nothing unsure
    c = sign_in(world.app, "clin-a")
    assert 'id="alert-banner"' not in c.get("/worklist").text
    _html, aid = _send(world, **{"red_flags.bowel_incontinence": "yes"})
    page = c.get("/knowledge").text
    assert 'id="alert-banner"' in page and "Emergency: questionnaire of" in page
    assert 'id="alert-banner"' not in sign_in(world.app, "clin-b").get("/worklist").text
    assert aid in page


def test_the_report_names_missing_answers_in_words_and_links_a_prefilled_form(
    world: World,
) -> None:
    _html, aid = _send(world, **{"red_flags.saddle_anaesthesia": "not_sure"})
    c = sign_in(world.app, "clin-a")
    report = c.get(f"/assessments/{aid}").text
    top = report.split('id="triage-banner"')[1].split("</section>")[0]
    assert field_label("red_flags.saddle_anaesthesia") in top
    assert "(the patient was not sure)" in top and "red_flags." not in report
    assert "link:" not in report and ".yaml" not in report
    assert report.index('id="triage-banner"') < report.index('id="working-classification"')
    assert report.index('id="scores"') < report.index('<details class="more" id="full-summary"')
    prefilled = c.get(f"/patients/{world.patient_a}/assessments/new?from={aid}").text
    assert re.search(r'id="f-age" [^>]*value="47"', prefilled)
    chosen = re.search(r'name="red_flags.saddle_anaesthesia" value="(\w+)"[^>]* checked', prefilled)
    assert chosen is None  # the unanswered question is the clinician's to answer
    # never another patient's answers: an assessment of patient A on patient B's form
    store = _store(world, "clin-a")
    other = store.add_patient("someone-else")
    mixed = c.get(f"/patients/{other.id}/assessments/new?from={aid}").text
    assert 'value="47"' not in mixed
    # and never another clinic's
    theirs = sign_in(world.app, "clin-b").get(
        f"/patients/{world.patient_b}/assessments/new?from={aid}"
    )
    assert theirs.status_code == 404


def test_the_clinician_summary_on_the_page_shows_labels_not_keys() -> None:
    assert (
        plain_text("red_flags.fever = yes")
        == "Temperature of 38 C or more, or feverish with shivers: yes"
    )
    assert plain_text("SCREEN-INCOMPLETE: 2 of 15") == "2 of 15"
    assert plain_text("held back (knowledge/data/codes.yaml).") == "held back."
    assert plain_text("[consider] Exercise") == "Consider: Exercise"
    assert plain_text("see 111.nhs.uk, e.g. 2.5") == "see 111.nhs.uk, e.g. 2.5"  # not keys
    from backstory.contract import parse_assessment_json
    from backstory.core.engine import assess
    from backstory.explain import explain_report
    from backstory.knowledge.loader import load_knowledge

    parsed = parse_assessment_json(json.dumps({"age": 50}))
    doc = explain_report(assess(parsed, load_knowledge()), dict(parsed.answers), "clinician")
    shown = readable_document(doc)
    text = json.dumps([s.to_dict() for s in shown.sections])
    assert "red_flags." not in text and ".yaml" not in text
    assert {s.id for s in shown.sections} == {s.id for s in doc.sections} - {"codes", "leaflet"}


def test_api_lists_are_paged_searched_and_carry_the_worklist_facts(world: World) -> None:
    _html, aid = _send(world, **{"red_flags.sexual_dysfunction": "not_sure"})
    store = _store(world, "clin-a")
    for n in range(3):
        store.add_patient(f"api-page-{n}")
    api = TestClient(world.app, headers={"Authorization": f"Bearer {world.read_token}"})
    everyone = api.get("/api/v1/patients").json()
    assert everyone["total"] == 4 and len(everyone["items"]) == 4
    page = api.get("/api/v1/patients", params={"limit": 2, "offset": 1}).json()
    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)
    assert [p["reference"] for p in page["items"]] == ["api-page-1", "api-page-2"]
    one = api.get("/api/v1/patients", params={"q": "REF-A"}).json()
    assert one["total"] == 1
    facts = one["items"][0]["worklist"]
    assert facts["assessment_id"] == aid and facts["from_questionnaire"] is True
    assert facts["unsure"] == ["red_flags.sexual_dysfunction"]
    assert facts["cauda_equina_open"] == ["red_flags.sexual_dysfunction"]
    assert facts["reviewed_by"] is None and one["items"][0]["unreviewed"] == 2
    wild = api.get("/api/v1/patients", params={"q": "%"}).json()
    assert wild["total"] == 0  # a wildcard is a character like any other
    listed = api.get("/api/v1/assessments", params={"unreviewed": "true"}).json()
    assert listed["items"][0]["assessment_id"] == aid  # not sure about CES: above routine
    assert listed["items"][0]["attention"] == 8 and listed["total"] == 2
    store.run(lambda conn, user: work.review(conn, user, aid, NOW))
    after = api.get("/api/v1/assessments", params={"unreviewed": "true"}).json()
    assert aid not in [a["assessment_id"] for a in after["items"]]
    reviewed = api.get("/api/v1/assessments", params={"q": "ref-a"}).json()
    mine = next(a for a in reviewed["items"] if a["assessment_id"] == aid)
    assert mine["reviewed_by"] == "clin-a" and mine["reviewed_at"]
    for bad in ({"limit": 0}, {"limit": 201}, {"offset": -1}):
        assert api.get("/api/v1/assessments", params=bad).status_code == 422
        assert api.get("/api/v1/patients", params=bad).status_code == 422
    other = TestClient(world.app).get("/api/v1/assessments")
    assert other.status_code == 401


def test_clinic_settings_are_an_admins_checked_and_audited(world: World) -> None:
    clinician = sign_in(world.app, "clin-a")
    assert clinician.get("/admin/clinic").status_code == 403
    admin = sign_in(world.app, "admin-a")
    form = admin.get("/admin/clinic").text
    assert 'value="GB" selected' in form
    for data, message in (
        ({"country": "XX", "contact": ""}, "choose one of the countries"),
        ({"country": "GB", "contact": "x" * 201}, "at most 200 characters"),
    ):
        r = admin.post("/admin/clinic", data={**data, "csrf": csrf_of(form)})
        assert r.status_code == 400 and message in r.text
    saved = admin.post(
        "/admin/clinic",
        data={"country": "IE", "contact": "  phone\t01 234  5678 ", "csrf": csrf_of(form)},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    shown = admin.get("/admin/clinic").text
    assert 'value="IE" selected' in shown and 'value="phone 01 234 5678"' in shown
    assert "Last changed by admin-a" in shown
    events = world.db.transaction(lambda conn: audit.events(conn))
    assert [e.actor for e in events if e.action == "clinic.settings"] == ["admin-a"]
    # the clinic's patients now read its contact and its country's emergency number
    patient = TestClient(world.app).get(_link(world)).text
    assert "Contact your clinic today: phone 01 234 5678." in patient
    assert "call 112" in patient and "call 999" not in patient
    with pytest.raises(NotAllowed):  # the admin check is the storage layer's too
        Store(world.db, "clin-a").run(
            lambda conn, user: save_settings(conn, user, "GB", None, NOW, ("GB",))
        )


def test_erasing_a_patient_erases_reviews_and_uncertainty(world: World) -> None:
    _html, aid = _send(world, **{"red_flags.bladder_dysfunction": "not_sure"})
    Store(world.db, "clin-a").run(lambda conn, user: work.review(conn, user, aid, NOW))
    Store(world.db, "admin-a").erase_patient(world.patient_a)
    for table in (assessment_review, assessment_unsure):
        assert world.db.transaction(lambda conn, t=table: conn.execute(select(t)).all()) == []


def test_the_patient_list_shows_triage_and_review_searched_in_the_database(
    world: World,
) -> None:
    store = _store(world, "clin-a")
    _save(world, store, "list-emergency", "p01-cauda-equina.json")
    c = sign_in(world.app, "clin-a")
    page = c.get("/patients", params={"q": "LIST-EM"}).text
    row = page.split('id="patient-table"')[1]
    assert "list-emergency" in row and "ref-a-1" not in row
    assert '<span class="badge emergency">Emergency</span>' in row and "1 waiting" in row
    assert "1 patient matching" in page
    everyone = c.get("/patients").text
    assert '<span class="badge routine">Routine</span>' in everyone  # ref-a-1's report
    # a wildcard is a character like any other: no reference contains "%"
    assert 'id="no-patients"' in c.get("/patients", params={"q": "%"}).text


def test_when_the_banner_cannot_be_checked_the_page_says_so(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HZ-87: a failed look-up never looks like "nothing waiting"."""
    from backstory.storage.errors import DatabaseUnavailable

    def fail(conn: Any, user: Any) -> list[work.Flags]:
        raise DatabaseUnavailable("the database is not available")

    monkeypatch.setattr(work, "alerts", fail)
    page = sign_in(world.app, "clin-a").get("/knowledge").text
    assert "could not be checked just now" in page


def test_the_worklist_page_pages_and_searches(world: World) -> None:
    store = _store(world, "clin-a")
    text = json.dumps(example("p02-facet-pattern.json"))
    for n in range(51):  # with ref-a-1, one more than a page of 50
        store.save_assessment(store.add_patient(f"open-{n:02d}").id, text)
    c = sign_in(world.app, "clin-a")
    first = c.get("/worklist").text
    assert "52 patients on the worklist" in first and "(page 1 of 2)" in first
    assert 'id="next-page"' in first and 'id="previous-page"' not in first
    second = c.get("/worklist", params={"page": 2}).text
    assert second.count('class="level-') == 2 and 'id="previous-page"' in second
    found = c.get("/worklist", params={"q": "OPEN-07"}).text
    assert "1 patient on the worklist" in found and "open-07" in found
    assert c.get("/worklist", params={"page": 0}).status_code == 400


def test_an_unreadable_database_is_reported_not_taken_for_no_alerts(tmp_path: Any) -> None:
    from backstory.storage import Database
    from backstory.storage.errors import DatabaseUnavailable
    from backstory.storage.users import User

    empty = Database(f"sqlite:///{tmp_path / 'no-schema.db'}")  # no tables at all
    user = User("U1", "C1", "Clinic", "someone", "clinician", True)
    with pytest.raises(DatabaseUnavailable):
        work.unreviewed_alerts(empty, user)
    empty.close()
