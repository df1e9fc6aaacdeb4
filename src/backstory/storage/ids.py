"""Random record identifiers: short, unguessable, meaningless, easy to read aloud.

Crockford's base-32 alphabet leaves out I, L, O and U, so an id copied by hand is rarely
mistyped; input is upper-cased before lookup for the same reason.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(prefix: str, length: int = 10) -> str:
    """A new id such as ``P7KQ2M9XD4R`` (prefix: P patient, E episode, A assessment, ...)."""
    return prefix + "".join(secrets.choice(ALPHABET) for _ in range(length))


def normalise_id(text: str) -> str:
    """An id as typed by a person, ready to look up (a NUL, which no id has and PostgreSQL
    cannot compare, becomes U+FFFD, so the lookup simply finds nothing)."""
    return text.strip().upper().replace("\x00", "\ufffd")
