"""A clinic's users, managed by its admins: invite, reset, deactivate, change role, make or
unmake operators, clear sign-in delays, and web links made from the command line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from backstory.storage import audit, throttle, users
from backstory.storage.account_common import (
    insert_user,
    is_operator,
    own_clinic_user,
    require_operator,
    user_by_id,
)
from backstory.storage.account_links import insert_link
from backstory.storage.errors import Conflict, InvalidRequest, NotAllowed, NotFound
from backstory.storage.sessions import revoke_sessions
from backstory.storage.tables import account, account_link, app_user
from backstory.storage.users import Role, User, find_users


@dataclass(frozen=True, slots=True)
class ClinicUser:
    user: User
    has_password: bool
    operator: bool


def clinic_users(conn: Connection, actor: User) -> list[ClinicUser]:
    """The users of the admin's own clinic (admins only)."""
    users.require_admin(actor, "list the clinic's users")
    rows = conn.execute(
        select(app_user.c.id, account.c.password_hash, account.c.operator)
        .outerjoin(account, account.c.user_id == app_user.c.id)
        .where(app_user.c.clinic_id == actor.clinic_id)
        .order_by(app_user.c.username)
    ).all()
    audit.record(conn, actor.username, "user.list", "clinic", actor.clinic_id)
    out = []
    for row in rows:
        found = user_by_id(conn, row.id)
        assert found is not None
        out.append(ClinicUser(found, row.password_hash is not None, bool(row.operator)))
    return out


def invite_user(
    conn: Connection,
    actor: User,
    username: str,
    role: Role,
    digest: str,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> User:
    """Add a user to the admin's clinic with no password yet, and a link to set one."""
    users.require_admin(actor, "invite users")
    if role not in ("clinician", "admin"):
        raise InvalidRequest("the role must be clinician or admin")
    uid = insert_user(
        conn, actor.clinic_id, username, role, operator=False, password_hash=None, now=now
    )
    insert_link(conn, "invite", digest, uid, actor.username, now, expires_at)
    audit.record(conn, actor.username, "user.invite", "user", uid, role=role)
    found = user_by_id(conn, uid)
    assert found is not None
    return found


def reset_password(
    conn: Connection,
    actor: User,
    user_id: str,
    digest: str,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> User:
    """Clear a user's password, end their sessions and make a link to choose a new one."""
    users.require_admin(actor, "reset passwords")
    found = own_clinic_user(conn, actor, user_id)
    users.guard_operator_account(conn, actor, found, "reset the password of")
    if not found.active:
        raise Conflict(f"user {found.username!r} is not active")
    _reset_link(conn, actor, found, digest, now, expires_at)
    return found


def command_line_link(
    conn: Connection,
    actor: User,
    username: str,
    digest: str,
    now: dt.datetime,
    expires_at: dt.datetime,
    *,
    operator: bool = False,
) -> User:
    """A one-time link for an existing user to choose a web password, made from the command
    line by an admin of the user's clinic (``backstory user web-link``): how a database
    first used from the command line gets its web users, since set-up never runs once
    anyone exists. Works like a reset (any password and sessions end). ``operator`` also
    makes the user an operator - only while the database has no active operator at all;
    after that operators are made by operators (HZ-55, HZ-57)."""
    users.require_admin(actor, "make web password links")
    found = find_users(conn, username=username)
    if not found or found[0].clinic_id != actor.clinic_id:
        raise NotFound(f"no user {username!r} in your clinic")
    target = found[0]
    if not target.active:
        raise Conflict(f"user {target.username!r} is not active")
    users.guard_operator_account(conn, actor, target, "reset the password of")
    if operator:
        users.lock_accounts(conn)
        if users.active_operators(conn) > 0:
            raise NotAllowed(
                "Backstory has an operator already; an operator makes others operators "
                "(on the Users page)"
            )
    _reset_link(conn, actor, target, digest, now, expires_at, operator=operator)
    if operator:
        audit.record(conn, actor.username, "user.operator", "user", target.id, operator=True)
    return target


def deactivate(conn: Connection, actor: User, user_id: str, now: dt.datetime) -> User:
    """Stop a user of the admin's clinic from signing in; their sessions end at once."""
    users.require_admin(actor, "deactivate users")
    found = own_clinic_user(conn, actor, user_id)
    if found.id == actor.id:
        raise Conflict("you cannot deactivate yourself")
    users.guard_operator_account(conn, actor, found, "deactivate")
    if not found.active:
        raise Conflict(f"user {found.username!r} is not active")
    users.keep_an_operator(conn, found, "deactivate")
    conn.execute(update(app_user).where(app_user.c.id == found.id).values(active=False))
    revoke_sessions(conn, found.id, now)
    _drop_unused_links(conn, found.id)
    audit.record(conn, actor.username, "user.deactivate", "user", found.id)
    return found


def set_role(conn: Connection, actor: User, user_id: str, role: Role, now: dt.datetime) -> User:
    """Make a user of the admin's clinic a clinician or an admin (not oneself: an admin who
    demoted themselves could leave the clinic without one). An operator's role is changed
    by an operator only."""
    users.require_admin(actor, "change roles")
    if role not in ("clinician", "admin"):
        raise InvalidRequest("the role must be clinician or admin")
    found = own_clinic_user(conn, actor, user_id)
    if found.id == actor.id:
        raise Conflict("you cannot change your own role")
    users.guard_operator_account(conn, actor, found, "change the role of")
    if not found.active:
        raise Conflict(f"user {found.username!r} is not active")
    if found.role == role:
        raise Conflict(f"user {found.username!r} is already a {role}")
    conn.execute(update(app_user).where(app_user.c.id == found.id).values(role=role))
    revoke_sessions(conn, found.id, now)
    audit.record(conn, actor.username, "user.role", "user", found.id, role=role)
    changed = user_by_id(conn, found.id)
    assert changed is not None
    return changed


def set_operator(
    conn: Connection, actor: User, user_id: str, operator: bool, now: dt.datetime
) -> User:
    """Give or take the operator right (operators only, within their own clinic). The last
    active operator keeps it; a user who loses it has their sessions ended."""
    require_operator(conn, actor, "make or unmake operators")
    users.require_admin(actor, "make or unmake operators")
    found = own_clinic_user(conn, actor, user_id)
    if not found.active:
        raise Conflict(f"user {found.username!r} is not active")
    users.lock_accounts(conn)
    if is_operator(conn, found.id) == operator:
        state = "already" if operator else "not"
        raise Conflict(f"user {found.username!r} is {state} an operator")
    if not operator:
        users.keep_an_operator(conn, found, "demote")
    _set_account(conn, found.id, now, operator=operator)
    if not operator:
        revoke_sessions(conn, found.id, now)
    audit.record(conn, actor.username, "user.operator", "user", found.id, operator=operator)
    return found


def unlock(
    conn: Connection, actor: User, user_id: str, user_digest: Callable[[str], str]
) -> tuple[User, int]:
    """Clear every sign-in delay of a user of the admin's clinic (their failed sign-ins from
    every place); audited. ``user_digest`` turns the user name into the throttle's keyed
    digest (the secret stays with the web app). Returns the user and how many failures were
    forgotten."""
    users.require_admin(actor, "clear sign-in delays")
    found = own_clinic_user(conn, actor, user_id)
    users.guard_operator_account(conn, actor, found, "clear the sign-in delays of")
    cleared = throttle.clear_user(conn, user_digest(found.username))
    audit.record(conn, actor.username, "user.unlock", "user", found.id, count=cleared)
    return found, cleared


def _set_account(conn: Connection, user_id: str, now: dt.datetime, **values: Any) -> None:
    """Change a user's account row, adding it first for a user who has none yet (one made
    on the command line: no password, not an operator)."""
    if conn.execute(select(account.c.user_id).where(account.c.user_id == user_id)).first() is None:
        conn.execute(
            insert(account).values(
                user_id=user_id, password_hash=None, operator=False, updated_at=now
            )
        )
    conn.execute(
        update(account).where(account.c.user_id == user_id).values(**values, updated_at=now)
    )


def _drop_unused_links(conn: Connection, user_id: str) -> None:
    conn.execute(
        delete(account_link).where(
            account_link.c.user_id == user_id, account_link.c.used_at.is_(None)
        )
    )


def _reset_link(
    conn: Connection,
    actor: User,
    target: User,
    digest: str,
    now: dt.datetime,
    expires_at: dt.datetime,
    *,
    operator: bool = False,
) -> None:
    """Clear the target's password (and with ``operator``, make them an operator), end their
    sessions and unused links, and make a reset link; audited."""
    extra: dict[str, Any] = {"operator": True} if operator else {}
    _set_account(conn, target.id, now, password_hash=None, **extra)
    revoke_sessions(conn, target.id, now)
    _drop_unused_links(conn, target.id)
    insert_link(conn, "reset", digest, target.id, actor.username, now, expires_at)
    audit.record(conn, actor.username, "user.reset", "user", target.id)
