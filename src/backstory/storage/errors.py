"""Storage errors in plain words: what went wrong, never the SQL or the values involved.

The command line prints these messages as they are, so they must never carry patient data;
database driver messages (which can quote values) are never passed through.
"""

from __future__ import annotations

from backstory.errors import BackstoryError


class StorageError(BackstoryError):
    """Base class: a stored-records operation that could not be done."""

    exit_code = 1


class DatabaseUnavailable(StorageError):
    """The database could not be opened or reached."""


class SchemaMismatch(StorageError):
    """The database schema is older or newer than this version of Backstory."""


class InvalidRequest(StorageError):
    """The request itself is wrong: unknown id, bad value, conflict with stored records."""

    exit_code = 2


class NotFound(InvalidRequest):
    """No such record (or one the actor's clinic may not see: the two look the same)."""


class NotAllowed(InvalidRequest):
    """The actor is unknown, inactive or lacks the role for this action."""


class Conflict(InvalidRequest):
    """The change clashes with stored records (a duplicate, an already corrected assessment)."""
