"""`backstory reminders send [--dry-run]`: e-mail the follow-up questionnaires and weekly
programme check-ins that are due.

Meant for cron (for example once a day). For each follow-up of the acting user's clinic that
is due and whose patient has a reminder address, it makes the questionnaire link, e-mails it
(the clinic's name, what it is for, its expiry date and the link; nothing about the patient)
and records the follow-up as sent - at most once per follow-up and one per patient per run,
whatever else runs at the same time (``backstory.storage.reminders``). A failed send records
nothing and is tried again by the next run; after three failures in a row the run stops
(the mail server is down: do not hammer it). Output names follow-up ids, never addresses.

It then does the same for weekly check-ins (``backstory.storage.checkin_reminders``): each
patient following a released programme, with a reminder address, whose check-in is due by
the programme knowledge and whose programme is not paused by a warning sign, gets one e-mail
per due week carrying a fresh programme link (made as the web's *Make a link to the
programme* does; earlier links keep working) - nothing about the patient. Output names
programme ids, never addresses. The limit and the three-failures stop cover both kinds.
Exit status 0 when every due reminder went, 1 when any failed.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable
from typing import TypeVar

import click

from backstory.cli.common import fail
from backstory.cli.stored import open_store, storage_options
from backstory.storage import Store, checkin_reminders, reminders
from backstory.storage.errors import Conflict
from backstory.web.settings import Settings

MAX_FAILURES_IN_A_ROW = 3


@click.group("reminders")
def reminders_group() -> None:
    """Follow-up and check-in reminders by e-mail (needs BACKSTORY_MAIL_* and
    BACKSTORY_MAIL_KEY)."""


@reminders_group.command("send")
@click.option("--dry-run", is_flag=True, help="Say what would be sent; send and record nothing.")
@click.option(
    "--limit",
    type=click.IntRange(1, 10000),
    default=200,
    show_default=True,
    help="Send at most this many in one run.",
)
@storage_options
def send_command(dry_run: bool, limit: int, database: str | None, user: str | None) -> None:
    """E-mail the due follow-up questionnaires and weekly check-ins of your clinic, each once."""
    from backstory.storage.database import utcnow
    from backstory.web.settings import SettingsError, settings_from_env

    try:
        settings = settings_from_env()
    except SettingsError as exc:
        fail(str(exc))
    mail, key = settings.mail, settings.address_key
    if mail is None or key is None:
        fail("e-mail reminders need BACKSTORY_MAIL_HOST (and the rest) and BACKSTORY_MAIL_KEY")
    if not dry_run and not os.environ.get("BACKSTORY_SECRET_KEY"):
        fail("set BACKSTORY_SECRET_KEY to the web server's secret: the links are signed with it")
    if not dry_run and settings.public_url is None:
        fail("set BACKSTORY_PUBLIC_URL: the e-mailed links must point at the address patients use")
    now = utcnow()
    with open_store(database, user) as store:
        due = store.run(lambda conn, u: reminders.due_reminders(conn, u, now.date()))
        left = store.run(lambda conn, u: reminders.unfinished(conn, u))
        weekly = store.run(lambda conn, u: checkin_reminders.due_checkins(conn, u, now.date()))
        left += store.run(lambda conn, u: checkin_reminders.unfinished(conn, u))
        batch = due[:limit]
        weekly_batch = weekly[: limit - len(batch)]
        click.echo(f"{len(due)} follow-up reminder(s) due; sending {len(batch)}")
        click.echo(f"{len(weekly)} check-in reminder(s) due; sending {len(weekly_batch)}")
        if dry_run:
            for item in batch:
                f = item.followup
                click.echo(f"  would send: follow-up {f.id} (week {f.weeks}, due {f.due_on})")
            for w in weekly_batch:
                click.echo(
                    f"  would send: check-in of programme {w.programme_id} "
                    f"(week {w.week}, due {w.due_on})"
                )
            click.echo("dry run: nothing was sent, and nothing is recorded as sent")
            return
        counts = {"sent": 0, "failed": 0, "skipped": 0}
        in_a_row = 0
        jobs: list[tuple[str, Callable[[], tuple[str, str]]]] = [
            (f"follow-up {item.followup.id}", _job(_send_one, store, settings, item, now))
            for item in batch
        ] + [
            (
                f"check-in of programme {w.programme_id}",
                _job(_send_checkin, store, settings, w, now),
            )
            for w in weekly_batch
        ]
        for n, (name, job) in enumerate(jobs, 1):
            outcome, words = job()
            counts[outcome] += 1
            in_a_row = in_a_row + 1 if outcome == "failed" else 0
            click.echo(f"  [{n}/{len(jobs)}] {name}: {words}")
            if in_a_row >= MAX_FAILURES_IN_A_ROW:
                click.echo(f"stopped after {in_a_row} failures in a row")
                break
    click.echo(f"sent {counts['sent']}, failed {counts['failed']}, skipped {counts['skipped']}")
    if left:
        click.echo(
            f"{left} reminder(s) from an earlier run were never confirmed (it stopped half-way); "
            "they are not retried: see the follow-ups due and missed check-ins on the worklist"
        )
    if counts["failed"]:
        sys.exit(1)


T = TypeVar("T")


def _job(
    send: Callable[[Store, Settings, T, dt.datetime], tuple[str, str]],
    store: Store,
    settings: Settings,
    item: T,
    now: dt.datetime,
) -> Callable[[], tuple[str, str]]:
    return lambda: send(store, settings, item, now)


def _send_one(
    store: Store, settings: Settings, item: reminders.DueReminder, now: dt.datetime
) -> tuple[str, str]:
    """Claim, send, confirm (or release): ("sent" | "failed" | "skipped", words to print)."""
    from backstory.delivery import AddressError, MailError, SealError, send_link_email
    from backstory.web.links import new_link
    from backstory.web.security import Signer

    mail, key = settings.mail, settings.address_key
    assert mail is not None and key is not None  # checked by the command
    token, digest = new_link(Signer(settings.secret_key), "patient-link")
    expires = now + dt.timedelta(hours=settings.link_hours)
    try:
        made = store.run(lambda conn, u: reminders.claim(conn, u, item, digest, now, expires))
    except Conflict:
        return "skipped", "skipped (claimed already, or no longer due)"
    try:
        address = key.open(item.sealed_address, item.followup.patient_id)
        send_link_email(
            mail,
            address,
            kind="followup",
            url=f"{settings.public_url}/p/{token}",
            clinic_name=made.clinic_name,
            expires_at=made.link.expires_at,
            reminder=True,
        )
    except (MailError, AddressError, SealError) as exc:
        why = type(exc).__name__
        store.run(lambda conn, u: reminders.release(conn, u, item, made, why))
        return "failed", f"not sent ({exc})"
    store.run(lambda conn, u: reminders.confirm(conn, u, item, made, now))
    return "sent", "sent"


def _send_checkin(
    store: Store, settings: Settings, item: checkin_reminders.DueCheckIn, now: dt.datetime
) -> tuple[str, str]:
    """Claim (with a fresh programme link), send, confirm - or release on failure."""
    from backstory.delivery import AddressError, MailError, SealError, send_link_email
    from backstory.web.links import new_link
    from backstory.web.programme_view import LINK_DAYS
    from backstory.web.security import Signer

    mail, key = settings.mail, settings.address_key
    assert mail is not None and key is not None  # checked by the command
    token, digest = new_link(Signer(settings.secret_key), "programme-link")
    expires = now + dt.timedelta(days=LINK_DAYS)
    try:
        made = store.run(
            lambda conn, u: checkin_reminders.claim(conn, u, item, digest, now, expires)
        )
    except Conflict:
        return "skipped", "skipped (claimed already, or no longer due)"
    try:
        address = key.open(item.sealed_address, item.patient_id)
        send_link_email(
            mail,
            address,
            kind="checkin",
            url=f"{settings.public_url}/programme/{token}",
            clinic_name=made.clinic_name,
            expires_at=made.link.expires_at,
            reminder=True,
        )
    except (MailError, AddressError, SealError) as exc:
        why = type(exc).__name__
        store.run(lambda conn, u: checkin_reminders.release(conn, u, item, made, why))
        return "failed", f"not sent ({exc})"
    store.run(lambda conn, u: checkin_reminders.confirm(conn, u, item, made, now))
    return "sent", "sent"
