"""Helpers shared by the CLI commands: reading input, writing output, failing in plain words."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from backstory.contract import AssessmentError
from backstory.contract.safejson import MAX_BYTES, size_text

EXIT_INVALID = 2
MAX_INPUT = MAX_BYTES
"""The largest input file or standard input read (1 MiB; an assessment is a few KiB)."""


def fail(message: str, code: int = EXIT_INVALID) -> NoReturn:
    """Print a plain error to standard error and exit (nothing goes to standard output)."""
    click.echo(f"backstory: {message}", err=True)
    sys.exit(code)


def read_text(path: str, limit: int = MAX_INPUT) -> str:
    """Read a UTF-8 file (a byte-order mark is dropped), or standard input for '-'.

    At most ``limit`` bytes are read: a larger input is refused without reading the rest.
    Every way a read can fail becomes a plain message and exit 2, never a traceback.
    """
    name = "standard input" if path == "-" else path
    try:
        if path == "-":
            raw = sys.stdin.buffer.read(limit + 1)
        else:
            with open(path, "rb") as fh:
                raw = fh.read(limit + 1)
    except FileNotFoundError:
        fail(f"{path} does not exist (no such file)")
    except IsADirectoryError:
        fail(f"{path} is a folder, not a file")
    except PermissionError:
        fail(f"not allowed to read {path}")
    except OSError as exc:
        fail(f"{name} could not be read ({exc.strerror or exc})")
    if len(raw) > limit:
        fail(f"{name} is larger than {size_text(limit)}; nothing was read")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        fail(f"{name} is not plain text (UTF-8)")


def fail_invalid(what: str, exc: AssessmentError, nothing: str) -> NoReturn:
    """Exit 2 for an input the contract refuses: one plain line when it could not be read
    at all (not JSON, too large or deep, a huge number), else one line per problem."""
    if len(exc.issues) == 1 and not exc.issues[0].field:
        fail(f"{what} cannot be read: {exc.issues[0].message}; nothing was {nothing}")
    lines = [f"{what} is not valid ({len(exc.issues)} problem(s)); nothing was {nothing}:"]
    lines += [f"  - {issue}" for issue in exc.issues]
    fail("\n".join(lines))


def write_output(path: str, data: str | bytes) -> None:
    """Write text or bytes to ``path`` with plain errors instead of tracebacks."""
    try:
        if isinstance(data, bytes):
            with open(path, "wb") as fh:
                fh.write(data)
        else:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(data)
    except IsADirectoryError:
        fail(f"{path} is a folder, not a file")
    except FileNotFoundError:
        fail(f"cannot write {path}: the folder does not exist")
    except PermissionError:
        fail(f"not allowed to write {path}")
    except OSError as exc:
        fail(f"cannot write {path} ({exc.strerror or exc})")
