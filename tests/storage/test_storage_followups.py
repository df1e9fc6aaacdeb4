"""Episodes end with an outcome, and follow-up questionnaires fall due (issue 14 item 7).

Closing records how an episode ended and its last scores against its first; follow-ups are
due some weeks after the episode's first assessment until a link is made for one or the
episode closes; ``due_followups(conn, clinic, today)`` is what a worklist calls.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from backstory.storage import Database, Store, audit
from backstory.storage.errors import Conflict, InvalidRequest, NotFound
from backstory.storage.followups import (
    DEFAULT_WEEKS,
    close_with_outcome,
    due_followups,
    list_due,
    load_followup,
    mark_sent,
    parse_weeks,
    patient_followups,
    patient_outcomes,
    schedule_followups,
)

Text = Callable[..., str]
JAN5 = dt.date(2026, 1, 5)


def _episode(store: Store, text: Text, ref: str = "r1") -> tuple[str, str]:
    p = store.add_patient(ref)
    saved = store.save_assessment(p.id, text(assessed_on=JAN5.isoformat(), back=8))
    return p.id, saved.episode.id


def test_default_weeks_and_their_parsing() -> None:
    assert DEFAULT_WEEKS == (2, 6, 12)
    assert parse_weeks("12, 2;6, 6") == (2, 6, 12)
    assert parse_weeks("1") == (1,) and parse_weeks("104") == (104,)  # the bounds themselves
    for bad in ("0", "105", "", "two", "2,-6", "2.5"):
        with pytest.raises(InvalidRequest):
            parse_weeks(bad)


def test_followups_fall_due_from_the_first_assessment(
    db: Database, store: Store, assessment_text: Text
) -> None:
    pid, eid = _episode(store, assessment_text)
    made = store.run(lambda conn, user: schedule_followups(conn, user, eid))
    assert [(f.weeks, f.due_on) for f in made] == [
        (2, dt.date(2026, 1, 19)),
        (6, dt.date(2026, 2, 16)),
        (12, dt.date(2026, 3, 30)),
    ]
    # scheduling again changes nothing
    assert store.run(lambda conn, user: schedule_followups(conn, user, eid)) == []
    clinic = store.whoami().clinic_id
    due = db.transaction(lambda conn: due_followups(conn, clinic, dt.date(2026, 1, 18)))
    assert due == []  # the day before
    due = db.transaction(lambda conn: due_followups(conn, clinic, dt.date(2026, 1, 19)))
    assert [(d.followup.weeks, d.patient_reference, d.days_overdue) for d in due] == [(2, "r1", 0)]
    due = db.transaction(lambda conn: due_followups(conn, clinic, dt.date(2026, 2, 20)))
    assert [(d.followup.weeks, d.days_overdue) for d in due] == [(2, 32), (6, 4)]
    # another clinic's list is its own
    store.add_user("bob", "clinician", clinic="north")
    bob = Store(db, "bob")
    assert bob.run(lambda conn, user: list_due(conn, user, dt.date(2026, 2, 20))) == []
    with pytest.raises(NotFound):
        bob.run(lambda conn, user: load_followup(conn, user, made[0].id))
    with pytest.raises(NotFound):
        bob.run(lambda conn, user: schedule_followups(conn, user, eid))
    events = db.transaction(lambda conn: audit.events(conn, pid))
    assert [e.action for e in events].count("followup.schedule") == 3


def test_a_sent_followup_is_no_longer_due(
    db: Database, store: Store, assessment_text: Text
) -> None:
    _pid, eid = _episode(store, assessment_text)
    first = store.run(lambda conn, user: schedule_followups(conn, user, eid, (2,)))[0]
    clinic = store.whoami().clinic_id
    from backstory.storage import sharing

    def send(conn, user):  # type: ignore[no-untyped-def]
        link = sharing.create_link(
            conn,
            user,
            first.patient_id,
            "questionnaire",
            "d" * 64,
            dt.datetime(2026, 1, 20, tzinfo=dt.UTC),
            dt.datetime(2026, 1, 23, tzinfo=dt.UTC),
        )
        return mark_sent(conn, user, load_followup(conn, user, first.id), link.id)

    sent = store.run(send)
    assert sent.state(dt.date(2026, 2, 1)) == "sent"
    assert db.transaction(lambda conn: due_followups(conn, clinic, dt.date(2026, 2, 1))) == []
    with pytest.raises(Conflict):
        store.run(send)


def test_closing_records_the_outcome_and_cancels_what_is_left(
    db: Database, store: Store, assessment_text: Text
) -> None:
    pid, eid = _episode(store, assessment_text)
    store.save_assessment(pid, assessment_text(assessed_on="2026-02-16", back=2))
    store.run(lambda conn, user: schedule_followups(conn, user, eid))
    on = dt.date(2026, 2, 20)
    closed, outcome = store.run(
        lambda conn, user: close_with_outcome(conn, user, eid, "discharged", "goals met", on)
    )
    assert closed.closed_on == on and outcome.kind == "discharged"
    s = outcome.summary
    assert (s["visits"], s["first_on"], s["last_on"]) == (2, "2026-01-05", "2026-02-16")
    back = next(m for m in s["measures"] if m["measure"] == "back_pain")
    # 8 to 2 on a 0-10 scale: far beyond the important change; improved
    assert (back["first"], back["last"], back["change"], back["status"]) == (
        "8",
        "2",
        "-6",
        "improved",
    )
    stored = db.transaction(lambda conn: patient_outcomes(conn, pid))
    assert stored[eid].summary == s and stored[eid].note == "goals met"
    states = [f.state(on) for f in db.transaction(lambda conn: patient_followups(conn, pid))]
    assert states == ["cancelled", "cancelled", "cancelled"]
    clinic = store.whoami().clinic_id
    assert db.transaction(lambda conn: due_followups(conn, clinic, dt.date(2026, 6, 1))) == []
    actions = [e.action for e in db.transaction(lambda conn: audit.events(conn, pid))]
    assert "episode.outcome" in actions and actions.count("followup.cancel") == 3
    with pytest.raises(Conflict):
        store.run(lambda conn, user: close_with_outcome(conn, user, eid, "other", None, on))
    with pytest.raises(Conflict):
        store.run(lambda conn, user: schedule_followups(conn, user, eid))


def test_closing_checks_its_input(db: Database, store: Store, assessment_text: Text) -> None:
    _pid, eid = _episode(store, assessment_text)
    for kind, note, on in (
        ("cured", None, JAN5),
        ("other", "x" * 501, JAN5),
        ("other", "two\nlines", JAN5),
        ("other", None, dt.date(2026, 1, 4)),
    ):
        with pytest.raises(InvalidRequest):
            store.run(
                lambda conn, user, k=kind, n=note, d=on: close_with_outcome(
                    conn, user, eid, k, n, d
                )
            )
    ok = store.run(lambda conn, user: close_with_outcome(conn, user, eid, "other", "x" * 500, JAN5))
    assert ok[1].summary["measures"][0]["last"] is None  # one visit: nothing to compare yet


def test_erasure_and_export_include_outcomes_and_followups(
    db: Database, store: Store, assessment_text: Text
) -> None:
    pid, eid = _episode(store, assessment_text)
    store.run(lambda conn, user: schedule_followups(conn, user, eid, (2,)))
    store.run(lambda conn, user: close_with_outcome(conn, user, eid, "referred", None, JAN5))
    data = store.export_patient(pid)
    assert data["episode_outcomes"][0]["kind"] == "referred"
    assert data["followups"][0]["cancelled_at"] is not None
    store.erase_patient(pid)
    assert db.transaction(lambda conn: patient_followups(conn, pid)) == []
    assert db.transaction(lambda conn: patient_outcomes(conn, pid)) == {}
