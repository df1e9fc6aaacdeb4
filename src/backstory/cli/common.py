"""Helpers shared by the CLI commands: reading input, writing output, failing in plain words."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

EXIT_INVALID = 2


def fail(message: str, code: int = EXIT_INVALID) -> NoReturn:
    """Print a plain error to standard error and exit (nothing goes to standard output)."""
    click.echo(f"backstory: {message}", err=True)
    sys.exit(code)


def read_text(path: str) -> str:
    """Read a UTF-8 file (a byte-order mark is dropped), or standard input for '-'.

    Every way a read can fail becomes a plain message and exit 2, never a traceback.
    """
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8-sig") as fh:
            return fh.read()
    except FileNotFoundError:
        fail(f"{path} does not exist (no such file)")
    except IsADirectoryError:
        fail(f"{path} is a folder, not a file")
    except PermissionError:
        fail(f"not allowed to read {path}")
    except UnicodeDecodeError:
        fail(f"{path} is not plain text (UTF-8)")
    except OSError as exc:
        fail(f"{path} could not be read ({exc.strerror or exc})")


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
