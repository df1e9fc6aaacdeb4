"""Helpers shared by the CLI commands: reading input and failing with plain words."""

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
    """Read a file, or standard input for '-', with plain errors instead of tracebacks."""
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        fail(f"no such file: {path}")
    except IsADirectoryError:
        fail(f"{path} is a folder, not a file")
    except PermissionError:
        fail(f"not allowed to read {path}")
    except UnicodeDecodeError:
        fail(f"{path} is not UTF-8 text")
