"""Stored records: patients, episodes, immutable assessments, reports and an audit log.

SQLite by default (one file in the user's data folder) or PostgreSQL via
``BACKSTORY_DATABASE_URL``; schema changes are Alembic migrations shipped in the package.
Storage depends on the core (it stores the core's reports); the core never imports storage::

    from backstory.storage import Database, Store
    with Database("sqlite:///clinic.db") as db:
        db.ensure_schema()
        store = Store(db, actor="alice")
        p = store.add_patient("clinic-ref-17")
        saved = store.save_assessment(p.id, '{"age": 42, "pain": {"back": 6}}')
"""

from sqlalchemy.engine import Connection

from backstory.storage.database import (
    DATABASE_ERRORS,
    ENV_URL,
    Database,
    default_url,
    resolve_url,
)
from backstory.storage.errors import (
    Conflict,
    DatabaseUnavailable,
    InvalidRequest,
    NotAllowed,
    NotFound,
    SchemaMismatch,
    StorageError,
)
from backstory.storage.repository import PatientSummary, Saved, Store

__all__ = [
    "DATABASE_ERRORS",
    "ENV_URL",
    "Conflict",
    "Connection",
    "Database",
    "DatabaseUnavailable",
    "InvalidRequest",
    "NotAllowed",
    "NotFound",
    "PatientSummary",
    "Saved",
    "SchemaMismatch",
    "StorageError",
    "Store",
    "default_url",
    "resolve_url",
]
