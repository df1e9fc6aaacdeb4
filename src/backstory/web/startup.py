"""What ``backstory serve`` does before it listens: schema, demo data, the set-up link.

Kept out of the command so tests can run it without starting a server. The set-up link is
random, stored only as a digest, signed, expires after ``link_hours`` and works once; each
start before set-up is finished prints a fresh one (and the older one stops working).
"""

from __future__ import annotations

import datetime as dt
import logging.config
from dataclasses import dataclass

from backstory.storage import Database
from backstory.storage import accounts as acc
from backstory.storage.database import utcnow
from backstory.storage.drafts import expire_drafts
from backstory.web.demo import demo_clinic, load_demo
from backstory.web.links import new_link
from backstory.web.security import Signer
from backstory.web.settings import Settings


@dataclass(frozen=True)
class Prepared:
    setup_url: str | None
    demo_added: int
    demo_clinic: str | None
    demo_after_setup: bool = False
    """The demo patients wait for set-up: they go to the clinic it creates."""


def prepare(db: Database, settings: Settings, base_url: str, *, demo: bool = False) -> Prepared:
    """Create or check the schema, load the demo patients if asked, make the set-up link.

    On a database with no user yet the demo patients are not loaded here: set-up never joins
    an existing clinic (HZ-55), so they go to the clinic that set-up creates.
    """
    db.ensure_schema()
    # questionnaire drafts whose links expired while the server was down go now (HZ-120)
    db.transaction(lambda conn: expire_drafts(conn, utcnow()))
    added, clinic_name = 0, None
    empty = db.transaction(acc.needs_setup)
    if demo and not empty:
        cid = demo_clinic(db)
        added = load_demo(db, cid)
        clinic_name = db.transaction(lambda conn: acc.clinic_name(conn, cid))
    setup_url = None
    if db.transaction(acc.needs_setup):
        token, digest = new_link(Signer(settings.secret_key), "account-link")
        now = utcnow()
        expires = now + dt.timedelta(hours=settings.link_hours)
        db.transaction(lambda conn: acc.new_setup_link(conn, digest, now, expires))
        setup_url = f"{settings.public_url or base_url}/setup/{token}"
    return Prepared(setup_url, added, clinic_name, demo and empty)


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "stream": "ext://sys.stderr",
        },
    },
    "loggers": {
        "backstory": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        # uvicorn's access log prints raw paths and query strings (patient references in a
        # search, link tokens): it stays off; backstory.web logs route templates instead.
        "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        "sqlalchemy": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
    },
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}
"""Logging for the server: no access log of raw URLs, no SQL, nothing from request bodies."""


def configure_logging() -> None:
    logging.config.dictConfig(LOGGING)
