"""Account boundaries, sign-in back-off and refused reads in storage alone (HZ-55 to HZ-58),
on SQLite and PostgreSQL: the rules hold whatever adapter calls them."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select

from backstory.storage import Database, Store, audit, refusals, users
from backstory.storage import accounts as acc
from backstory.storage import throttle as store
from backstory.storage.errors import Conflict, NotAllowed
from backstory.storage.tables import signin_failure
from backstory.storage.users import User

NOW = dt.datetime(2026, 12, 6, 9, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(hours=1)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _first_operator(db: Database, clinic: str = "Operations") -> User:
    db.transaction(lambda conn: acc.new_setup_link(conn, _digest("setup"), NOW, LATER))
    return db.transaction(
        lambda conn: acc.complete_setup(conn, _digest("setup"), "root", "hash", clinic, NOW)
    )


def _invite(db: Database, by: User, name: str, role: str) -> User:
    return db.transaction(
        lambda conn: acc.invite_user(conn, by, name, role, _digest(name), NOW, LATER)  # type: ignore[arg-type]
    )


def test_setup_needs_an_empty_database(db: Database) -> None:
    assert db.transaction(acc.needs_setup)
    Store(db, "alice").whoami()  # the command line's first user
    assert not db.transaction(acc.needs_setup)
    with pytest.raises(Conflict):
        db.transaction(lambda conn: acc.new_setup_link(conn, _digest("late"), NOW, LATER))


def test_setup_refuses_an_existing_clinic(db: Database) -> None:
    db.transaction(lambda conn: users.clinic_id(conn, "Taken", create=True))
    db.transaction(lambda conn: acc.new_setup_link(conn, _digest("s"), NOW, LATER))
    with pytest.raises(Conflict):
        db.transaction(lambda conn: acc.complete_setup(conn, _digest("s"), "x", "h", "Taken", NOW))
    assert db.transaction(acc.needs_setup)


def test_operator_accounts_are_for_operators_only(db: Database) -> None:
    root = _first_operator(db)
    admin = _invite(db, root, "admin-o", "admin")
    with pytest.raises(NotAllowed):
        db.transaction(
            lambda conn: acc.reset_password(conn, admin, root.id, _digest("r"), NOW, LATER)
        )
    with pytest.raises(NotAllowed):
        db.transaction(lambda conn: acc.deactivate(conn, admin, root.id, NOW))
    with pytest.raises(NotAllowed):
        db.transaction(lambda conn: acc.set_role(conn, admin, root.id, "clinician", NOW))
    with pytest.raises(NotAllowed):
        db.transaction(lambda conn: acc.set_operator(conn, admin, admin.id, True, NOW))
    with pytest.raises(NotAllowed):
        db.transaction(lambda conn: acc.unlock(conn, admin, root.id, _digest))
    with pytest.raises(NotAllowed):
        Store(db, "admin-o").deactivate_user("root")
    with pytest.raises(Conflict):  # the last active operator
        db.transaction(lambda conn: acc.set_operator(conn, root, root.id, False, NOW))
    db.transaction(lambda conn: acc.set_operator(conn, root, admin.id, True, NOW))
    assert db.transaction(users.active_operators) == 2
    db.transaction(lambda conn: acc.set_operator(conn, admin, root.id, False, NOW))
    assert db.transaction(lambda conn: users.is_active_operator(conn, root.id)) is False
    actions = [e.action for e in db.transaction(lambda conn: audit.events(conn))]
    assert actions.count("user.operator") == 2


BACKOFF = store.Backoff(
    dt.timedelta(seconds=1), dt.timedelta(seconds=900), dt.timedelta(seconds=3600)
)


def _begin(db: Database, user: str, address: str | None, at: dt.datetime) -> bool:
    """Whether an attempt is let through (and so recorded)."""
    u = store.Limit("user", store.user_key(_digest(user), _digest(address or "dev")), 5)
    a = store.Limit("address", _digest(address), 20) if address else None
    got = db.transaction(lambda conn: store.begin_attempt(conn, u, a, at, BACKOFF))
    return not isinstance(got, dt.timedelta)


def test_back_off_boundaries_in_storage(db: Database) -> None:
    for _ in range(5):
        assert _begin(db, "u", "addr", NOW)
    assert not _begin(db, "u", "addr", NOW + dt.timedelta(milliseconds=999))  # just below
    assert _begin(db, "u", "addr", NOW + dt.timedelta(seconds=1))  # at the wait
    assert _begin(db, "other", "addr", NOW)  # another user name from the same address


def test_an_address_over_its_limit_takes_the_free_failures_away(db: Database) -> None:
    for n in range(18):
        assert _begin(db, f"spray-{n}", "addr", NOW)
    assert _begin(db, "fresh", "addr", NOW)  # the address's 19th failure
    assert _begin(db, "fresh", "addr", NOW)  # just below the limit: free failures left
    assert not _begin(db, "fresh", "addr", NOW)  # at 20: none left, so this try waits
    assert _begin(db, "newcomer", "addr", NOW)  # but nobody is refused outright


def test_clear_user_forgets_one_user_from_every_place(db: Database) -> None:
    for address in ("a1", "a2"):
        for _ in range(5):
            assert _begin(db, "victim", address, NOW)
    for _ in range(5):
        assert _begin(db, "bystander", "a1", NOW)
    assert db.transaction(lambda conn: store.clear_user(conn, _digest("victim"))) == 10
    assert _begin(db, "victim", "a1", NOW) and _begin(db, "victim", "a2", NOW)
    assert not _begin(db, "bystander", "a1", NOW)
    kinds = db.transaction(
        lambda conn: [r.kind for r in conn.execute(select(signin_failure.c.kind))]
    )
    assert kinds.count("address") == 17  # the addresses keep their counts


def test_record_refusal_keeps_issued_ids_and_digests_anything_else(db: Database) -> None:
    root = _first_operator(db)
    _cid, alice = db.transaction(
        lambda conn: acc.create_clinic(conn, root, "A", "alice", _digest("a"), NOW, LATER)
    )
    _cid, bob = db.transaction(
        lambda conn: acc.create_clinic(conn, root, "B", "bob", _digest("b"), NOW, LATER)
    )
    mine = Store(db, "alice").add_patient("ref-mine")

    def refuse(actor: User, value: str, resource: str = "patient") -> bool:
        return db.transaction(
            lambda conn: refusals.record_refusal(
                conn, actor, resource, {"patient_id": value}, 404, lambda v: _digest("k" + v)
            )
        )

    assert not refuse(alice, mine.id)  # her own patient: nothing refused
    assert refuse(bob, mine.id.lower())  # another clinic's issued id, however written
    assert refuse(bob, "943 476 5919")
    rows = [e for e in db.transaction(lambda conn: audit.events(conn)) if e.action == "refused"]
    assert [(e.actor, e.record_type, e.record_id, e.patient_id) for e in rows] == [
        ("bob", "patient", mine.id, None),
        ("bob", "patient", "h:" + _digest("k943 476 5919")[:38], None),
    ]
    assert all("ref-mine" not in str(e.to_dict()) for e in rows)
    with pytest.raises(ValueError):
        refuse(bob, mine.id, "clinic")
