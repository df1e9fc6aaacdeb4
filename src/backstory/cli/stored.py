"""What every command on stored records shares: --database and --user, and plain errors.

The actor is ``--user``, else ``BACKSTORY_USER``, else the login name; it goes into the
audit log of every command that touches patient data. Errors are one line on standard error
with exit status 2 for bad input and 1 for a database problem - never a traceback, and never
a database driver's message (those can quote stored values).
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from backstory.cli.common import EXIT_INVALID, fail
from backstory.storage import DATABASE_ERRORS, Database, StorageError, Store, resolve_url

ENV_USER = "BACKSTORY_USER"
F = TypeVar("F", bound=Callable[..., Any])


def storage_options(func: F) -> F:
    """Add ``--database URL`` and ``--user NAME`` to a command."""
    func = click.option(
        "--user",
        metavar="NAME",
        help=f"Who is acting, for the audit log (default: ${ENV_USER}, else your login name).",
    )(func)
    func = click.option(
        "--database",
        metavar="URL",
        help="Database URL (default: $BACKSTORY_DATABASE_URL, else SQLite in your data folder).",
    )(func)
    return func


def actor_name(user: str | None) -> str:
    """The acting user's name: --user, then $BACKSTORY_USER, then the login name."""
    if user:
        return user
    if os.environ.get(ENV_USER):
        return os.environ[ENV_USER]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        fail(f"cannot tell who you are; give --user NAME or set {ENV_USER}")


@contextmanager
def plain_errors() -> Iterator[None]:
    """Turn storage and database failures into one plain line and an exit status."""
    try:
        yield
    except StorageError as exc:
        fail(str(exc), code=exc.exit_code)
    except DATABASE_ERRORS as exc:
        fail(f"database error ({type(exc).__name__}); nothing was changed", code=1)
    except OSError as exc:
        fail(f"{exc.strerror or 'input/output error'}: {exc.filename or ''}".rstrip(": "), code=1)


@contextmanager
def open_database(database: str | None, *, ensure: bool = True) -> Iterator[Database]:
    """The database (schema created when new, refused when out of date), closed afterwards."""
    with plain_errors():
        db = Database(resolve_url(database))
        try:
            if ensure:
                db.ensure_schema()
            yield db
        finally:
            db.close()


@contextmanager
def open_store(database: str | None, user: str | None) -> Iterator[Store]:
    """The records as the acting user sees them."""
    actor = actor_name(user)
    with open_database(database) as db:
        yield Store(db, actor)


def parse_date(value: str | None, option: str) -> dt.date | None:
    """A YYYY-MM-DD option value, or a plain error."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date written YYYY-MM-DD, not {value!r}", code=EXIT_INVALID)
