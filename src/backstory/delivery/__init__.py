"""Delivery: sending a patient their link by e-mail, through the clinic's own SMTP server.

Off unless ``BACKSTORY_MAIL_HOST`` is set (:mod:`backstory.delivery.config`). A message says
only which clinic sent it, what the link is for, until when it works, and the link itself:
never a name, a reference, a condition, a triage or an answer (the wording is data:
``messages.yaml``). The patient's address is typed each time for a single link; an address
kept for follow-up reminders is stored sealed with AES-GCM under a key the database never
holds (:mod:`backstory.delivery.sealing`). An adapter: it depends on nothing but the
foundation, and the web pages and the command line call it.
"""

from __future__ import annotations

from backstory.delivery.config import MailConfigError, MailSettings, mail_from_env
from backstory.delivery.message import KINDS, LinkKind, compose
from backstory.delivery.sealing import AddressKey, SealError, key_from_env
from backstory.delivery.send import AddressError, MailError, check_address, send_link_email

__all__ = [
    "KINDS",
    "AddressError",
    "AddressKey",
    "LinkKind",
    "MailConfigError",
    "MailError",
    "MailSettings",
    "SealError",
    "check_address",
    "compose",
    "key_from_env",
    "mail_from_env",
    "send_link_email",
]
