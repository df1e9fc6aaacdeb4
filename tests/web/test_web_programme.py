"""The programme between visits on the web (issue 15): the clinician builds, edits and
releases it; the patient follows it through a link and checks in each week; the worklist
and the banner tell the clinician what matters. Both backends; synthetic data only.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backstory.storage import Store, audit
from backstory.web.programme_view import LINK_DAYS

from .conftest import Clock, World, csrf_of, example, sign_in

LINK = re.compile(r'id="link-url" type="text" readonly value="[^"]*?(/programme/[^"]+)"')
CES = (
    "red_flags.saddle_anaesthesia",
    "red_flags.bladder_dysfunction",
    "red_flags.bowel_incontinence",
    "red_flags.sexual_dysfunction",
    "red_flags.bilateral_leg_symptoms",
)


def screened() -> dict[str, Any]:
    """The facet-pattern example with its one unanswered warning-sign question answered."""
    data = example("p02-facet-pattern.json", assessed_on="2026-01-05")
    data.setdefault("neuro", {})["gait_disturbance"] = False
    return data


def _assessment(world: World, data: dict[str, Any], ref: str = "prog-web-1") -> tuple[str, str]:
    store = Store(world.db, "clin-a")
    p = store.add_patient(ref)
    return p.id, store.save_assessment(p.id, json.dumps(data)).assessment.id


def _released(world: World, c: TestClient) -> tuple[str, str, str]:
    """A released programme of a new patient of clinic A: (patient, programme, link path)."""
    pid, aid = _assessment(world, screened())
    form = c.get(f"/assessments/{aid}/programme")
    assert form.status_code == 200 and 'id="programme-form"' in form.text
    chosen = re.findall(r'name="(ex-[a-z_]+)" value="yes" checked', form.text)
    assert 3 <= len(chosen) <= 5
    r = c.post(
        f"/assessments/{aid}/programme",
        data={"csrf": csrf_of(form.text), "start_minutes": "10", **dict.fromkeys(chosen, "yes")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    gid = r.headers["location"].rsplit("/", 1)[1]
    page = c.get(f"/programmes/{gid}")
    assert "a draft" in page.text
    r = c.post(f"/programmes/{gid}/release", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 200 and "released" in r.text
    made = c.post(f"/patients/{pid}/programme-links", data={"csrf": csrf_of(r.text)})
    found = LINK.search(made.text)
    assert found, made.text
    return pid, gid, found.group(1)


def _checkin(
    patient: TestClient, link: str, warnings: dict[str, str] | None = None, **numbers: int
) -> Any:
    form = patient.get(f"{link}/checkin")
    assert form.status_code == 200
    values = {
        "pain": 5,
        "confidence": 6,
        "fear": 4,
        "activity_days": 5,
        "exercise_days": 4,
        "flare_ups": 0,
        **numbers,
    }
    answers = dict.fromkeys(CES, "no") | (warnings or {})
    data = {"csrf": csrf_of(form.text), **{k: str(v) for k, v in values.items()}, **answers}
    return patient.post(f"{link}/checkin", data=data)


def test_release_follow_check_in_and_flag(world: World, clock: Clock) -> None:
    c = sign_in(world.app, "clin-a")
    pid, gid, link = _released(world, c)
    patient = TestClient(world.app)
    plan = patient.get(link)
    assert plan.status_code == 200
    assert plan.text.count('class="exercise-card"') >= 3 and "<svg" in plan.text
    assert 'id="adaptation"' not in plan.text  # week 1 has nothing to adapt to yet
    first = _checkin(patient, link, pain=5)
    assert first.status_code == 200 and 'id="next-week"' in first.text
    assert 'id="ces-banner" role="alert" aria-live="assertive" hidden' in first.text
    row = c.get("/worklist").text
    assert 'data-flag="checkin-worse"' not in row
    second = _checkin(patient, link, pain=8)  # +3 on last week: worse, and the plan eases off
    assert "steps back a little" in second.text
    work = c.get("/worklist").text
    assert 'data-flag="checkin-worse"' in work
    pdf = c.get(f"/programmes/{gid}/plan.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    page = c.get(f"/patients/{pid}").text
    assert 'id="pain-change"' in page and "<svg" in page and 'id="checkins"' in page
    assert "exercises on 8 of 14 days (57%), walks on 10 of 14 days (71%)" in page
    assert 'data-flag="checkin-worse"' in page
    events = world.db.transaction(lambda conn: audit.events(conn, pid))
    actions = [e.action for e in events]
    for action in ("programme.create", "programme.release", "programme.link", "checkin.create"):
        assert action in actions, action
    assert [e.actor.startswith("link:") for e in events if e.action == "checkin.create"] == [
        True,
        True,
    ]


def test_a_warning_sign_in_a_check_in_acts_at_once_and_tops_the_worklist(
    world: World, clock: Clock
) -> None:
    c = sign_in(world.app, "clin-a")
    pid, gid, link = _released(world, c)
    patient = TestClient(world.app)
    form = patient.get(f"{link}/checkin").text
    assert 'data-ces="1"' in form and 'src="/static/warning.js"' in form  # shown on change
    done = _checkin(patient, link, {"red_flags.bladder_dysfunction": "yes"})
    assert 'id="ces-banner" role="alert" aria-live="assertive">' in done.text  # not hidden
    assert "emergency department" in done.text and 'id="plan-paused"' in done.text
    plan = patient.get(link).text
    assert 'id="plan-paused"' in plan and 'class="exercise-card"' not in plan
    for path in ("/worklist", "/patients", f"/patients/{pid}"):
        assert 'id="checkin-banner"' in c.get(path).text, path
    work = c.get("/worklist").text
    first_row = work.split('<li class="level-', 2)[1]
    assert 'data-flag="checkin-warning"' in first_row  # above every other patient
    listed = c.get("/patients").text  # the patients list shows the same flag on its row
    row = listed.split(f'href="/patients/{pid}"', 1)[1].split("</tr>", 1)[0]
    assert 'data-flag="checkin-warning"' in row
    page = c.get(f"/programmes/{gid}").text
    assert 'id="programme-stopped"' in page
    button = re.search(r'action="/checkins/([A-Z0-9]+)/review"', page)
    assert button
    c.post(f"/checkins/{button.group(1)}/review", data={"csrf": csrf_of(page)})
    assert 'id="checkin-banner"' not in c.get("/worklist").text


def test_not_sure_shows_the_advice_to_get_help_today(world: World, clock: Clock) -> None:
    c = sign_in(world.app, "clin-a")
    _pid, _gid, link = _released(world, c)
    done = _checkin(TestClient(world.app), link, {"red_flags.saddle_anaesthesia": "not_sure"})
    assert 'id="unsure-banner" role="alert" aria-live="assertive">' in done.text
    assert 'id="checkin-banner"' in c.get("/worklist").text


def test_a_check_in_with_a_missing_answer_keeps_the_banner(world: World, clock: Clock) -> None:
    c = sign_in(world.app, "clin-a")
    _pid, _gid, link = _released(world, c)
    patient = TestClient(world.app)
    form = patient.get(f"{link}/checkin")
    data = {"csrf": csrf_of(form.text), **dict.fromkeys(CES, "no")}
    data["red_flags.bowel_incontinence"] = "yes"
    r = patient.post(f"{link}/checkin", data=data)
    assert r.status_code == 422 and 'id="error-summary"' in r.text
    assert 'id="ces-banner" role="alert" aria-live="assertive">' in r.text


@pytest.mark.parametrize("answer", ["yes", "not_sure"])
def test_a_warning_sign_in_an_unfinished_check_in_reaches_the_clinician(
    world: World, clock: Clock, answer: str
) -> None:
    """HZ-100: a check-in refused for a missing answer still tells the clinician of the
    warning sign in it, until reviewed; it never counts as the week's check-in."""
    c = sign_in(world.app, "clin-a")
    pid, gid, link = _released(world, c)
    patient = TestClient(world.app)
    form = patient.get(f"{link}/checkin")
    data = {"csrf": csrf_of(form.text), **dict.fromkeys(CES, "no"), "confidence": "6"}
    data["red_flags.saddle_anaesthesia"] = answer  # pain and the rest missing
    r = patient.post(f"{link}/checkin", data=data)
    assert r.status_code == 422 and 'id="error-summary"' in r.text
    shown = "ces-banner" if answer == "yes" else "unsure-banner"
    assert f'id="{shown}" role="alert" aria-live="assertive">' in r.text  # not hidden
    data["csrf"] = csrf_of(r.text)
    assert patient.post(f"{link}/checkin", data=data).status_code == 422  # sent again as it was
    plan = patient.get(link).text  # a "yes" pauses the plan until a clinician reviews it
    assert ('id="plan-paused"' in plan) is (answer == "yes")
    assert ('class="exercise-card"' in plan) is (answer != "yes")
    for path in ("/worklist", "/patients", f"/patients/{pid}"):
        assert 'id="checkin-banner"' in c.get(path).text, path
    work = c.get("/worklist").text
    assert "<strong>1 programme check-in reported a warning sign" in work  # one flag, not two
    first_row = work.split('<li class="level-', 2)[1]
    assert 'data-flag="checkin-warning"' in first_row
    kept = re.search(rf'href="/programmes/{gid}#checkin-([A-Z0-9]+)"', first_row)
    assert kept
    page = c.get(f"/programmes/{gid}").text
    assert f'id="checkin-{kept.group(1)}"' in page and 'id="no-checkins"' in page
    assert 'id="adherence"' not in page
    own = c.get(f"/patients/{pid}").text
    assert f'id="checkin-{kept.group(1)}"' in own and 'id="no-checkins"' in own
    events = world.db.transaction(lambda conn: audit.events(conn, pid))
    assert [e.action for e in events if e.actor.startswith("link:")].count("checkin.warning") == 2
    done = _checkin(patient, link)  # the complete check-in afterwards is week 1
    assert done.status_code == 200
    page = c.get(f"/programmes/{gid}").text
    week = '<th scope="row" data-label="Week">{}</th>'
    assert week.format(1) in page and week.format(2) not in page
    assert 'id="checkin-banner"' in c.get("/worklist").text  # still, until reviewed
    r = c.post(f"/checkins/{kept.group(1)}/review", data={"csrf": csrf_of(page)})
    assert r.status_code == 200
    assert 'id="checkin-banner"' not in c.get("/worklist").text
    plan = patient.get(link).text  # reviewed: the plan goes on
    assert 'id="plan-paused"' not in plan and 'class="exercise-card"' in plan


def test_an_unfinished_check_in_without_a_warning_sign_is_not_kept(
    world: World, clock: Clock
) -> None:
    c = sign_in(world.app, "clin-a")
    pid, gid, link = _released(world, c)
    patient = TestClient(world.app)
    form = patient.get(f"{link}/checkin")
    data = {"csrf": csrf_of(form.text), **dict.fromkeys(CES, "no"), "pain": "11"}
    r = patient.post(f"{link}/checkin", data=data)
    assert r.status_code == 422 and 'id="error-summary"' in r.text
    assert 'id="checkin-banner"' not in c.get("/worklist").text
    page = c.get(f"/programmes/{gid}").text
    assert 'id="checkin-reports"' not in page and 'id="no-checkins"' in page
    events = world.db.transaction(lambda conn: audit.events(conn, pid))
    assert "checkin.warning" not in [e.action for e in events]


def test_missed_check_ins_are_flagged_after_two_weeks(world: World, clock: Clock) -> None:
    c = sign_in(world.app, "clin-a")
    _released(world, c)
    clock.advance(days=13)
    c = sign_in(world.app, "clin-a")
    assert 'data-flag="checkin-missed"' not in c.get("/worklist").text
    clock.advance(days=1)
    c = sign_in(world.app, "clin-a")
    assert 'data-flag="checkin-missed"' in c.get("/worklist").text


def test_no_programme_for_an_urgent_triage_without_a_reason(world: World) -> None:
    c = sign_in(world.app, "clin-a")
    pid, aid = _assessment(world, example("p06-osteoporotic-fracture.json"), "prog-urgent")
    form = c.get(f"/assessments/{aid}/programme")
    assert 'id="programme-refused"' in form.text and 'id="override-reason"' in form.text
    chosen = ["ex-pelvic_tilt", "ex-knee_hug", "ex-bridge"]
    base = {"csrf": csrf_of(form.text), "start_minutes": "10"}
    options = set(re.findall(r'name="(ex-[a-z_]+)"', form.text))
    picked = [x for x in chosen if x in options] or sorted(options)[:3]
    picked = (picked + sorted(options - set(picked)))[:3]
    r = c.post(f"/assessments/{aid}/programme", data={**base, **dict.fromkeys(picked, "yes")})
    assert r.status_code == 422 and "override" in r.text
    r = c.post(
        f"/assessments/{aid}/programme",
        data={
            **base,
            **dict.fromkeys(picked, "yes"),
            "override_reason": "Fracture excluded on review",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    actions = [e.action for e in world.db.transaction(lambda conn: audit.events(conn, pid))]
    assert "programme.override" in actions


def test_an_edit_is_a_new_version(world: World) -> None:
    c = sign_in(world.app, "clin-a")
    _pid, gid, _link = _released(world, c)
    page = c.get(f"/programmes/{gid}").text
    edit = re.search(r'href="(/assessments/[A-Z0-9]+/programme\?edit=[A-Z0-9]+)"', page)
    assert edit
    form = c.get(edit.group(1).replace("&amp;", "&"))
    assert 'name="supersedes"' in form.text and 'value="10"' in form.text
    chosen = re.findall(r'name="(ex-[a-z_]+)" value="yes" checked', form.text)
    aid = edit.group(1).split("/")[2]
    r = c.post(
        f"/assessments/{aid}/programme",
        data={
            "csrf": csrf_of(form.text),
            "start_minutes": "15",
            "supersedes": gid,
            **dict.fromkeys(chosen, "yes"),
        },
        follow_redirects=False,
    )
    new = c.get(r.headers["location"]).text
    assert "version 2" in new and "a draft" in new


def test_other_clinics_and_dead_links_see_nothing(world: World, clock: Clock) -> None:
    c = sign_in(world.app, "clin-a")
    pid, gid, link = _released(world, c)
    b = sign_in(world.app, "clin-b")
    assert b.get(f"/programmes/{gid}").status_code == 404
    assert (
        b.post(
            f"/patients/{pid}/programme-links", data={"csrf": csrf_of(b.get("/patients").text)}
        ).status_code
        == 404
    )
    patient = TestClient(world.app)
    assert patient.get(link).status_code == 200
    assert patient.get("/programme/forged-token").status_code == 404
    clock.advance(days=LINK_DAYS, seconds=-1)
    assert patient.get(link).status_code == 200  # the boundary: a second before it expires
    clock.advance(seconds=1)
    assert patient.get(link).status_code == 404  # expired
    clock.advance(days=-LINK_DAYS)
    page = c.get(f"/programmes/{gid}").text
    lid = re.search(r'action="/programme-links/([A-Z0-9]+)/revoke"', page)
    assert lid
    c.post(f"/programme-links/{lid.group(1)}/revoke", data={"csrf": csrf_of(page)})
    assert patient.get(link).status_code == 404
    assert patient.get(f"{link}/checkin").status_code == 404
    actions = [e.action for e in world.db.transaction(lambda conn: audit.events(conn, pid))]
    assert "programme.link_revoke" in actions


def test_every_check_in_warning_question_is_the_questionnaires_own() -> None:
    """The check-in asks each cauda equina question in the questionnaire's words, so its
    act-now advice works exactly the same way (HZ-100)."""
    from backstory.programme import load_programme_knowledge
    from backstory.web.pages.programme_patient import _warning_questions
    from backstory.web.questionnaire import CES_FIELDS

    asked = [q.field for q in _warning_questions()]
    assert sorted(asked) == sorted(load_programme_knowledge().checkin.warning_fields)
    assert set(asked) == set(CES_FIELDS) == set(CES)
