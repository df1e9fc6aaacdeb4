"""`backstory reminders send` against a real local SMTP server: once, audited, no storm.

Each follow-up of the clinic that is due and whose patient has a (sealed) reminder address
gets one e-mail with a fresh questionnaire link, and is then recorded as sent; a second run
sends nothing. A dry run sends and records nothing. A failed send records nothing and is
retried by the next run; three failures in a row stop the run.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from backstory.cli.main import cli
from backstory.storage import Database, Store, audit, reminders
from backstory.storage.erasure import erase_patient
from backstory.storage.followups import patient_followups, schedule_followups
from backstory.storage.tables import patient_contact, patient_link, reminder

from .reminder_setup import EXAMPLES, PUBLIC, seal_address

LINK = re.compile(re.escape(PUBLIC) + r"/p/\S+")


def _patient(url: str, reference: str, address: str | None, weeks: tuple[int, ...] = (2,)) -> str:
    """A patient assessed long ago with follow-ups due (and a reminder address, if given)."""
    with Database(url) as db:
        db.ensure_schema()
        store = Store(db, "alice")
        p = store.add_patient(reference)
        data = json.loads((EXAMPLES / "p07-high-risk-with-odi.json").read_text())
        data["assessed_on"] = "2026-01-05"
        saved = store.save_assessment(p.id, json.dumps(data))
        store.run(lambda conn, u: schedule_followups(conn, u, saved.episode.id, weeks))
        if address is not None:
            seal_address(store, p.id, address, saved.assessment.created_at)
        return p.id


def _state(url: str, pid: str) -> list[str]:
    with Database(url) as db:
        return [
            f.state(f.due_on) for f in db.transaction(lambda conn: patient_followups(conn, pid))
        ]


def _actions(url: str) -> list[audit.AuditEvent]:
    with Database(url) as db:
        return db.transaction(lambda conn: audit.events(conn))


def test_a_due_reminder_is_sent_once_with_the_link_and_nothing_else(
    run: Callable[..., Result], url: str, smtp_server: Any
) -> None:
    pid = _patient(url, "ref-secret-1", "someone@example.net")
    first = run()
    assert first.exit_code == 0, first.output
    assert "1 follow-up reminder(s) due" in first.output and "sent 1, failed 0" in first.output
    assert "someone" not in first.output and "ref-secret-1" not in first.output
    box = smtp_server[2]
    assert len(box.messages) == 1 and box.recipients == [["someone@example.net"]]
    text = box.text()
    assert LINK.search(text) and "follow-up questionnaire" in text
    assert str(box.messages[0]["Subject"]).startswith("Reminder from")
    for secret in ("ref-secret-1", pid, "risk", "pain"):
        assert secret not in text
    assert _state(url, pid) == ["sent"]
    again = run()
    assert again.exit_code == 0 and "0 follow-up reminder(s) due" in again.output
    assert len(box.messages) == 1
    events = _actions(url)
    actions = [e.action for e in events]
    assert actions.count("reminder.send") == 1 and actions.count("followup.send") == 1
    emailed = [e for e in events if e.action == "link.email"]
    assert len(emailed) == 1 and emailed[0].detail == {"kind": "followup", "reminder": True}
    assert "someone" not in json.dumps([e.to_dict() for e in events])


def test_the_emailed_link_opens_the_questionnaire(
    run: Callable[..., Result], url: str, smtp_server: Any
) -> None:
    _patient(url, "ref-1", "someone@example.net")
    assert run().exit_code == 0
    found = LINK.search(smtp_server[2].text())
    assert found is not None
    token = found.group(0).rsplit("/", 1)[1]
    from backstory.web.links import link_digest
    from backstory.web.security import Signer

    digest = link_digest(Signer("reminder-secret-" + "x" * 40), "patient-link", token, 3600)
    with Database(url) as db:
        row = db.transaction(
            lambda conn: conn.execute(
                select(patient_link).where(patient_link.c.digest == digest)
            ).one_or_none()
        )
    assert row is not None and row.purpose == "questionnaire" and row.used_at is None


def test_a_dry_run_sends_and_records_nothing(
    run: Callable[..., Result], url: str, smtp_server: Any
) -> None:
    pid = _patient(url, "ref-1", "someone@example.net")
    result = run("--dry-run")
    assert result.exit_code == 0
    assert "would send: follow-up" in result.output and "nothing was sent" in result.output
    assert smtp_server[2].messages == []
    assert _state(url, pid) == ["due"]
    assert not {"reminder.send", "link.create", "followup.send"} & {e.action for e in _actions(url)}


def test_patients_without_an_address_get_no_reminder(
    run: Callable[..., Result], url: str, smtp_server: Any
) -> None:
    pid = _patient(url, "ref-1", None)
    assert "0 follow-up reminder(s) due" in run().output
    assert smtp_server[2].messages == [] and _state(url, pid) == ["due"]


def test_a_failed_send_records_nothing_and_the_next_run_sends_it(
    run: Callable[..., Result], url: str, smtp_server: Any
) -> None:
    pid = _patient(url, "ref-1", "someone@example.net")
    box = smtp_server[2]
    box.refuse = True
    failed = run()
    assert failed.exit_code == 1 and "not sent" in failed.output and "someone" not in failed.output
    assert _state(url, pid) == ["due"]
    with Database(url) as db:
        assert db.transaction(lambda conn: conn.execute(select(reminder)).all()) == []
        links = db.transaction(lambda conn: conn.execute(select(patient_link)).all())
        assert links == []  # the link nobody received is gone
    assert [e.detail.get("reason") for e in _actions(url) if e.action == "reminder.fail"] == [
        "MailError"
    ]
    box.refuse = False
    assert run().exit_code == 0
    assert len(box.messages) == 1 and _state(url, pid) == ["sent"]


def test_three_failures_in_a_row_stop_the_run(
    run: Callable[..., Result], url: str, smtp_server: Any
) -> None:
    for n in range(5):
        _patient(url, f"ref-{n}", f"person{n}@example.net")
    smtp_server[2].refuse = True
    result = run()
    assert result.exit_code == 1
    assert "stopped after 3 failures in a row" in result.output
    assert result.output.count("not sent") == 3


def test_one_reminder_per_patient_per_run(
    run: Callable[..., Result], url: str, smtp_server: Any
) -> None:
    pid = _patient(url, "ref-1", "someone@example.net", weeks=(2, 6))
    first = run()
    assert "1 follow-up reminder(s) due; sending 1" in first.output
    assert len(smtp_server[2].messages) == 1 and _state(url, pid) == ["sent", "due"]
    run()
    assert len(smtp_server[2].messages) == 2 and _state(url, pid) == ["sent", "sent"]
    assert "0 follow-up reminder(s) due" in run().output


def test_the_limit_caps_a_run(run: Callable[..., Result], url: str, smtp_server: Any) -> None:
    for n in range(3):
        _patient(url, f"ref-{n}", f"person{n}@example.net")
    limited = run("--limit", "1")
    assert "3 follow-up reminder(s) due; sending 1" in limited.output
    assert len(smtp_server[2].messages) == 1
    assert "2 follow-up reminder(s) due; sending 2" in run().output
    assert len(smtp_server[2].messages) == 3


def test_an_unfinished_claim_is_reported_and_never_resent(
    run: Callable[..., Result], url: str, smtp_server: Any
) -> None:
    pid = _patient(url, "ref-1", "someone@example.net")
    with Database(url) as db:
        store = Store(db, "alice")
        now = dt.datetime.now(dt.UTC)
        due = store.run(lambda conn, u: reminders.due_reminders(conn, u, now.date()))
        store.run(
            lambda conn, u: reminders.claim(
                conn, u, due[0], "d" * 64, now, now + dt.timedelta(hours=1)
            )
        )
    result = run()
    assert "0 follow-up reminder(s) due" in result.output
    assert "1 reminder(s) from an earlier run were never confirmed" in result.output
    assert smtp_server[2].messages == [] and _state(url, pid) == ["due"]


def test_reminders_need_mail_and_the_key(run: Callable[..., Result], url: str) -> None:
    _patient(url, "ref-1", "someone@example.net")
    no_key = run(extra_env={"BACKSTORY_MAIL_KEY": None})
    assert no_key.exit_code == 2 and "BACKSTORY_MAIL_KEY" in no_key.stderr
    no_url = run(extra_env={"BACKSTORY_PUBLIC_URL": None})
    assert no_url.exit_code == 2 and "BACKSTORY_PUBLIC_URL" in no_url.stderr
    bad_tls = run(extra_env={"BACKSTORY_MAIL_TLS": "sometimes"})
    assert bad_tls.exit_code == 2 and "BACKSTORY_MAIL_TLS" in bad_tls.stderr


def test_erasing_the_patient_erases_the_address_and_reminders(
    run: Callable[..., Result], url: str
) -> None:
    pid = _patient(url, "ref-1", "someone@example.net")
    assert run().exit_code == 0
    with Database(url) as db:
        store = Store(db, "alice")
        store.run(lambda conn, u: erase_patient(conn, u, pid))
        assert db.transaction(lambda conn: conn.execute(select(patient_contact)).all()) == []
        assert db.transaction(lambda conn: conn.execute(select(reminder)).all()) == []


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"BACKSTORY_MAIL_TLS": "sometimes"}, "BACKSTORY_MAIL_TLS must be one of"),
        ({"BACKSTORY_MAIL_KEY": "short"}, "BACKSTORY_MAIL_KEY must be 32 random bytes"),
        ({"BACKSTORY_MAIL_FROM": ""}, "BACKSTORY_MAIL_FROM must be set"),
    ],
)
def test_serve_refuses_unusable_mail_settings_at_start(
    env: dict[str, str], url: str, extra: dict[str, str], words: str
) -> None:
    result = CliRunner().invoke(cli, ["serve", "--database", url], env={**env, **extra})
    assert result.exit_code == 2 and words in result.stderr
