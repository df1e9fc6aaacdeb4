"""The batch run's own errors: a run that cannot start, and a run whose rows do not add up."""

from __future__ import annotations

from backstory.errors import InputError, IntegrityError


class BatchError(InputError):
    """A problem with the whole run (unreadable file, unknown column): nothing is written."""


class AccountingError(IntegrityError):
    """Rows in did not equal rows scored plus rows rejected: the run is not trusted."""
