"""The e-mail a patient receives: composed from ``messages.yaml`` and nothing else.

The wording is data, checked when loaded: every kind of link has a purpose, and the texts use
only the four placeholders a message may carry (clinic, purpose, expiry date, link). The
caller gives no patient data, and there is no place in a message to put any.
"""

from __future__ import annotations

import datetime as dt
import string
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import lru_cache
from importlib import resources
from typing import Any, Literal, get_args

from backstory.errors import ConfigError
from backstory.yamlio import YAMLError, safe_load

LinkKind = Literal["questionnaire", "followup", "explanation", "programme", "checkin"]
KINDS: tuple[LinkKind, ...] = get_args(LinkKind)
PLACEHOLDERS = frozenset({"clinic", "purpose", "expires", "url"})
FILE = "messages.yaml"
MAX_CLINIC = 120


class MessageWordingError(ConfigError):
    """``messages.yaml`` is missing a text or uses a placeholder a message may not carry."""


@dataclass(frozen=True)
class Wording:
    purposes: dict[str, str]
    subject: dict[str, str]
    body: dict[str, str]
    footer: str


def _fields(text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise MessageWordingError(f"{FILE}: a text cannot be read ({exc})") from None


def check_wording(data: Any) -> Wording:
    """The wording, or MessageWordingError naming the place that is wrong."""
    if not isinstance(data, dict):
        raise MessageWordingError(f"{FILE}: expected a mapping")
    purposes = data.get("purposes")
    if not isinstance(purposes, dict) or set(purposes) != set(KINDS):
        raise MessageWordingError(f"{FILE}/purposes: needs exactly {', '.join(KINDS)}")
    texts: dict[str, Any] = {}
    for part in ("subject", "body"):
        found = data.get(part)
        if not isinstance(found, dict) or set(found) != {"first", "reminder"}:
            raise MessageWordingError(f"{FILE}/{part}: needs first and reminder")
        texts.update({f"{part}/{k}": v for k, v in found.items()})
    texts["footer"] = data.get("footer")  # checked below
    texts.update({f"purposes/{k}": v for k, v in purposes.items()})
    for place, text in texts.items():
        if not isinstance(text, str) or not text.strip():
            raise MessageWordingError(f"{FILE}/{place}: needs some text")
        extra = _fields(text) - (set() if place.startswith("purposes") else PLACEHOLDERS)
        if extra:
            raise MessageWordingError(
                f"{FILE}/{place}: a message may not carry {', '.join(sorted(extra))}"
            )
    for kind in ("first", "reminder"):
        if "{url}" not in data["body"][kind]:
            raise MessageWordingError(f"{FILE}/body/{kind}: must contain the link ({{url}})")
        if "\n" in data["subject"][kind]:
            raise MessageWordingError(f"{FILE}/subject/{kind}: must be one line")
    return Wording(dict(purposes), dict(data["subject"]), dict(data["body"]), data["footer"])


@lru_cache(maxsize=1)
def wording() -> Wording:
    text = resources.files("backstory.delivery").joinpath(FILE).read_text("utf-8")
    try:
        return check_wording(safe_load(text))
    except YAMLError as exc:
        raise MessageWordingError(f"{FILE}: not valid YAML ({type(exc).__name__})") from None


def one_line(text: str, limit: int = MAX_CLINIC) -> str:
    """Text for a header or a sentence: one line, no control characters, at most ``limit``."""
    clean = " ".join("".join(c if c >= " " and c != "\x7f" else " " for c in text).split())
    return clean[:limit]


LAST_FULL_DAY_FROM = dt.time(23, 0)
"""A link expiring at or after 23:00 UTC works to the end of that day (in the UK, in summer
time too); one expiring earlier is said to work until the day before, so the date a patient
reads is never later than the link really works."""


def expiry_words(expires_at: dt.datetime) -> str:
    """``9 December 2026``: the last whole day the link works (a day, never a time)."""
    at = expires_at.astimezone(dt.UTC) if expires_at.tzinfo else expires_at
    day = at.date() if at.time() >= LAST_FULL_DAY_FROM else at.date() - dt.timedelta(days=1)
    return f"{day.day} {day.strftime('%B')} {day.year}"


def compose(
    *,
    sender: str,
    to: str,
    kind: LinkKind,
    url: str,
    clinic_name: str,
    expires_at: dt.datetime,
    reminder: bool = False,
    now: dt.datetime | None = None,
) -> EmailMessage:
    """The message (plain text, UTF-8): the clinic, what the link is for, expiry, the link."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of link: {kind!r}")
    words = wording()
    which = "reminder" if reminder else "first"
    values = {
        "clinic": one_line(clinic_name) or "Your clinic",
        "purpose": words.purposes[kind],
        "expires": expiry_words(expires_at),
        "url": one_line(url, 2000),
    }
    msg = EmailMessage()
    msg["Subject"] = one_line(words.subject[which].format(**values), 200)
    msg["From"] = sender
    msg["To"] = to
    msg["Date"] = format_datetime(now or dt.datetime.now(dt.UTC))
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    msg["Auto-Submitted"] = "auto-generated"
    body = words.body[which].format(**values) + "\n\n" + words.footer.format(**values) + "\n"
    msg.set_content(body, charset="utf-8")
    return msg
