"""Web accounts: passwords, sessions, one-time links, API tokens, clinics and operators.

Kept apart from :mod:`backstory.storage.users` (which the command line uses) so that the
command line keeps working without any of it. Nothing secret is stored: sessions, links and
tokens are kept as SHA-256 digests of the values handed out, passwords as argon2id hashes
made by the caller (storage never sees a password). Every function runs inside the caller's
transaction, and everything that changes who may do what is audited.

Roles: an *operator* creates clinics and invites their first admin, and sees no patient
data of other clinics; a clinic *admin* invites, deactivates and resets the clinic's users
and manages its API tokens; a *clinician* works with the clinic's patients.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Select, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from backstory.storage import audit, throttle, users
from backstory.storage.database import as_utc
from backstory.storage.errors import Conflict, InvalidRequest, NotAllowed, NotFound
from backstory.storage.ids import new_id, normalise_id
from backstory.storage.tables import (
    account,
    account_link,
    api_token,
    app_user,
    clinic,
    patient,
    web_session,
)
from backstory.storage.users import Role, User, find_users

LinkPurpose = Literal["setup", "invite", "reset"]
Scope = Literal["read", "write"]
SESSION_TOUCH_SECONDS = 60
"""A session's last-seen time is written at most this often (not on every request)."""
MAX_NAME = 100


@dataclass(frozen=True, slots=True)
class Account:
    user: User
    password_hash: str | None
    operator: bool


@dataclass(frozen=True, slots=True)
class SessionInfo:
    digest: str
    user: User
    operator: bool
    created_at: dt.datetime
    last_seen: dt.datetime


@dataclass(frozen=True, slots=True)
class AccountLink:
    id: str
    purpose: LinkPurpose
    user: User | None
    expires_at: dt.datetime


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


@dataclass(frozen=True, slots=True)
class ClinicUser:
    user: User
    has_password: bool
    operator: bool


@dataclass(frozen=True, slots=True)
class ClinicInfo:
    id: str
    name: str
    users: int
    created_at: dt.datetime


# -- helpers --------------------------------------------------------------------------------


def _user_by_id(conn: Connection, user_id: str) -> User | None:
    found = find_users(conn, user_id=user_id)
    return found[0] if found else None


def _clinic_user(conn: Connection, actor: User, user_id: str) -> User:
    """A user of the actor's own clinic; another clinic's user looks missing."""
    found = _user_by_id(conn, normalise_id(user_id))
    if found is None or found.clinic_id != actor.clinic_id:
        raise NotFound(f"no user {normalise_id(user_id)} in your clinic")
    return found


is_operator = users.is_operator


def require_operator(conn: Connection, actor: User, doing: str) -> None:
    """Refuse unless the actor is an active operator (read in this transaction)."""
    if not users.is_active_operator(conn, actor.id):
        raise NotAllowed(f"only an operator may {doing}")


def _insert_user(
    conn: Connection,
    clinic_id: str,
    username: str,
    role: Role,
    *,
    operator: bool,
    password_hash: str | None,
    now: dt.datetime,
) -> str:
    users.check_username(username)
    taken = conn.execute(
        select(app_user.c.id).where(app_user.c.username == username)
    ).scalar_one_or_none()
    if taken is not None:
        raise Conflict(f"the user name {username!r} is taken; choose another")
    uid = new_id("U")
    conn.execute(
        insert(app_user).values(
            id=uid, clinic_id=clinic_id, username=username, role=role, active=True, created_at=now
        )
    )
    conn.execute(
        insert(account).values(
            user_id=uid, password_hash=password_hash, operator=operator, updated_at=now
        )
    )
    return uid


def _insert_link(
    conn: Connection,
    purpose: LinkPurpose,
    digest: str,
    user_id: str | None,
    created_by: str,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> str:
    lid = new_id("L")
    conn.execute(
        insert(account_link).values(
            id=lid,
            digest=digest,
            purpose=purpose,
            user_id=user_id,
            created_by=created_by,
            created_at=now,
            expires_at=expires_at,
            used_at=None,
        )
    )
    return lid


def _usable_link(
    conn: Connection, digest: str, purposes: tuple[LinkPurpose, ...], now: dt.datetime
) -> AccountLink | None:
    row = conn.execute(select(account_link).where(account_link.c.digest == digest)).one_or_none()
    if row is None or row.purpose not in purposes or row.used_at is not None:
        return None
    if as_utc(row.expires_at) <= now:
        return None
    user = _user_by_id(conn, row.user_id) if row.user_id else None
    if row.user_id and (user is None or not user.active):
        return None
    return AccountLink(row.id, row.purpose, user, as_utc(row.expires_at))


def _use_link(conn: Connection, link_id: str, now: dt.datetime) -> None:
    done = conn.execute(
        update(account_link)
        .where(account_link.c.id == link_id, account_link.c.used_at.is_(None))
        .values(used_at=now)
    ).rowcount
    if done != 1:
        raise Conflict("this link has just been used")


def _revoke_sessions(conn: Connection, user_id: str, now: dt.datetime) -> None:
    conn.execute(
        update(web_session)
        .where(web_session.c.user_id == user_id, web_session.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def _check_name(text: str, what: str, limit: int = MAX_NAME) -> str:
    text = " ".join(text.split())
    if not text or len(text) > limit:
        raise InvalidRequest(f"{what} must be 1 to {limit} characters")
    return text


# -- first start ------------------------------------------------------------------------------


def needs_setup(conn: Connection) -> bool:
    """True only while the database has no user at all (HZ-55).

    Set-up makes the first account, an operator, in a new clinic; once anyone exists - a web
    account or a command-line user, active or not - it never runs again, so losing every
    operator can never reopen it (an operator is made by another operator, see
    :func:`set_operator`).
    """
    return int(conn.execute(select(func.count()).select_from(app_user)).scalar_one()) == 0


def new_setup_link(conn: Connection, digest: str, now: dt.datetime, expires_at: dt.datetime) -> str:
    """Replace any unused set-up link with a new one (each start prints a fresh link)."""
    if not needs_setup(conn):
        raise Conflict("Backstory is already set up")
    conn.execute(
        delete(account_link).where(
            account_link.c.purpose == "setup", account_link.c.used_at.is_(None)
        )
    )
    return _insert_link(conn, "setup", digest, None, "system:setup", now, expires_at)


def setup_link(conn: Connection, digest: str, now: dt.datetime) -> AccountLink | None:
    """The set-up link behind a digest, while it can still be used."""
    if not needs_setup(conn):
        return None
    return _usable_link(conn, digest, ("setup",), now)


def complete_setup(
    conn: Connection,
    digest: str,
    username: str,
    password_hash: str,
    clinic_name: str,
    now: dt.datetime,
) -> User:
    """Create the first account: the admin of a new clinic and an operator (link used up).

    Only on a database with no user yet, and never in a clinic that exists already (a
    clinic's patients are never handed to whoever holds a set-up link).
    """
    users.lock_accounts(conn)
    link = setup_link(conn, digest, now)
    if link is None:
        raise NotFound("this set-up link is not valid any more")
    name = _check_name(clinic_name, "the clinic's name", 200)
    if clinic_by_name(conn, name) is not None:
        raise Conflict(f"a clinic named {name!r} exists already; choose another name")
    cid = users.clinic_id(conn, name, create=True)
    uid = _insert_user(
        conn, cid, username, "admin", operator=True, password_hash=password_hash, now=now
    )
    _use_link(conn, link.id, now)
    audit.record(conn, username, "user.bootstrap", "user", uid, role="admin", operator=True)
    found = _user_by_id(conn, uid)
    assert found is not None
    return found


# -- signing in and sessions --------------------------------------------------------------------


def account_for_signin(conn: Connection, username: str) -> Account | None:
    """An active user's account with a password set, or None (never says which is missing)."""
    row = conn.execute(
        select(app_user.c.id, account.c.password_hash, account.c.operator)
        .join(account, account.c.user_id == app_user.c.id)
        .where(app_user.c.username == username, app_user.c.active.is_(True))
    ).one_or_none()
    if row is None or row.password_hash is None:
        return None
    user = _user_by_id(conn, row.id)
    assert user is not None
    return Account(user, row.password_hash, bool(row.operator))


def create_session(conn: Connection, user: User, digest: str, now: dt.datetime) -> None:
    conn.execute(
        insert(web_session).values(
            digest=digest, user_id=user.id, created_at=now, last_seen=now, revoked_at=None
        )
    )
    audit.record(conn, user.username, "session.signin", "user", user.id)


def load_session(
    conn: Connection,
    digest: str,
    now: dt.datetime,
    *,
    idle: dt.timedelta,
    lifetime: dt.timedelta,
) -> SessionInfo | None:
    """The live session behind a digest: not revoked, not idle too long, not too old, and its
    user still active. Touches last-seen (at most once a minute)."""
    row = conn.execute(select(web_session).where(web_session.c.digest == digest)).one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    created, seen = as_utc(row.created_at), as_utc(row.last_seen)
    if now - seen > idle or now - created > lifetime:
        conn.execute(
            update(web_session).where(web_session.c.digest == digest).values(revoked_at=now)
        )
        return None
    user = _user_by_id(conn, row.user_id)
    if user is None or not user.active:
        return None
    if (now - seen).total_seconds() >= SESSION_TOUCH_SECONDS:
        conn.execute(
            update(web_session).where(web_session.c.digest == digest).values(last_seen=now)
        )
        seen = now
    return SessionInfo(digest, user, is_operator(conn, user.id), created, seen)


def end_session(conn: Connection, digest: str, now: dt.datetime) -> None:
    """Revoke a session (signing out); audited when it was live."""
    row = conn.execute(select(web_session).where(web_session.c.digest == digest)).one_or_none()
    if row is None or row.revoked_at is not None:
        return
    conn.execute(update(web_session).where(web_session.c.digest == digest).values(revoked_at=now))
    user = _user_by_id(conn, row.user_id)
    if user is not None:
        audit.record(conn, user.username, "session.signout", "user", user.id)


# -- a clinic's users ---------------------------------------------------------------------------


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
        found = _user_by_id(conn, row.id)
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
    uid = _insert_user(
        conn, actor.clinic_id, username, role, operator=False, password_hash=None, now=now
    )
    _insert_link(conn, "invite", digest, uid, actor.username, now, expires_at)
    audit.record(conn, actor.username, "user.invite", "user", uid, role=role)
    found = _user_by_id(conn, uid)
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
    found = _clinic_user(conn, actor, user_id)
    users.guard_operator_account(conn, actor, found, "reset the password of")
    if not found.active:
        raise Conflict(f"user {found.username!r} is not active")
    if conn.execute(select(account.c.user_id).where(account.c.user_id == found.id)).first() is None:
        conn.execute(
            insert(account).values(
                user_id=found.id, password_hash=None, operator=False, updated_at=now
            )
        )
    conn.execute(
        update(account)
        .where(account.c.user_id == found.id)
        .values(password_hash=None, updated_at=now)
    )
    _revoke_sessions(conn, found.id, now)
    conn.execute(
        delete(account_link).where(
            account_link.c.user_id == found.id, account_link.c.used_at.is_(None)
        )
    )
    _insert_link(conn, "reset", digest, found.id, actor.username, now, expires_at)
    audit.record(conn, actor.username, "user.reset", "user", found.id)
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
    if (
        conn.execute(select(account.c.user_id).where(account.c.user_id == target.id)).first()
        is None
    ):
        conn.execute(
            insert(account).values(
                user_id=target.id, password_hash=None, operator=False, updated_at=now
            )
        )
    values: dict[str, Any] = {"password_hash": None, "updated_at": now}
    if operator:
        values["operator"] = True
    conn.execute(update(account).where(account.c.user_id == target.id).values(**values))
    _revoke_sessions(conn, target.id, now)
    conn.execute(
        delete(account_link).where(
            account_link.c.user_id == target.id, account_link.c.used_at.is_(None)
        )
    )
    _insert_link(conn, "reset", digest, target.id, actor.username, now, expires_at)
    audit.record(conn, actor.username, "user.reset", "user", target.id)
    if operator:
        audit.record(conn, actor.username, "user.operator", "user", target.id, operator=True)
    return target


def deactivate(conn: Connection, actor: User, user_id: str, now: dt.datetime) -> User:
    """Stop a user of the admin's clinic from signing in; their sessions end at once."""
    users.require_admin(actor, "deactivate users")
    found = _clinic_user(conn, actor, user_id)
    if found.id == actor.id:
        raise Conflict("you cannot deactivate yourself")
    users.guard_operator_account(conn, actor, found, "deactivate")
    if not found.active:
        raise Conflict(f"user {found.username!r} is not active")
    users.keep_an_operator(conn, found, "deactivate")
    conn.execute(update(app_user).where(app_user.c.id == found.id).values(active=False))
    _revoke_sessions(conn, found.id, now)
    conn.execute(
        delete(account_link).where(
            account_link.c.user_id == found.id, account_link.c.used_at.is_(None)
        )
    )
    audit.record(conn, actor.username, "user.deactivate", "user", found.id)
    return found


def set_role(conn: Connection, actor: User, user_id: str, role: Role, now: dt.datetime) -> User:
    """Make a user of the admin's clinic a clinician or an admin (not oneself: an admin who
    demoted themselves could leave the clinic without one). An operator's role is changed
    by an operator only."""
    users.require_admin(actor, "change roles")
    if role not in ("clinician", "admin"):
        raise InvalidRequest("the role must be clinician or admin")
    found = _clinic_user(conn, actor, user_id)
    if found.id == actor.id:
        raise Conflict("you cannot change your own role")
    users.guard_operator_account(conn, actor, found, "change the role of")
    if not found.active:
        raise Conflict(f"user {found.username!r} is not active")
    if found.role == role:
        raise Conflict(f"user {found.username!r} is already a {role}")
    conn.execute(update(app_user).where(app_user.c.id == found.id).values(role=role))
    _revoke_sessions(conn, found.id, now)
    audit.record(conn, actor.username, "user.role", "user", found.id, role=role)
    changed = _user_by_id(conn, found.id)
    assert changed is not None
    return changed


def set_operator(
    conn: Connection, actor: User, user_id: str, operator: bool, now: dt.datetime
) -> User:
    """Give or take the operator right (operators only, within their own clinic). The last
    active operator keeps it; a user who loses it has their sessions ended."""
    require_operator(conn, actor, "make or unmake operators")
    users.require_admin(actor, "make or unmake operators")
    found = _clinic_user(conn, actor, user_id)
    if not found.active:
        raise Conflict(f"user {found.username!r} is not active")
    users.lock_accounts(conn)
    if is_operator(conn, found.id) == operator:
        state = "already" if operator else "not"
        raise Conflict(f"user {found.username!r} is {state} an operator")
    if not operator:
        users.keep_an_operator(conn, found, "demote")
    if conn.execute(select(account.c.user_id).where(account.c.user_id == found.id)).first() is None:
        conn.execute(
            insert(account).values(
                user_id=found.id, password_hash=None, operator=operator, updated_at=now
            )
        )
    conn.execute(
        update(account)
        .where(account.c.user_id == found.id)
        .values(operator=operator, updated_at=now)
    )
    if not operator:
        _revoke_sessions(conn, found.id, now)
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
    found = _clinic_user(conn, actor, user_id)
    users.guard_operator_account(conn, actor, found, "clear the sign-in delays of")
    cleared = throttle.clear_user(conn, user_digest(found.username))
    audit.record(conn, actor.username, "user.unlock", "user", found.id, count=cleared)
    return found, cleared


def password_link(conn: Connection, digest: str, now: dt.datetime) -> AccountLink | None:
    """An invitation or reset link, while it can still be used."""
    return _usable_link(conn, digest, ("invite", "reset"), now)


def set_password(conn: Connection, digest: str, password_hash: str, now: dt.datetime) -> User:
    """Set the password through an invitation or reset link, which is then used up."""
    link = password_link(conn, digest, now)
    if link is None or link.user is None:
        raise NotFound("this link is not valid any more; ask your clinic's admin for a new one")
    conn.execute(
        update(account)
        .where(account.c.user_id == link.user.id)
        .values(password_hash=password_hash, updated_at=now)
    )
    _use_link(conn, link.id, now)
    audit.record(conn, link.user.username, "user.password", "user", link.user.id)
    return link.user


# -- API tokens ---------------------------------------------------------------------------------


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
    label = _check_name(name, "the token's name")
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


# -- clinics (operators) ------------------------------------------------------------------------


def list_clinics(conn: Connection, actor: User) -> list[ClinicInfo]:
    """Every clinic with its number of users - and nothing about any patient."""
    require_operator(conn, actor, "list clinics")
    counts: dict[str, int] = dict(
        conn.execute(
            select(app_user.c.clinic_id, func.count()).group_by(app_user.c.clinic_id)
        ).all()
    )
    rows = conn.execute(select(clinic).order_by(clinic.c.name)).all()
    audit.record(conn, actor.username, "clinic.list", "clinic", None)
    return [ClinicInfo(r.id, r.name, int(counts.get(r.id, 0)), as_utc(r.created_at)) for r in rows]


def create_clinic(
    conn: Connection,
    actor: User,
    name: str,
    admin_username: str,
    digest: str,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> tuple[str, User]:
    """A new clinic and its first admin, who sets a password through the link."""
    require_operator(conn, actor, "create clinics")
    label = _check_name(name, "the clinic's name", 200)
    taken = conn.execute(select(clinic.c.id).where(clinic.c.name == label)).scalar_one_or_none()
    if taken is not None:
        raise Conflict(f"a clinic named {label!r} exists already")
    cid = users.clinic_id(conn, label, create=True)
    audit.record(conn, actor.username, "clinic.create", "clinic", cid)
    uid = _insert_user(
        conn, cid, admin_username, "admin", operator=False, password_hash=None, now=now
    )
    _insert_link(conn, "invite", digest, uid, actor.username, now, expires_at)
    audit.record(conn, actor.username, "user.invite", "user", uid, role="admin")
    found = _user_by_id(conn, uid)
    assert found is not None
    return cid, found


def clinic_by_name(conn: Connection, name: str) -> str | None:
    found = conn.execute(select(clinic.c.id).where(clinic.c.name == name)).scalar_one_or_none()
    return str(found) if found is not None else None


def clinic_name(conn: Connection, clinic_id: str) -> str:
    return str(conn.execute(select(clinic.c.name).where(clinic.c.id == clinic_id)).scalar_one())


def clinic_patient_count(conn: Connection, clinic_id: str) -> int:
    """How many patients the clinic has."""
    query = select(func.count()).select_from(patient).where(patient.c.clinic_id == clinic_id)
    return int(conn.execute(query).scalar_one())


def first_operator_clinic(conn: Connection) -> str | None:
    """The clinic of the first operator (where ``serve --demo`` puts its patients)."""
    found = conn.execute(
        select(app_user.c.clinic_id)
        .join(account, account.c.user_id == app_user.c.id)
        .where(account.c.operator.is_(True))
        .order_by(app_user.c.created_at)
        .limit(1)
    ).scalar_one_or_none()
    return str(found) if found is not None else None


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
