"""Sealing a patient's e-mail address kept for reminders (AES-256-GCM).

The key comes from ``BACKSTORY_MAIL_KEY`` (32 random bytes, URL-safe base64) or the file
named by ``BACKSTORY_MAIL_KEY_FILE``; it is never stored in the database, so a copy of the
database or a backup alone does not reveal an address. Each sealed value carries its own
random nonce and is bound to the patient's id (the associated data), so a sealed address
moved to another patient's row does not open. Make a key with::

    python -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from backstory.delivery.config import MailConfigError
from backstory.errors import IntegrityError

PREFIX = "v1."
NONCE_BYTES = 12


class SealError(IntegrityError):
    """A sealed address that does not open with this key (wrong key, or altered)."""


def _b64decode(text: str) -> bytes:
    pad = "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(text + pad)


@dataclass(frozen=True)
class AddressKey:
    """The key that seals stored addresses (its bytes never appear in a repr)."""

    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.key) != 32:
            raise MailConfigError("the address key must be 32 bytes")

    def seal(self, address: str, patient_id: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.key).encrypt(nonce, address.encode("utf-8"), patient_id.encode())
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, sealed: str, patient_id: str) -> str:
        """The address, or SealError when it was sealed with another key or altered."""
        if not sealed.startswith(PREFIX):
            raise SealError("a stored address is not in a known sealed form")
        try:
            raw = _b64decode(sealed[len(PREFIX) :])
            plain = AESGCM(self.key).decrypt(
                raw[:NONCE_BYTES], raw[NONCE_BYTES:], patient_id.encode()
            )
        except (InvalidTag, ValueError, binascii.Error):
            raise SealError(
                "a stored address does not open with this key (BACKSTORY_MAIL_KEY changed?)"
            ) from None
        return plain.decode("utf-8")


def key_from_env(env: Mapping[str, str] | None = None) -> AddressKey | None:
    """The address key, or None when neither variable is set (addresses are then not kept).

    Raises:
        MailConfigError: both variables set, an unreadable file, or not 32 bytes of base64.
    """
    e = os.environ if env is None else env
    direct = (e.get("BACKSTORY_MAIL_KEY") or "").strip() or None
    path = (e.get("BACKSTORY_MAIL_KEY_FILE") or "").strip() or None
    if direct is not None and path is not None:
        raise MailConfigError("set BACKSTORY_MAIL_KEY or BACKSTORY_MAIL_KEY_FILE, not both")
    name = "BACKSTORY_MAIL_KEY"
    text = direct
    if path is not None:
        name = "BACKSTORY_MAIL_KEY_FILE"
        try:
            text = Path(path).read_text("ascii").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise MailConfigError(f"{name} cannot be read ({type(exc).__name__})") from None
    if text is None:
        return None
    try:
        key = _b64decode(text)
    except (ValueError, binascii.Error):
        key = b""
    if len(key) != 32:
        raise MailConfigError(
            f"{name} must be 32 random bytes in URL-safe base64 (43 or 44 characters)"
        )
    return AddressKey(key)
