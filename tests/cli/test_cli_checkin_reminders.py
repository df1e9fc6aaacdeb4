"""`backstory reminders send` and the weekly programme check-in, against a real SMTP server.

A patient following a released programme, with a (sealed) reminder address, whose check-in
fell due (every 7 days from the release or the last check-in, by ``programme.yaml``) gets
one e-mail per due week with a fresh programme link and nothing else; a second run sends
nothing. No reminder while a warning sign waits for a clinician, after a yes, without an
address, or before the week is up. A failed send records nothing and the next run sends it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import select

from backstory.storage import Database, Store, audit, checkin_reminders
from backstory.storage.database import utcnow
from backstory.storage.erasure import erase_patient
from backstory.storage.errors import Conflict
from backstory.storage.programmes import (
    create_link,
    link_by_digest,
    link_resolver,
    open_by_link,
    release,
    review_checkin,
    save_checkin,
    save_version,
    save_warning_report,
)
from backstory.storage.tables import checkin_reminder, programme_link

from .reminder_setup import EXAMPLES, PUBLIC, SECRET, seal_address

LINK = re.compile(re.escape(PUBLIC) + r"/programme/\S+")
CHOICES = {"exercises": ["pelvic_tilt", "knee_hug", "bridge"], "start_minutes": 10, "goals": []}
VALUES = {
    "pain": 5,
    "confidence": 6,
    "fear": 4,
    "activity_days": 5,
    "exercise_days": 4,
    "flare_ups": 0,
}
NO = {"red_flags.saddle_anaesthesia": "no", "red_flags.bladder_dysfunction": "no"}


class Following:
    """A patient whose programme was released some days ago, and the link they use."""

    def __init__(self, url: str, reference: str, address: str | None, days_ago: int) -> None:
        self.url = url
        self.released = utcnow() - dt.timedelta(days=days_ago)
        self.digest = hashlib.sha256(reference.encode()).hexdigest()
        with Database(url) as db:
            db.ensure_schema()
            store = Store(db, "alice")
            p = store.add_patient(reference)
            self.pid = p.id
            text = (EXAMPLES / "p07-high-risk-with-odi.json").read_text()
            aid = store.save_assessment(p.id, text).assessment.id
            at = self.released
            made = store.run(lambda conn, u: save_version(conn, u, aid, CHOICES, None, at))
            self.programme_id = made.id
            store.run(lambda conn, u: release(conn, u, made.id, at))
            link = store.run(
                lambda conn, u: create_link(
                    conn, u, p.id, self.digest, at, at + dt.timedelta(days=84)
                )
            )
            self.link_id = link.id
            if address is not None:
                seal_address(store, p.id, address, at)

    def _as_patient(self, db: Database, at: dt.datetime) -> Store:
        return Store(db, f"link:{self.link_id}", resolve=link_resolver(self.digest, at))

    def check_in(self, days_ago: int, warnings: dict[str, str] = NO) -> str:
        at = utcnow() - dt.timedelta(days=days_ago)
        with Database(self.url) as db:
            made = self._as_patient(db, at).run(
                lambda conn, u: save_checkin(conn, u, VALUES, warnings, at)
            )
        return made.id

    def report_warning(self, warnings: dict[str, str]) -> str:
        at = utcnow()
        with Database(self.url) as db:
            made = self._as_patient(db, at).run(
                lambda conn, u: save_warning_report(conn, u, warnings, at)
            )
        return made.id

    def review(self, checkin_id: str) -> None:
        with Database(self.url) as db:
            Store(db, "alice").run(lambda conn, u: review_checkin(conn, u, checkin_id, utcnow()))


def _claims(url: str) -> list[Any]:
    with Database(url) as db:
        return db.transaction(lambda conn: conn.execute(select(checkin_reminder)).all())


def _actions(url: str) -> list[audit.AuditEvent]:
    with Database(url) as db:
        return db.transaction(lambda conn: audit.events(conn))


def test_a_due_check_in_is_reminded_once_with_the_programme_link_and_nothing_else(
    run: Callable[..., Result], url: str, smtp_server: Any
) -> None:
    f = Following(url, "ref-secret-1", "someone@example.net", days_ago=7)
    first = run()
    assert first.exit_code == 0, first.output
    assert "1 check-in reminder(s) due; sending 1" in first.output
    assert f"check-in of programme {f.programme_id}: sent" in first.output
    assert "sent 1, failed 0" in first.output
    assert "someone" not in first.output and "ref-secret-1" not in first.output
    box = smtp_server[2]
    assert len(box.messages) == 1 and box.recipients == [["someone@example.net"]]
    text = box.text()
    assert "this week's check-in for your programme" in text
    assert str(box.messages[0]["Subject"]).startswith("Reminder from")
    for secret in ("ref-secret-1", f.pid, f.programme_id, "risk", "pain", "bladder"):
        assert secret not in text
    assert len(LINK.findall(text)) == 1
    (claim,) = _claims(url)
    assert claim.sent_at is not None and claim.due_on == f.released.date() + dt.timedelta(days=7)
    again = run()
    assert again.exit_code == 0 and "0 check-in reminder(s) due" in again.output
    assert len(box.messages) == 1
    events = _actions(url)
    sends = [e for e in events if e.action == "reminder.send"]
    assert len(sends) == 1 and sends[0].record_type == "programme"
    emailed = [e for e in events if e.action == "link.email"]
    assert len(emailed) == 1 and emailed[0].detail == {"kind": "checkin", "reminder": True}
    assert "someone" not in json.dumps([e.to_dict() for e in events])


def test_the_emailed_link_opens_the_programme_and_the_old_link_still_works(
    run: Callable[..., Result], url: str, smtp_server: Any
) -> None:
    f = Following(url, "ref-1", "someone@example.net", days_ago=7)
    assert run().exit_code == 0
    found = LINK.search(smtp_server[2].text())
    assert found is not None
    token = found.group(0).rsplit("/", 1)[1]
    from backstory.web.links import link_digest
    from backstory.web.security import Signer

    digest = link_digest(Signer(SECRET), "programme-link", token, 3600)
    assert digest is not None
    now = utcnow()
    with Database(url) as db:
        link = db.transaction(lambda conn: link_by_digest(conn, digest))
        assert link is not None and link.patient_id == f.pid and link.usable(now)
        assert link.expires_at - now > dt.timedelta(days=83)  # as the web makes them: 84 days
        assert link.expires_at - now <= dt.timedelta(days=84)  # and not longer
        patient = Store(db, f"link:{link.id}", resolve=link_resolver(digest, now))
        shown, _checkins, _source = patient.run(open_by_link)
        assert shown.id == f.programme_id
        old = db.transaction(lambda conn: link_by_digest(conn, f.digest))
        assert old is not None and old.usable(now)  # nothing the patient uses is revoked


@pytest.mark.parametrize(("days_ago", "due"), [(6, 0), (7, 1)])
def test_due_a_week_after_the_release_not_before(
    run: Callable[..., Result], url: str, smtp_server: Any, days_ago: int, due: int
) -> None:
    Following(url, "ref-1", "someone@example.net", days_ago=days_ago)
    assert f"{due} check-in reminder(s) due" in run().output
    assert len(smtp_server[2].messages) == due


@pytest.mark.parametrize(("checked_in_days_ago", "due"), [(6, 0), (7, 1)])
def test_due_a_week_after_the_last_check_in_not_before(
    run: Callable[..., Result], url: str, smtp_server: Any, checked_in_days_ago: int, due: int
) -> None:
    f = Following(url, "ref-1", "someone@example.net", days_ago=10)
    f.check_in(checked_in_days_ago)
    result = run("--dry-run")
    assert f"{due} check-in reminder(s) due" in result.output
    assert result.output.count("(week 2, due") == due  # the week after the one checked in
    assert run().exit_code == 0
    assert len(smtp_server[2].messages) == due


def test_one_reminder_per_due_week(run: Callable[..., Result], url: str, smtp_server: Any) -> None:
    f = Following(url, "ref-1", "someone@example.net", days_ago=14)
    with Database(url) as db:  # last week's reminder went already
        db.transaction(
            lambda conn: conn.execute(
                checkin_reminder.insert().values(
                    programme_id=f.programme_id,
                    due_on=f.released.date() + dt.timedelta(days=7),
                    patient_id=f.pid,
                    link_id=None,
                    claimed_at=f.released,
                    sent_at=f.released,
                )
            )
        )
    assert "1 check-in reminder(s) due" in run().output  # this week's is new
    assert "0 check-in reminder(s) due" in run().output
    assert len(smtp_server[2].messages) == 1
    assert len(_claims(url)) == 2


@pytest.mark.parametrize("answer", ["yes", "not_sure"])
def test_a_paused_programme_gets_no_reminder_until_reviewed(
    run: Callable[..., Result], url: str, smtp_server: Any, answer: str
) -> None:
    f = Following(url, "ref-1", "someone@example.net", days_ago=7)
    kept = f.report_warning({**NO, "red_flags.bladder_dysfunction": answer})
    assert "0 check-in reminder(s) due" in run().output
    assert smtp_server[2].messages == [] and _claims(url) == []
    f.review(kept)
    assert "1 check-in reminder(s) due" in run().output
    assert len(smtp_server[2].messages) == 1


def test_a_check_in_with_a_warning_sign_pauses_and_a_yes_stops_the_reminders(
    run: Callable[..., Result], url: str, smtp_server: Any
) -> None:
    unsure = Following(url, "ref-1", "one@example.net", days_ago=20)
    first = unsure.check_in(8, {**NO, "red_flags.saddle_anaesthesia": "not_sure"})
    yes = Following(url, "ref-2", "two@example.net", days_ago=20)
    second = yes.check_in(8, {**NO, "red_flags.saddle_anaesthesia": "yes"})
    assert "0 check-in reminder(s) due" in run().output
    unsure.review(first)
    yes.review(second)
    # reviewed: a "not sure" lets the plan go on; a yes stopped it (a new version restarts it)
    assert "1 check-in reminder(s) due" in run().output
    assert smtp_server[2].recipients == [["one@example.net"]]


def test_no_address_no_reminder(run: Callable[..., Result], url: str, smtp_server: Any) -> None:
    Following(url, "ref-1", None, days_ago=7)
    assert "0 check-in reminder(s) due" in run().output
    assert smtp_server[2].messages == [] and _claims(url) == []


def test_a_failed_send_records_nothing_and_the_next_run_sends_it(
    run: Callable[..., Result], url: str, smtp_server: Any
) -> None:
    f = Following(url, "ref-1", "someone@example.net", days_ago=7)
    box = smtp_server[2]
    box.refuse = True
    failed = run()
    assert failed.exit_code == 1 and "not sent" in failed.output and "someone" not in failed.output
    assert _claims(url) == []
    with Database(url) as db:  # the link nobody received is gone; the patient's own stays
        links = db.transaction(lambda conn: conn.execute(select(programme_link.c.id)).all())
    assert [r.id for r in links] == [f.link_id]
    fails = [e for e in _actions(url) if e.action == "reminder.fail"]
    assert [(e.record_type, e.detail.get("reason")) for e in fails] == [("programme", "MailError")]
    box.refuse = False
    again = run()
    assert again.exit_code == 0 and "sent 1, failed 0" in again.output
    assert len(box.messages) == 1 and len(_claims(url)) == 1


def test_a_dry_run_lists_check_ins_and_sends_and_records_nothing(
    run: Callable[..., Result], url: str, smtp_server: Any
) -> None:
    f = Following(url, "ref-1", "someone@example.net", days_ago=7)
    result = run("--dry-run")
    assert result.exit_code == 0
    due = f.released.date() + dt.timedelta(days=7)
    assert f"would send: check-in of programme {f.programme_id} (week 1, due {due})" in (
        result.output
    )
    assert "nothing was sent" in result.output
    assert smtp_server[2].messages == [] and _claims(url) == []
    actions = [e.action for e in _actions(url)]
    assert "reminder.send" not in actions and "link.email" not in actions
    assert actions.count("programme.link") == 1  # the patient's own, made before


def test_the_export_lists_and_erasure_erases_the_check_in_reminders(
    run: Callable[..., Result], url: str
) -> None:
    f = Following(url, "ref-1", "someone@example.net", days_ago=7)
    assert run().exit_code == 0 and len(_claims(url)) == 1
    with Database(url) as db:
        exported = Store(db, "alice").export_patient(f.pid)
        (kept,) = exported["checkin_reminders"]
        assert kept["programme_id"] == f.programme_id and kept["sent_at"] is not None
        assert "someone" not in json.dumps(exported)
        Store(db, "alice").run(lambda conn, u: erase_patient(conn, u, f.pid))
    assert _claims(url) == []


def test_a_warning_sent_after_listing_stops_the_claim(url: str) -> None:
    f = Following(url, "ref-1", "someone@example.net", days_ago=7)
    now = utcnow()
    with Database(url) as db:
        store = Store(db, "alice")
        (due,) = store.run(lambda conn, u: checkin_reminders.due_checkins(conn, u, now.date()))
    f.report_warning({**NO, "red_flags.bladder_dysfunction": "yes"})
    with Database(url) as db:
        store = Store(db, "alice")
        with pytest.raises(Conflict, match="no longer due"):
            store.run(
                lambda conn, u: checkin_reminders.claim(
                    conn, u, due, "e" * 64, now, now + dt.timedelta(days=1)
                )
            )
    assert _claims(url) == []


def test_an_unfinished_claim_is_reported_and_never_resent(
    run: Callable[..., Result], url: str, smtp_server: Any
) -> None:
    Following(url, "ref-1", "someone@example.net", days_ago=7)
    now = utcnow()
    with Database(url) as db:
        store = Store(db, "alice")
        (due,) = store.run(lambda conn, u: checkin_reminders.due_checkins(conn, u, now.date()))
        store.run(
            lambda conn, u: checkin_reminders.claim(
                conn, u, due, "e" * 64, now, now + dt.timedelta(days=1)
            )
        )
    result = run()
    assert "0 check-in reminder(s) due" in result.output
    assert "1 reminder(s) from an earlier run were never confirmed" in result.output
    assert smtp_server[2].messages == []
