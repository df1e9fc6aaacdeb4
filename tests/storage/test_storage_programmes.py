"""The programme between visits, stored: versions, release, links, check-ins (issue 15).

Every read and write is audited; another clinic sees nothing; a revoked or expired link
acts as nobody; erasure and export include every table, with the warning signs kept from an
unfinished check-in (HZ-100).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from backstory.storage import Database, Store, audit
from backstory.storage.errors import Conflict, InvalidRequest, NotAllowed, NotFound
from backstory.storage.programmes import (
    clinic_followed,
    create_link,
    current_of,
    link_resolver,
    open_by_link,
    release,
    review_checkin,
    revoke_link,
    save_checkin,
    save_version,
    save_warning_report,
    unreviewed_warnings,
    versions_of,
    view_programme,
)

Text = Callable[..., str]
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
CHOICES = {"exercises": ["pelvic_tilt", "knee_hug", "bridge"], "start_minutes": 10, "goals": []}
VALUES = {
    "pain": 5,
    "confidence": 6,
    "fear": 4,
    "activity_days": 5,
    "exercise_days": 4,
    "flare_ups": 0,
}
NO_WARNINGS = {"red_flags.saddle_anaesthesia": "no", "red_flags.bladder_dysfunction": "no"}


def _released(store: Store, text: Text) -> tuple[str, str]:
    p = store.add_patient("prog-1")
    saved = store.save_assessment(p.id, text())
    aid = saved.assessment.id
    first = store.run(lambda conn, user: save_version(conn, user, aid, CHOICES, None, NOW))
    store.run(lambda conn, user: release(conn, user, first.id, NOW))
    return p.id, first.id


def _link(store: Store, pid: str, digest: str = "d" * 64, days: int = 84) -> str:
    made = store.run(
        lambda conn, user: create_link(conn, user, pid, digest, NOW, NOW + dt.timedelta(days=days))
    )
    return made.id


def test_versions_release_and_the_current_one(
    db: Database, store: Store, assessment_text: Text
) -> None:
    p = store.add_patient("prog-1")
    aid = store.save_assessment(p.id, assessment_text()).assessment.id
    v1 = store.run(lambda conn, user: save_version(conn, user, aid, CHOICES, None, NOW))
    assert db.transaction(lambda conn: current_of(conn, p.id)) is None  # a draft is not given
    with pytest.raises(Conflict):  # a link needs a released programme
        _link(store, p.id)
    edit = {**CHOICES, "start_minutes": 12}
    v2 = store.run(
        lambda conn, user: save_version(conn, user, aid, edit, None, NOW, supersedes_id=v1.id)
    )
    assert (v1.version, v2.version, v2.supersedes_id) == (1, 2, v1.id)
    with pytest.raises(Conflict, match="newer version"):
        store.run(lambda conn, user: release(conn, user, v1.id, NOW))
    store.run(lambda conn, user: release(conn, user, v2.id, NOW))
    with pytest.raises(Conflict, match="already"):
        store.run(lambda conn, user: release(conn, user, v2.id, NOW))
    current = db.transaction(lambda conn: current_of(conn, p.id))
    assert current is not None and current.id == v2.id and current.choices["start_minutes"] == 12
    assert [v.version for v in db.transaction(lambda conn: versions_of(conn, p.id))] == [1, 2]
    actions = [e.action for e in db.transaction(lambda conn: audit.events(conn, p.id))]
    assert actions.count("programme.create") == 2 and actions.count("programme.release") == 1
    assert "programme.override" not in actions


def test_an_override_reason_is_kept_and_audited(
    db: Database, store: Store, assessment_text: Text
) -> None:
    p = store.add_patient("prog-2")
    aid = store.save_assessment(p.id, assessment_text()).assessment.id
    made = store.run(
        lambda conn, user: save_version(conn, user, aid, CHOICES, " Seen today, CES excluded ", NOW)
    )
    assert made.override_reason == "Seen today, CES excluded"
    actions = [e.action for e in db.transaction(lambda conn: audit.events(conn, p.id))]
    assert "programme.override" in actions
    with pytest.raises(InvalidRequest):
        store.run(lambda conn, user: save_version(conn, user, aid, CHOICES, "two\nlines", NOW))


def test_another_clinic_sees_nothing(db: Database, store: Store, assessment_text: Text) -> None:
    pid, gid = _released(store, assessment_text)
    lid = _link(store, pid)
    store.add_user("bob", "clinician", clinic="north")
    bob = Store(db, "bob")
    with pytest.raises(NotFound):
        bob.run(lambda conn, user: view_programme(conn, user, gid))
    with pytest.raises(NotFound):
        bob.run(lambda conn, user: release(conn, user, gid, NOW))
    with pytest.raises(NotFound):
        bob.run(lambda conn, user: revoke_link(conn, user, lid, NOW))
    with pytest.raises(NotFound):
        bob.run(lambda conn, user: create_link(conn, user, pid, "e" * 64, NOW, NOW))
    north = bob.whoami().clinic_id
    assert db.transaction(lambda conn: clinic_followed(conn, north)) == []


def test_check_ins_through_the_link_are_audited_as_the_link(
    db: Database, store: Store, assessment_text: Text
) -> None:
    pid, gid = _released(store, assessment_text)
    lid = _link(store, pid)
    patient = Store(db, f"link:{lid}", resolve=link_resolver("d" * 64, NOW))
    shown, checkins, source = patient.run(open_by_link)
    assert shown.id == gid and checkins == [] and source
    first = patient.run(lambda conn, user: save_checkin(conn, user, VALUES, NO_WARNINGS, NOW))
    warn = {**NO_WARNINGS, "red_flags.bladder_dysfunction": "not_sure"}
    second = patient.run(
        lambda conn, user: save_checkin(conn, user, {**VALUES, "pain": 8}, warn, NOW)
    )
    assert (first.week, second.week) == (1, 2)
    assert not first.needs_review and second.needs_review
    assert second.answers().warning_signs["red_flags.bladder_dysfunction"] is None  # never "no"
    clinic = store.whoami().clinic_id
    assert [c.id for c in db.transaction(lambda conn: unreviewed_warnings(conn, clinic))] == [
        second.id
    ]
    followed = db.transaction(lambda conn: clinic_followed(conn, clinic))
    assert [len(f.checkins) for f in followed] == [2]
    store.run(lambda conn, user: review_checkin(conn, user, second.id, NOW))
    assert db.transaction(lambda conn: unreviewed_warnings(conn, clinic)) == []
    events = db.transaction(lambda conn: audit.events(conn, pid))
    by_link = [e.action for e in events if e.actor == f"link:{lid}"]
    assert by_link == ["programme.view", "checkin.create", "checkin.create"]
    assert [e.detail.get("warning") for e in events if e.action == "checkin.create"] == [
        False,
        True,
    ]
    assert "checkin.review" in [e.action for e in events]
    with pytest.raises(InvalidRequest):
        patient.run(lambda conn, user: save_checkin(conn, user, VALUES, {"x": "maybe"}, NOW))
    with pytest.raises(InvalidRequest):  # a question the check-in does not ask
        patient.run(
            lambda conn, user: save_checkin(conn, user, VALUES, {"red_flags.fever": "no"}, NOW)
        )
    with pytest.raises(ValueError):
        patient.run(lambda conn, user: save_checkin(conn, user, {**VALUES, "pain": 11}, {}, NOW))


@pytest.mark.parametrize("how", ["revoked", "expired"])
def test_a_revoked_or_expired_link_acts_as_nobody(
    db: Database, store: Store, assessment_text: Text, how: str
) -> None:
    pid, _gid = _released(store, assessment_text)
    lid = _link(store, pid, days=7)
    at = NOW + dt.timedelta(days=7) if how == "expired" else NOW
    if how == "revoked":
        store.run(lambda conn, user: revoke_link(conn, user, lid, NOW))
    patient = Store(db, f"link:{lid}", resolve=link_resolver("d" * 64, at))
    with pytest.raises(NotAllowed):
        patient.run(open_by_link)
    just_before = Store(
        db, f"link:{lid}", resolve=link_resolver("d" * 64, at - dt.timedelta(seconds=1))
    )
    if how == "expired":  # the boundary: one second before expiry it still works
        just_before.run(open_by_link)


def test_erasure_and_export_include_the_programme(
    db: Database, store: Store, assessment_text: Text
) -> None:
    pid, gid = _released(store, assessment_text)
    lid = _link(store, pid)
    patient = Store(db, f"link:{lid}", resolve=link_resolver("d" * 64, NOW))
    patient.run(lambda conn, user: save_checkin(conn, user, VALUES, NO_WARNINGS, NOW))
    data = store.export_patient(pid)
    assert data["programmes"][0]["id"] == gid
    assert data["programmes"][0]["checkins"][0]["pain"] == 5
    assert data["programme_links"][0]["id"] == lid
    assert "digest" not in data["programme_links"][0]
    store.erase_patient(pid)
    assert db.transaction(lambda conn: versions_of(conn, pid)) == []
    clinic = store.whoami().clinic_id
    assert db.transaction(lambda conn: clinic_followed(conn, clinic)) == []


def test_the_worklist_keeps_a_flagged_patient_with_nothing_else_waiting(
    db: Database, store: Store, assessment_text: Text
) -> None:
    from backstory.storage import worklist

    pid, _gid = _released(store, assessment_text)
    lid = _link(store, pid)
    aid = store.patient_record(pid).episodes[0].assessments[0].assessment.id
    store.run(lambda conn, user: worklist.review(conn, user, aid, NOW))
    store.close_episode(store.patient_record(pid).episodes[0].episode.id)
    today = NOW.date()

    def listed() -> list[worklist.WorkItem]:
        return store.run(lambda conn, user: worklist.worklist(conn, user, today=today)).items

    assert listed() == []  # reviewed, closed, nothing flagged
    patient = Store(db, f"link:{lid}", resolve=link_resolver("d" * 64, NOW))
    patient.run(lambda conn, user: save_checkin(conn, user, VALUES, NO_WARNINGS, NOW))
    worse = {**VALUES, "fear": VALUES["fear"] + 2}
    patient.run(lambda conn, user: save_checkin(conn, user, worse, NO_WARNINGS, NOW))
    items = listed()
    assert [i.patient_id for i in items] == [pid]
    flags = items[0].programme
    assert flags is not None and flags.worse and not flags.warning and not flags.missed_flag


@pytest.mark.parametrize(("extra", "flagged"), [(-1, True), (0, False)])
def test_missed_check_ins_stop_after_the_last_week(
    db: Database, store: Store, assessment_text: Text, extra: int, flagged: bool
) -> None:
    from backstory.programme import load_programme_knowledge
    from backstory.storage import worklist

    pid, _gid = _released(store, assessment_text)
    lid = _link(store, pid)
    patient = Store(db, f"link:{lid}", resolve=link_resolver("d" * 64, NOW))
    for _ in range(len(load_programme_knowledge().education) + extra):
        patient.run(lambda conn, user: save_checkin(conn, user, VALUES, NO_WARNINGS, NOW))
    later = (NOW + dt.timedelta(days=14)).date()
    clinic = store.whoami().clinic_id
    flags = db.transaction(lambda conn: worklist.programme_flags(conn, clinic, later))[pid]
    assert flags.missed == 2 and flags.missed_flag is flagged


@pytest.mark.parametrize(("answer", "kept"), [("yes", True), ("not_sure", True), ("no", False)])
def test_a_warning_sign_in_an_unfinished_check_in_is_kept_and_flagged_until_reviewed(
    db: Database, store: Store, assessment_text: Text, answer: str, kept: bool
) -> None:
    from backstory.storage import worklist

    pid, gid = _released(store, assessment_text)
    lid = _link(store, pid)
    patient = Store(db, f"link:{lid}", resolve=link_resolver("d" * 64, NOW))
    warn = {**NO_WARNINGS, "red_flags.saddle_anaesthesia": answer}
    clinic = store.whoami().clinic_id
    if not kept:  # only a warning sign is kept from an unfinished check-in
        with pytest.raises(InvalidRequest):
            patient.run(lambda conn, user: save_warning_report(conn, user, warn, NOW))
        assert db.transaction(lambda conn: unreviewed_warnings(conn, clinic)) == []
        return
    made = patient.run(lambda conn, user: save_warning_report(conn, user, warn, NOW))
    assert made.incomplete and made.needs_review
    again = patient.run(lambda conn, user: save_warning_report(conn, user, warn, NOW))
    assert again.id == made.id  # the same answers sent again: still one flag
    assert made.warning_fields == ("red_flags.saddle_anaesthesia",)
    # in the banner, and first on the worklist, but never a week's check-in
    assert [c.id for c in db.transaction(lambda conn: unreviewed_warnings(conn, clinic))] == [
        made.id
    ]
    followed = db.transaction(lambda conn: clinic_followed(conn, clinic))
    assert [(len(f.checkins), [r.id for r in f.reports]) for f in followed] == [(0, [made.id])]
    items = store.run(lambda conn, user: worklist.worklist(conn, user, today=NOW.date())).items
    flags = items[0].programme
    assert flags is not None and flags.warning_checkins == (made.id,)
    view = store.run(lambda conn, user: view_programme(conn, user, gid))
    assert view.checkins == [] and [r.id for r in view.reports] == [made.id]
    # the next complete check-in is still week 1
    first = patient.run(lambda conn, user: save_checkin(conn, user, VALUES, NO_WARNINGS, NOW))
    assert first.week == 1
    done = store.run(lambda conn, user: review_checkin(conn, user, made.id, NOW))
    assert done.reviewed_by == store.whoami().username and not done.needs_review
    assert db.transaction(lambda conn: unreviewed_warnings(conn, clinic)) == []
    items = store.run(lambda conn, user: worklist.worklist(conn, user, today=NOW.date())).items
    assert all(i.programme is None or not i.programme.warning for i in items)
    events = db.transaction(lambda conn: audit.events(conn, pid))
    assert [e.action for e in events if e.actor == f"link:{lid}"] == [
        "checkin.warning",
        "checkin.warning",
        "checkin.create",
    ]
    assert [e.record_id for e in events if e.action == "checkin.review"] == [made.id]
    # export and erasure include it
    data = store.export_patient(pid)
    kept_rows = data["programmes"][0]["unfinished_checkin_warnings"]
    assert [(r["id"], r["warnings"]["red_flags.saddle_anaesthesia"]) for r in kept_rows] == [
        (made.id, answer)
    ]
    store.erase_patient(pid)
    assert db.transaction(lambda conn: clinic_followed(conn, clinic)) == []


def test_another_clinic_cannot_review_a_kept_warning_sign(
    db: Database, store: Store, assessment_text: Text
) -> None:
    pid, _gid = _released(store, assessment_text)
    lid = _link(store, pid)
    patient = Store(db, f"link:{lid}", resolve=link_resolver("d" * 64, NOW))
    warn = {**NO_WARNINGS, "red_flags.bladder_dysfunction": "yes"}
    made = patient.run(lambda conn, user: save_warning_report(conn, user, warn, NOW))
    store.add_user("bob", "clinician", clinic="north")
    bob = Store(db, "bob")
    other = {**warn, "red_flags.saddle_anaesthesia": "not_sure"}
    second = patient.run(lambda conn, user: save_warning_report(conn, user, other, NOW))
    assert second.id != made.id  # different answers: a flag of their own
    with pytest.raises(NotFound):
        bob.run(lambda conn, user: review_checkin(conn, user, made.id, NOW))
    north = bob.whoami().clinic_id
    assert db.transaction(lambda conn: unreviewed_warnings(conn, north)) == []
    clinic = store.whoami().clinic_id
    assert made.id in [c.id for c in db.transaction(lambda conn: unreviewed_warnings(conn, clinic))]
