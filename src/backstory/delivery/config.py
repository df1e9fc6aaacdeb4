"""The SMTP server a clinic configures, read from the environment (off unless a host is set).

``BACKSTORY_MAIL_HOST`` (off when empty), ``BACKSTORY_MAIL_PORT`` (default 587 for
``starttls``, 465 for ``ssl``, 25 for ``none``), ``BACKSTORY_MAIL_FROM`` (required),
``BACKSTORY_MAIL_USER`` with ``BACKSTORY_MAIL_PASSWORD`` or ``BACKSTORY_MAIL_PASSWORD_FILE``,
``BACKSTORY_MAIL_TLS`` (``starttls``, the default; ``ssl``; ``none``) and
``BACKSTORY_MAIL_TIMEOUT`` (seconds, default 10). Anything unusable is refused at start-up
with the variable's name, never at the first send. Outside development ``none`` is refused:
links and passwords would cross the network in clear.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from backstory.errors import ConfigError

TlsMode = Literal["starttls", "ssl", "none"]
TLS_MODES: tuple[TlsMode, ...] = ("starttls", "ssl", "none")
DEFAULT_PORTS: Mapping[str, int] = {"starttls": 587, "ssl": 465, "none": 25}
DEFAULT_TIMEOUT = 10
HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$|^\[[0-9A-Fa-f:.]+\]$")
SENDER = re.compile(r"^[^@\s<>\"(),;:]{1,64}@[A-Za-z0-9.-]{1,253}$")


class MailConfigError(ConfigError):
    """E-mail settings that cannot be used (named by their environment variable)."""


@dataclass(frozen=True)
class MailSettings:
    """How to reach the clinic's SMTP server. The password never appears in a repr."""

    host: str
    port: int
    sender: str
    tls: TlsMode = "starttls"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT


def _port(raw: str, tls: str) -> int:
    if not raw.strip():
        return DEFAULT_PORTS[tls]
    if not raw.strip().isdigit() or not 1 <= int(raw) <= 65535:
        raise MailConfigError(f"BACKSTORY_MAIL_PORT must be a port from 1 to 65535, got {raw!r}")
    return int(raw)


def _password(env: Mapping[str, str]) -> str | None:
    direct = env.get("BACKSTORY_MAIL_PASSWORD") or None
    path = (env.get("BACKSTORY_MAIL_PASSWORD_FILE") or "").strip() or None
    if direct is not None and path is not None:
        raise MailConfigError(
            "set BACKSTORY_MAIL_PASSWORD or BACKSTORY_MAIL_PASSWORD_FILE, not both"
        )
    if path is None:
        return direct
    try:
        text = Path(path).read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise MailConfigError(
            f"BACKSTORY_MAIL_PASSWORD_FILE cannot be read ({type(exc).__name__})"
        ) from None
    if not text:
        raise MailConfigError("BACKSTORY_MAIL_PASSWORD_FILE is empty")
    return text


def mail_from_env(
    env: Mapping[str, str] | None = None, *, production: bool = False
) -> MailSettings | None:
    """The mail settings, or None when ``BACKSTORY_MAIL_HOST`` is not set (mail is off).

    Raises:
        MailConfigError: a setting that cannot be used; the message names the variable.
    """
    e = os.environ if env is None else env
    host = (e.get("BACKSTORY_MAIL_HOST") or "").strip()
    if not host:
        return None
    if not HOST.match(host):
        raise MailConfigError(f"BACKSTORY_MAIL_HOST is not a host name or address: {host!r}")
    tls = (e.get("BACKSTORY_MAIL_TLS") or "starttls").strip().lower()
    if tls not in TLS_MODES:
        raise MailConfigError(
            f"BACKSTORY_MAIL_TLS must be one of {', '.join(TLS_MODES)}, got {tls!r}"
        )
    if tls == "none" and production:
        raise MailConfigError(
            "BACKSTORY_MAIL_TLS=none is refused outside development: links would cross the "
            "network in clear (use starttls or ssl)"
        )
    sender = (e.get("BACKSTORY_MAIL_FROM") or "").strip()
    if not sender:
        raise MailConfigError("BACKSTORY_MAIL_FROM must be set when BACKSTORY_MAIL_HOST is")
    if not SENDER.match(sender):
        raise MailConfigError(f"BACKSTORY_MAIL_FROM is not an e-mail address: {sender!r}")
    user = (e.get("BACKSTORY_MAIL_USER") or "").strip() or None
    password = _password(e)
    if (user is None) != (password is None):
        raise MailConfigError(
            "BACKSTORY_MAIL_USER and a password (BACKSTORY_MAIL_PASSWORD or "
            "BACKSTORY_MAIL_PASSWORD_FILE) go together: set both or neither"
        )
    if password is not None and tls == "none":
        raise MailConfigError(
            "a mail password with BACKSTORY_MAIL_TLS=none would be sent in clear; use "
            "starttls or ssl"
        )
    raw_timeout = (e.get("BACKSTORY_MAIL_TIMEOUT") or "").strip()
    timeout = DEFAULT_TIMEOUT
    if raw_timeout:
        if not raw_timeout.isdigit() or not 1 <= int(raw_timeout) <= 120:
            raise MailConfigError(
                f"BACKSTORY_MAIL_TIMEOUT must be whole seconds from 1 to 120, got {raw_timeout!r}"
            )
        timeout = int(raw_timeout)
    return MailSettings(
        host=host,
        port=_port(e.get("BACKSTORY_MAIL_PORT") or "", tls),
        sender=sender,
        tls=tls,
        user=user,
        password=password,
        timeout=float(timeout),
    )
