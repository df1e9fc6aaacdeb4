"""The API's worklist and lists carry the programme check-in flags (issues 14 and 15).

`GET /api/v1/worklist`, `/api/v1/patients` and `/api/v1/assessments` say what the worklist
page says about a patient's programme: a warning sign in a check-in (or kept from an
unfinished one, ``checkin_warning``) sorts that patient first of all (HZ-100); a worse
check-in and two missed check-ins are flagged at the same boundaries as on the page. Only the
token's clinic is seen; every read is audited under the token's name. Both backends.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from backstory.storage import audit

from .conftest import Clock, World, csrf_of, make_token, sign_in
from .test_web_programme import CES, _checkin, _released

LISTS = ("/api/v1/worklist", "/api/v1/patients", "/api/v1/assessments")


def _api(world: World, token: str | None = None) -> TestClient:
    return TestClient(world.app, headers={"Authorization": f"Bearer {token or world.read_token}"})


def _programme(api: TestClient, path: str, pid: str) -> dict[str, Any] | None:
    items = api.get(path, params={"limit": 200}).json()["items"]
    mine = [i for i in items if i.get("patient_id", i.get("id")) == pid]
    assert mine, (path, items)
    found: dict[str, Any] | None = mine[0]["programme"]
    return found


def _first_patient(api: TestClient, path: str) -> str:
    first = api.get(path).json()["items"][0]
    return str(first.get("patient_id", first.get("id")))


def test_a_warning_sign_in_a_check_in_comes_first_in_the_apis_lists(
    world: World, clock: Clock
) -> None:
    c = sign_in(world.app, "clin-a")
    pid, gid, link = _released(world, c)
    api = _api(world)
    before = api.get("/api/v1/worklist").json()
    assert before["items"][0]["patient_id"] != pid  # nothing flagged yet: not first
    assert _first_patient(api, "/api/v1/assessments") != pid
    quiet = _programme(api, "/api/v1/patients", pid)
    assert quiet is not None and quiet["programme_id"] == gid
    assert (quiet["warning"], quiet["worse"], quiet["missed"], quiet["missed_flag"]) == (
        False,
        False,
        0,
        False,
    )
    _checkin(TestClient(world.app), link, {"red_flags.bladder_dysfunction": "yes"})
    for path in ("/api/v1/worklist", "/api/v1/assessments"):
        assert _first_patient(api, path) == pid, path  # above every other patient
    for path in LISTS:
        flags = _programme(api, path, pid)
        assert flags is not None and flags["warning"] is True, path
        assert len(flags["warning_checkins"]) == 1, path
    # reviewed: no longer flagged, no longer first
    page = c.get(f"/programmes/{gid}").text
    checkin_id = _programme(api, "/api/v1/patients", pid)
    assert checkin_id is not None
    c.post(f"/checkins/{checkin_id['warning_checkins'][0]}/review", data={"csrf": csrf_of(page)})
    after = _programme(api, "/api/v1/patients", pid)
    assert after is not None and after["warning"] is False and after["warning_checkins"] == []
    assert _first_patient(api, "/api/v1/assessments") != pid


def test_a_warning_sign_kept_from_an_unfinished_check_in_is_flagged(
    world: World, clock: Clock
) -> None:
    c = sign_in(world.app, "clin-a")
    pid, _gid, link = _released(world, c)
    patient = TestClient(world.app)
    form = patient.get(f"{link}/checkin")
    data = {"csrf": csrf_of(form.text), **dict.fromkeys(CES, "no"), "confidence": "6"}
    data["red_flags.saddle_anaesthesia"] = "not_sure"  # pain and the rest missing
    assert patient.post(f"{link}/checkin", data=data).status_code == 422
    api = _api(world)
    assert _first_patient(api, "/api/v1/worklist") == pid
    for path in LISTS:
        flags = _programme(api, path, pid)
        assert flags is not None and flags["warning"] is True, path


def test_a_worse_check_in_is_flagged_from_a_change_of_two(world: World, clock: Clock) -> None:
    c = sign_in(world.app, "clin-a")
    pid, _gid, link = _released(world, c)
    patient = TestClient(world.app)
    api = _api(world)
    _checkin(patient, link, pain=5)
    _checkin(patient, link, pain=6)  # +1: not a change that matters
    for path in LISTS:
        flags = _programme(api, path, pid)
        assert flags is not None and flags["worse"] is False, path
    _checkin(patient, link, pain=8)  # +2: worse
    for path in LISTS:
        flags = _programme(api, path, pid)
        assert flags is not None and flags["worse"] is True and flags["warning"] is False, path
    assert _first_patient(api, "/api/v1/worklist") != pid  # worse is flagged, not put first


def test_two_missed_check_ins_are_flagged_after_fourteen_days(world: World, clock: Clock) -> None:
    c = sign_in(world.app, "clin-a")
    pid, _gid, _link = _released(world, c)
    api = _api(world)
    clock.advance(days=13)
    for path in LISTS:
        flags = _programme(api, path, pid)
        assert flags is not None and (flags["missed"], flags["missed_flag"]) == (1, False), path
    clock.advance(days=1)
    for path in LISTS:
        flags = _programme(api, path, pid)
        assert flags is not None and (flags["missed"], flags["missed_flag"]) == (2, True), path


def test_another_clinic_sees_no_flags_and_every_read_is_audited(world: World, clock: Clock) -> None:
    c = sign_in(world.app, "clin-a")
    pid, _gid, link = _released(world, c)
    _checkin(TestClient(world.app), link, {"red_flags.bladder_dysfunction": "yes"})
    other = _api(world, make_token(world.db, world.admin_b, "read"))
    for path in LISTS:
        items = other.get(path, params={"limit": 200}).json()["items"]
        assert pid not in {i.get("patient_id", i.get("id")) for i in items}, path
        assert all(i.get("programme") is None for i in items), path
    assert other.get("/api/v1/worklist").json()["items"][0]["patient_id"] == world.patient_b
    api = _api(world)
    for path in LISTS:
        assert api.get(path).status_code == 200
    events = world.db.transaction(lambda conn: audit.events(conn))
    reads = [(e.action, e.record_id) for e in events if e.actor.startswith("token:")]
    clinic_a, clinic_b = world.admin_a.clinic_id, world.admin_b.clinic_id
    assert reads.count(("worklist.view", clinic_a)) == 2  # the worklist and the assessments
    assert reads.count(("patient.list", clinic_a)) == 1
    assert reads.count(("worklist.view", clinic_b)) == 3 and ("patient.list", clinic_b) in reads
    assert TestClient(world.app).get("/api/v1/worklist").status_code == 401
    for bad in ({"limit": 0}, {"limit": 201}, {"offset": -1}, {"q": "x" * 101}):
        assert api.get("/api/v1/worklist", params=bad).status_code == 422
