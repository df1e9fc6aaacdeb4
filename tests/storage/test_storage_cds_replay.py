"""CDS client JWT ids in the database: remembered until expiry, purged, and - when two
connections race on one ``jti`` - recorded by exactly one of them."""

from __future__ import annotations

import datetime as dt
import threading

from alembic import command
from sqlalchemy import func, inspect, select

from backstory.storage import Database
from backstory.storage import cds_replay as replay
from backstory.storage.tables import cds_jti
from backstory.web.cds_replay import DatabaseReplay

NOW = dt.datetime(2026, 12, 6, 10, 0, tzinfo=dt.UTC)


def rows(db: Database) -> int:
    query = select(func.count()).select_from(cds_jti)
    return int(db.transaction(lambda c: c.execute(query).scalar_one()))


def test_a_jti_is_refused_until_its_token_expires(db: Database) -> None:
    until = NOW + dt.timedelta(minutes=6)

    def remember(client: str, jti: str, now: dt.datetime) -> bool:
        return db.transaction(lambda c: replay.remember(c, client, jti, until, now))

    assert remember("ehr-a", "j-1", NOW) is True
    assert remember("ehr-a", "j-1", NOW + dt.timedelta(minutes=1)) is False
    assert remember("ehr-a", "j-1", until) is False  # still valid at the very second
    assert remember("ehr-b", "j-1", NOW) is True  # another client's ids are its own
    assert remember("ehr-a", "j-1", until + dt.timedelta(seconds=1)) is True  # expired: new
    stored = db.transaction(lambda c: c.execute(select(cds_jti.c.digest)).scalars().all())
    assert "j-1" not in stored and all(len(d) == 64 for d in stored)


def test_expired_records_are_purged(db: Database) -> None:
    for i, minutes in enumerate((1, 2, 10)):
        until = NOW + dt.timedelta(minutes=minutes)
        db.transaction(lambda c, i=i, until=until: replay.remember(c, "ehr-a", f"j{i}", until, NOW))
    assert db.transaction(lambda c: replay.purge(c, NOW + dt.timedelta(minutes=5))) == 2
    assert rows(db) == 1


def test_the_web_store_answers_new_and_seen_and_purges(db: Database) -> None:
    clock = [NOW]
    store = DatabaseReplay(db, lambda: clock[0])
    now = NOW.timestamp()
    assert store.add("ehr-a", "x", now + 300, now) == "new"
    assert store.add("ehr-a", "x", now + 300, now + 10) == "seen"
    clock[0] = NOW + dt.timedelta(minutes=10)
    assert store.purge() == 1 and rows(db) == 0


def test_two_connections_racing_on_one_jti_exactly_one_wins(db_url: str, db: Database) -> None:
    """Each thread has its own Database (its own connections), as two processes would."""
    until = NOW + dt.timedelta(minutes=5)
    for round_ in range(8):
        jti = f"race-{round_}"
        gate = threading.Barrier(4)
        won: list[bool] = []

        def attempt(jti: str = jti, gate: threading.Barrier = gate, won: list[bool] = won) -> None:
            other = Database(db_url)
            try:
                gate.wait(30)
                new = other.transaction(lambda c: replay.remember(c, "ehr-a", jti, until, NOW))
                won.append(new)
            finally:
                other.close()

        threads = [threading.Thread(target=attempt) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(won) == [False, False, False, True], won


def test_upgrade_from_0003_adds_the_table(db: Database) -> None:
    db.transaction(lambda conn: command.downgrade(db._alembic(conn), "0003"))
    assert not db.transaction(lambda conn: inspect(conn).has_table("cds_jti"))
    assert db.upgrade() == ("0003", db.head_revision())
    assert db.transaction(lambda conn: inspect(conn).has_table("cds_jti"))
