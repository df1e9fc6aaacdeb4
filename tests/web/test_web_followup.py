"""Follow-ups without re-typing, corrections from the web page, and PDFs that name their
owner (issue 14 items 4 and 6; HZ-90, HZ-91).

A new assessment starts from the patient's latest, each carried answer marked with its
date; warning signs are never carried silently (asked again, or confirmed unchanged with one
checkbox, audited as its own action); age and sex come from the patient record.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from html.parser import HTMLParser

from pypdf import PdfReader
from sqlalchemy import select

from backstory.storage import Store, audit
from backstory.storage.records import (
    AssessmentRecord,
    Episode,
    EpisodeRecord,
    Patient,
    PatientRecord,
    StoredAssessment,
)
from backstory.storage.tables import assessment
from backstory.web.followup import CONFIRM, SOURCE, prefill, warning_fields

from .conftest import World, csrf_of, example, sign_in


class _Form(HTMLParser):
    """What a browser would submit from the assessment form, untouched."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.required: set[str] = set()
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name", "")
        if tag == "input" and name:
            if a.get("type") == "radio":
                if "required" in a:
                    self.required.add(name)
                if "checked" in a:
                    self.values[name] = a["value"]
            elif a.get("type") == "checkbox":
                if "checked" in a:
                    self.values[name] = a["value"]
            elif a.get("value"):
                self.values[name] = a["value"]
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in a and a.get("value"):
            self.values[self._select] = a["value"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def _form(html: str) -> _Form:
    parsed = _Form()
    parsed.feed(html)
    return parsed


def _patient_with_visit(world: World, **patient: object) -> tuple[str, str]:
    store = Store(world.db, "clin-a")
    p = store.add_patient("follow-1", **patient)  # type: ignore[arg-type]
    first = example("p02-facet-pattern.json", assessed_on="2026-01-05")
    saved = store.save_assessment(p.id, json.dumps(first))
    return p.id, saved.assessment.id


def _stored(world: World, aid: str) -> dict[str, object]:
    text = world.db.transaction(
        lambda conn: conn.execute(
            select(assessment.c.source_json).where(assessment.c.id == aid)
        ).scalar_one()
    )
    loaded: dict[str, object] = json.loads(text)
    return loaded


def test_new_assessment_starts_from_the_last_visit_marked_and_dated(world: World) -> None:
    pid, first = _patient_with_visit(world, birth_year=1960, sex="female")
    c = sign_in(world.app, "clin-a")
    html = c.get(f"/patients/{pid}/assessments/new").text
    form = _form(html)
    assert form.values[SOURCE] == first
    assert form.values["pain.back"] == "5"
    assert 'id="f-pain-back-carried">Carried forward from the visit of 2026-01-05' in html
    assert form.values["assessed_on"] != "2026-01-05"  # a new visit has its own date
    # age and sex from the patient record, not from the last visit
    this_year = dt.datetime.now(dt.UTC).year  # the app's clock is the real one here
    assert form.values["age"] == str(this_year - 1960) and form.values["sex"] == "female"
    assert "From the year of birth in the patient record (1960)" in html
    # warning signs: never pre-chosen, not required by the browser, the previous answer shown
    for name in warning_fields():
        assert name not in form.values and name not in form.required
    assert "On 2026-01-05: no (not carried forward)" in html
    assert f'name="{CONFIRM}"' in html and CONFIRM not in form.values
    blank = _form(c.get(f"/patients/{pid}/assessments/new?blank=1").text)
    assert "pain.back" not in blank.values and SOURCE not in blank.values
    assert blank.required >= set(warning_fields())


def test_warning_signs_must_be_asked_again_or_confirmed(world: World) -> None:
    pid, _first = _patient_with_visit(world)
    c = sign_in(world.app, "clin-a")
    form = _form(c.get(f"/patients/{pid}/assessments/new").text).values
    form["csrf"] = csrf_of(c.get("/patients").text)
    r = c.post(f"/patients/{pid}/assessments", data=form, follow_redirects=False)
    assert r.status_code == 422  # nothing silently carried
    assert "choose yes, no or not asked" in r.text
    assert 'id="carried-intro"' in r.text  # still a follow-up form after the error
    count = world.db.transaction(
        lambda conn: len(
            conn.execute(select(assessment.c.id).where(assessment.c.created_by == "clin-a")).all()
        )
    )
    assert count == 2  # the world's first assessment and this patient's first visit


def test_confirmed_follow_up_with_three_changes_is_saved_and_audited(world: World) -> None:
    pid, first = _patient_with_visit(world)
    c = sign_in(world.app, "clin-a")
    form = _form(c.get(f"/patients/{pid}/assessments/new").text).values
    form.update({"csrf": csrf_of(c.get("/patients").text), CONFIRM: "yes"})
    form.update({"pain.back": "2", "startback.1": "0", "red_flags.fever": "yes"})
    r = c.post(f"/patients/{pid}/assessments", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]
    new = r.headers["location"].rsplit("/", 1)[1]
    before, after = _stored(world, first), _stored(world, new)
    assert after["pain"]["back"] == 2  # type: ignore[index]
    assert after["startback"][0] == 0  # type: ignore[index]
    # the one warning sign answered again wins; the rest carried by the confirmation
    assert after["red_flags"]["fever"] is True  # type: ignore[index]
    rf_before, rf_after = dict(before["red_flags"]), dict(after["red_flags"])  # type: ignore[call-overload]
    rf_before.pop("fever", None)
    rf_after.pop("fever")
    assert rf_after == rf_before
    assert after["movement"] == before["movement"] and after["age"] == before["age"]
    events = world.db.transaction(lambda conn: audit.events(conn, pid))
    mine = [e for e in events if e.record_id == new]
    actions = [e.action for e in mine]
    assert actions.count("assessment.warnings_unchanged") == 1
    assert "assessment.carry" in actions and "assessment.create" in actions
    confirm = next(e for e in mine if e.action == "assessment.warnings_unchanged")
    assert confirm.detail["assessment_id"] == first and confirm.detail["since"] == "2026-01-05"
    assert confirm.detail["count"] == len(warning_fields()) - 1


def test_without_the_confirmation_nothing_is_audited_as_confirmed(world: World) -> None:
    pid, _first = _patient_with_visit(world)
    c = sign_in(world.app, "clin-a")
    form = _form(c.get(f"/patients/{pid}/assessments/new").text).values
    form["csrf"] = csrf_of(c.get("/patients").text)
    for name in warning_fields():
        form[name] = "not_asked"
    r = c.post(f"/patients/{pid}/assessments", data=form, follow_redirects=False)
    assert r.status_code == 303
    new = r.headers["location"].rsplit("/", 1)[1]
    assert "red_flags" not in _stored(world, new)  # asked again: all "not asked"
    actions = [e.action for e in world.db.transaction(lambda conn: audit.events(conn, pid))]
    assert "assessment.warnings_unchanged" not in actions and "assessment.carry" in actions


def test_carrying_from_another_patient_or_clinic_is_refused(world: World) -> None:
    pid, _first = _patient_with_visit(world)
    c = sign_in(world.app, "clin-a")
    form = _form(c.get(f"/patients/{pid}/assessments/new").text).values
    form.update({"csrf": csrf_of(c.get("/patients").text), CONFIRM: "yes"})
    other = dict(form, **{SOURCE: world.assessment_a})  # clinic A, another patient
    assert c.post(f"/patients/{pid}/assessments", data=other).status_code == 400
    foreign = dict(form, **{SOURCE: world.assessment_b})  # clinic B
    assert c.post(f"/patients/{pid}/assessments", data=foreign).status_code == 404


def test_an_assessment_is_corrected_as_a_new_version_from_the_web(world: World) -> None:
    pid, first = _patient_with_visit(world)
    c = sign_in(world.app, "clin-a")
    html = c.get(f"/assessments/{first}/correct").text
    form = _form(html).values
    assert form["red_flags.saddle_anaesthesia"] == "no"  # its own answers, warning signs too
    form.update({"csrf": csrf_of(html), "pain.back": "7"})
    r = c.post(f"/assessments/{first}/correct", data=form, follow_redirects=False)
    assert r.status_code == 422 and "give the reason" in r.text  # a reason is needed
    form["reason"] = "back pain score mistyped"
    r = c.post(f"/assessments/{first}/correct", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text[r.text.find("error-summary") :][:1500]
    new = r.headers["location"].rsplit("/", 1)[1]
    assert _stored(world, new)["pain"]["back"] == 7  # type: ignore[index]
    assert _stored(world, first)["pain"]["back"] == 5  # type: ignore[index]  # kept as it was
    page = c.get(f"/patients/{pid}").text
    assert f"corrected by {new}" in page
    # only the latest version can be corrected
    assert c.post(f"/assessments/{first}/correct", data=form).status_code == 409


def test_both_pdfs_name_the_patient_on_every_page(world: World) -> None:
    _pid, first = _patient_with_visit(world)
    c = sign_in(world.app, "clin-a")
    for name in ("leaflet", "summary"):
        r = c.get(f"/assessments/{first}/{name}.pdf")
        assert r.status_code == 200
        pages = [p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages]
        for n, text in enumerate(pages, start=1):
            assert "Patient follow-1 - Clinic A" in text, (name, n)
            assert "Clinician clin-a - assessed 2026-01-05" in text, (name, n)
            assert f"Page {n} of {len(pages)}" in text, (name, n)


def _visit(world: World, pid: str, on: str, back: int) -> None:
    later = example("p02-facet-pattern.json", assessed_on=on)
    later["pain"]["back"] = back
    Store(world.db, "clin-a").save_assessment(pid, json.dumps(later))


def test_followups_due_then_sent_then_the_episode_closes_with_its_outcome(
    world: World,
) -> None:
    pid, _first = _patient_with_visit(world)  # back pain 5 on 2026-01-05
    _visit(world, pid, "2026-02-16", 1)
    c = sign_in(world.app, "clin-a")
    page = c.get(f"/patients/{pid}").text
    eid = re.search(r'id="episode-(E[0-9A-Z]+)"', page).group(1)  # type: ignore[union-attr]
    assert 'id="followups-due"' not in page and f'id="close-{eid}"' in page
    assert "2, 6, 12 (expert opinion, not a guideline" in page
    csrf = csrf_of(page)
    bad = c.post(f"/episodes/{eid}/followups", data={"csrf": csrf, "weeks": "0"})
    assert bad.status_code == 400
    r = c.post(f"/episodes/{eid}/followups", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/patients/{pid}#episode-{eid}"
    page = c.get(f"/patients/{pid}").text
    # the three fall due 2, 6 and 12 weeks after 2026-01-05: all due by today
    assert 'id="followups-due"' in page and page.count("<strong>due</strong>") == 3
    fid = re.search(r'action="/followups/(F[0-9A-Z]+)/link"', page).group(1)  # type: ignore[union-attr]
    made = c.post(f"/followups/{fid}/link", data={"csrf": csrf})
    assert made.status_code == 200 and "/p/" in made.text
    page = c.get(f"/patients/{pid}").text
    assert page.count("<strong>due</strong>") == 2 and "<strong>sent</strong>" in page
    r = c.post(
        f"/episodes/{eid}/close",
        data={"csrf": csrf, "kind": "discharged", "note": "goals met"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = c.get(f"/patients/{pid}").text
    assert f'id="outcome-{eid}"' in page and "Outcome: discharged" in page
    assert "Back pain" in page and "5 to 1 (change -4" in page and "improved" in page
    assert 'id="followups-due"' not in page and page.count("<strong>cancelled</strong>") == 2
    assert f'id="close-{eid}"' not in page  # closed: no closing form any more
    again = c.post(f"/episodes/{eid}/close", data={"csrf": csrf, "kind": "other"})
    assert again.status_code == 409


def test_reassessment_prompt_shows_on_the_patient_page(world: World) -> None:
    pid, _first = _patient_with_visit(world)  # back pain 5 on 2026-01-05
    _visit(world, pid, "2026-02-16", 9)  # worse by more than the important change
    page = sign_in(world.app, "clin-a").get(f"/patients/{pid}").text
    assert re.search(r'id="reassess-E[0-9A-Z]+"', page) and "Not improving" in page


def _record(*visits: tuple[str, str, int], birth_year: int | None = None) -> PatientRecord:
    now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    patient = Patient("P1", "C1", "ref", birth_year, None, now)
    ep = Episode("E1", "P1", dt.date(2026, 1, 5), None, now)
    items = []
    for n, (on, by, back) in enumerate(visits):
        data = example("p02-facet-pattern.json", assessed_on=on)
        data["pain"]["back"] = back
        stored = StoredAssessment(
            f"A{n}",
            "E1",
            1,
            None,
            None,
            dt.date.fromisoformat(on),
            "v1",
            json.dumps(data),
            now + dt.timedelta(minutes=n),
            by,
        )
        items.append(AssessmentRecord(stored, (), None))
    return PatientRecord(patient, (EpisodeRecord(ep, tuple(items)),))


def test_prefill_takes_the_latest_visit_or_questionnaire() -> None:
    today = dt.date(2026, 3, 2)
    record = _record(("2026-01-05", "clin-a", 5), ("2026-02-20", "link:KABC", 3))
    fill = prefill(record, today)
    assert fill.source is not None and fill.source.assessment.id == "A1"
    assert fill.values["pain.back"] == "3"
    assert fill.marks["pain.back"] == "Carried forward from the questionnaire of 2026-02-20"
    # no year of birth recorded: age is carried (and marked) from the last visit instead
    assert fill.values["age"] == "64" and fill.marks["age"].startswith("Carried forward")
    assert set(fill.previous_warnings) == set(warning_fields())
    assert not set(warning_fields()) & set(fill.values)
    assert prefill(_record(), today).source is None  # nothing to carry: a blank form
    blank = prefill(record, today, carry=False)
    assert blank.source is None and set(blank.values) == {"assessed_on"}
