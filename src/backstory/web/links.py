"""Link tokens: signed (so a forged or expired one is refused before any lookup), random,
stored only as a digest, and used up or expired in the database."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from backstory.web.security import Signer, new_token, token_digest

Purpose = Literal["account-link", "patient-link", "programme-link", "api-token"]


def new_link(signer: Signer, purpose: Purpose) -> tuple[str, str]:
    """A new token for a link and the digest to store for it."""
    token = signer.sign(purpose, new_token(24))
    return token, token_digest(token)


def link_digest(signer: Signer, purpose: Purpose, token: str, max_age_seconds: int) -> str | None:
    """The digest to look a link up by, or None when the token is forged or too old."""
    if len(token) > 400 or signer.load(purpose, token, max_age_seconds) is None:
        return None
    return token_digest(token)


def new_api_token() -> tuple[str, str]:
    """An API token (``bst_`` and 43 random characters) and its digest."""
    token = "bst_" + new_token(32)
    return token, token_digest(token)


def day_words(at: dt.datetime) -> str:
    """The day a link stops working, as people write it: "Wednesday 9 December 2026".

    In the server's own time zone (a clinic's server keeps its clinic's time): stored times
    are UTC, and a link made in the evening may stop on another UTC day than the local one.
    """
    local = at.astimezone()
    return f"{local:%A} {local.day} {local:%B %Y}"
