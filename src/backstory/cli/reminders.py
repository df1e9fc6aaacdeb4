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
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar

import click

from backstory.cli.common import fail
from backstory.cli.stored import open_store, storage_options
from backstory.delivery import LinkKind
from backstory.storage import Connection, Store, checkin_reminders, reminders
from backstory.storage.errors import Conflict
from backstory.storage.users import User
from backstory.web.links import Purpose
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
        jobs: list[tuple[str, str, Callable[[], tuple[str, str]]]] = []
        jobs += [_job(FOLLOWUP, store, settings, item, now) for item in batch]
        jobs += [_job(CHECKIN, store, settings, item, now) for item in weekly_batch]
        if dry_run:
            for name, when, _send_it in jobs:
                click.echo(f"  would send: {name} ({when})")
            click.echo("dry run: nothing was sent, and nothing is recorded as sent")
            return
        counts = {"sent": 0, "failed": 0, "skipped": 0}
        in_a_row = 0
        for n, (name, _when, job) in enumerate(jobs, 1):
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


@dataclass(frozen=True, slots=True)
class _Kind(Generic[T]):
    """What differs between a follow-up reminder and a check-in reminder when sending."""

    purpose: Purpose
    """What the signed link is for (``new_link``)."""
    mail_kind: LinkKind
    path: str
    """Where the link points under the public address."""
    lifetime: Callable[[Settings], dt.timedelta]
    name_of: Callable[[T], str]
    """How the output names it (ids, never an address)."""
    when_of: Callable[[T], str]
    patient_of: Callable[[T], str]
    sealed_of: Callable[[T], str]
    claim: Callable[[Connection, User, T, str, dt.datetime, dt.datetime], Any]
    confirm: Callable[[Connection, User, T, Any, dt.datetime], None]
    release: Callable[[Connection, User, T, Any, str], None]


def _programme_link_lifetime(_settings: Settings) -> dt.timedelta:
    from backstory.web.programme_view import LINK_DAYS

    return dt.timedelta(days=LINK_DAYS)


FOLLOWUP: _Kind[reminders.DueReminder] = _Kind(
    purpose="patient-link",
    mail_kind="followup",
    path="p",
    lifetime=lambda settings: dt.timedelta(hours=settings.link_hours),
    name_of=lambda item: f"follow-up {item.followup.id}",
    when_of=lambda item: f"week {item.followup.weeks}, due {item.followup.due_on}",
    patient_of=lambda item: item.followup.patient_id,
    sealed_of=lambda item: item.sealed_address,
    claim=reminders.claim,
    confirm=reminders.confirm,
    release=reminders.release,
)
CHECKIN: _Kind[checkin_reminders.DueCheckIn] = _Kind(
    purpose="programme-link",
    mail_kind="checkin",
    path="programme",
    lifetime=_programme_link_lifetime,
    name_of=lambda item: f"check-in of programme {item.programme_id}",
    when_of=lambda item: f"week {item.week}, due {item.due_on}",
    patient_of=lambda item: item.patient_id,
    sealed_of=lambda item: item.sealed_address,
    claim=checkin_reminders.claim,
    confirm=checkin_reminders.confirm,
    release=checkin_reminders.release,
)


def _job(
    kind: _Kind[T], store: Store, settings: Settings, item: T, now: dt.datetime
) -> tuple[str, str, Callable[[], tuple[str, str]]]:
    """The item's name and due week for the output, and sending it."""
    return kind.name_of(item), kind.when_of(item), partial(_send, store, settings, kind, item, now)


def _send(
    store: Store, settings: Settings, kind: _Kind[T], item: T, now: dt.datetime
) -> tuple[str, str]:
    """Claim (making a fresh link), send, confirm - or release on failure:
    ("sent" | "failed" | "skipped", words to print)."""
    from backstory.delivery import AddressError, MailError, SealError, send_link_email
    from backstory.web.links import new_link
    from backstory.web.security import Signer

    mail, key = settings.mail, settings.address_key
    assert mail is not None and key is not None  # checked by the command
    token, digest = new_link(Signer(settings.secret_key), kind.purpose)
    expires = now + kind.lifetime(settings)
    try:
        made = store.run(lambda conn, u: kind.claim(conn, u, item, digest, now, expires))
    except Conflict:
        return "skipped", "skipped (claimed already, or no longer due)"
    try:
        address = key.open(kind.sealed_of(item), kind.patient_of(item))
        send_link_email(
            mail,
            address,
            kind=kind.mail_kind,
            url=f"{settings.public_url}/{kind.path}/{token}",
            clinic_name=made.clinic_name,
            expires_at=made.link.expires_at,
            reminder=True,
        )
    except (MailError, AddressError, SealError) as exc:
        why = type(exc).__name__
        store.run(lambda conn, u: kind.release(conn, u, item, made, why))
        return "failed", f"not sent ({exc})"
    store.run(lambda conn, u: kind.confirm(conn, u, item, made, now))
    return "sent", "sent"
