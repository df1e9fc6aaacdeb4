"""Sending one link by e-mail through the clinic's SMTP server (stdlib ``smtplib``).

Every way a send can fail (no answer within the timeout, a refused connection, TLS that
cannot be set up, a refused login, a refused recipient) becomes a :class:`MailError` whose
message names the step, never the address or the server's reply (which can quote it).
The caller records that a message was sent only after this returns.
``starttls`` never falls back to clear text when the server does not offer it.
"""

from __future__ import annotations

import datetime as dt
import re
import smtplib
import ssl

from backstory.delivery.config import MailSettings
from backstory.delivery.message import LinkKind, compose
from backstory.errors import BackstoryError, InputError

MAX_ADDRESS = 254
LOCAL = r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}"
DOMAIN = r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.[A-Za-z]{2,63}"
ADDRESS = re.compile(f"^{LOCAL}@{DOMAIN}$")
"""One plain address (no display name, no comments, no list): what a clinician types."""


class MailError(BackstoryError, RuntimeError):
    """The message could not be handed to the SMTP server; nothing was sent or recorded."""


class AddressError(InputError):
    """Not one plain e-mail address."""


def check_address(text: str) -> str:
    """The address, trimmed, or AddressError (the message never repeats what was typed)."""
    address = text.strip()
    if len(address) > MAX_ADDRESS or not ADDRESS.match(address) or ".." in address:
        raise AddressError("Write one e-mail address, such as name@example.org.")
    return address


def _connect(settings: MailSettings) -> smtplib.SMTP:
    if settings.tls == "ssl":
        return smtplib.SMTP_SSL(
            settings.host,
            settings.port,
            timeout=settings.timeout,
            context=ssl.create_default_context(),
        )
    return smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)


def _deliver(settings: MailSettings, message: object, to: str) -> None:
    step = "connect to the mail server"
    try:
        with _connect(settings) as smtp:
            step = "greet the mail server"
            smtp.ehlo()
            if settings.tls == "starttls":
                step = "start TLS with the mail server"
                if not smtp.has_extn("starttls"):
                    raise MailError(
                        "the mail server does not offer STARTTLS; nothing was sent (set "
                        "BACKSTORY_MAIL_TLS to match the server)"
                    )
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if settings.user is not None and settings.password is not None:
                step = "sign in to the mail server"
                smtp.login(settings.user, settings.password)
            step = "hand the message to the mail server"
            refused = smtp.send_message(message, to_addrs=[to])  # type: ignore[arg-type]
            if refused:
                raise MailError("the mail server refused the address; nothing was sent")
    except MailError:
        raise
    except smtplib.SMTPRecipientsRefused:
        raise MailError("the mail server refused the address; nothing was sent") from None
    except smtplib.SMTPAuthenticationError:
        raise MailError(
            "the mail server refused the sign-in (BACKSTORY_MAIL_USER and password); "
            "nothing was sent"
        ) from None
    except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
        raise MailError(f"could not {step} ({type(exc).__name__}); nothing was sent") from None


def send_link_email(
    settings: MailSettings,
    to: str,
    *,
    kind: LinkKind,
    url: str,
    clinic_name: str,
    expires_at: dt.datetime,
    reminder: bool = False,
) -> None:
    """Send one link to one address. Returns only when the server accepted the message.

    Raises:
        AddressError: ``to`` is not one plain address.
        MailError: the message was not accepted (the step that failed is named).
    """
    address = check_address(to)
    message = compose(
        sender=settings.sender,
        to=address,
        kind=kind,
        url=url,
        clinic_name=clinic_name,
        expires_at=expires_at,
        reminder=reminder,
    )
    _deliver(settings, message, address)
