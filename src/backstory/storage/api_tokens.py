"""API tokens of a clinic: kept as digests, created and revoked by its admins, and resolved
again inside every transaction that uses one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Select, insert, select, update
from sqlalchemy.engine import Connection

from backstory.storage import audit, users
from backstory.storage.account_common import check_name
from backstory.storage.database import as_utc
from backstory.storage.errors import InvalidRequest, NotAllowed, NotFound
from backstory.storage.ids import new_id, normalise_id
from backstory.storage.tables import api_token, clinic
from backstory.storage.users import User

Scope = Literal["read", "write"]


@dataclass(frozen=True, slots=True)
class Token:
    id: str
    clinic_id: str
    clinic: str
    name: str
    scope: Scope
    created_by: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def principal(self) -> User:
        """The token as an acting user: named ``token:ID`` in the audit log."""
        return User(self.id, self.clinic_id, self.clinic, f"token:{self.id}", "clinician", True)


_TOKEN_COLUMNS = (
    api_token.c.id,
    api_token.c.clinic_id,
    clinic.c.name,
    api_token.c.name,
    api_token.c.scope,
    api_token.c.created_by,
    api_token.c.created_at,
    api_token.c.revoked_at,
)


def _token(row: Sequence[Any]) -> Token:
    tid, cid, cname, name, scope, by, created, revoked = row
    return Token(
        tid,
        cid,
        cname,
        name,
        scope,
        by,
        as_utc(created),
        as_utc(revoked) if revoked is not None else None,
    )


def _token_query() -> Select[Any]:
    return select(*_TOKEN_COLUMNS).join(clinic, clinic.c.id == api_token.c.clinic_id)


def create_token(
    conn: Connection, actor: User, name: str, scope: Scope, digest: str, now: dt.datetime
) -> Token:
    """A new API token for the admin's clinic (the caller shows the token once)."""
    users.require_admin(actor, "create API tokens")
    if scope not in ("read", "write"):
        raise InvalidRequest("the scope must be read or write")
    label = check_name(name, "the token's name")
    tid = new_id("T")
    conn.execute(
        insert(api_token).values(
            id=tid,
            digest=digest,
            clinic_id=actor.clinic_id,
            name=label,
            scope=scope,
            created_by=actor.username,
            created_at=now,
            revoked_at=None,
        )
    )
    audit.record(conn, actor.username, "token.create", "token", tid, scope=scope)
    return Token(tid, actor.clinic_id, actor.clinic, label, scope, actor.username, now, None)


def clinic_tokens(conn: Connection, actor: User) -> list[Token]:
    users.require_admin(actor, "list API tokens")
    rows = conn.execute(
        _token_query()
        .where(api_token.c.clinic_id == actor.clinic_id)
        .order_by(api_token.c.created_at)
    ).all()
    audit.record(conn, actor.username, "token.list", "clinic", actor.clinic_id)
    return [_token(r) for r in rows]


def revoke_token(conn: Connection, actor: User, token_id: str, now: dt.datetime) -> None:
    users.require_admin(actor, "revoke API tokens")
    tid = normalise_id(token_id)
    done = conn.execute(
        update(api_token)
        .where(
            api_token.c.id == tid,
            api_token.c.clinic_id == actor.clinic_id,
            api_token.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    ).rowcount
    if done != 1:
        raise NotFound(f"no active API token {tid} in your clinic")
    audit.record(conn, actor.username, "token.revoke", "token", tid)


def token_by_digest(conn: Connection, digest: str) -> Token | None:
    """The active token behind a digest, or None."""
    row = conn.execute(_token_query().where(api_token.c.digest == digest)).one_or_none()
    if row is None:
        return None
    found = _token(row)
    return found if found.active else None


def token_resolver(digest: str, *, write: bool) -> Callable[[Connection, str], User]:
    """An actor resolver for ``Store``: the token is checked again inside the transaction
    that uses it, so a token revoked a moment ago can no longer read or write."""

    def resolve(conn: Connection, _actor: str) -> User:
        found = token_by_digest(conn, digest)
        if found is None:
            raise NotAllowed("the API token is not valid (revoked or unknown)")
        if write and found.scope != "write":
            raise NotAllowed("this API token may only read")
        return found.principal()

    return resolve
