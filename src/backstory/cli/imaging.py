"""``backstory imaging``: explain a spine scan report in plain words.

A thin adapter: it reads the report, checks the age, and hands both to the pure core.
Every mistake a person can make (missing file, bad age, empty report) ends with a plain
message on stderr, nothing on stdout, and exit status 2, never a traceback.
"""

from __future__ import annotations

import json
import sys
from typing import NoReturn

import click

from backstory.imaging import (
    MAX_AGE,
    MIN_AGE,
    ScanInputError,
    explain_scan,
    render_text,
)

USAGE_ERROR = 2


def _fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    raise click.exceptions.Exit(USAGE_ERROR)


def _parse_age(text: str) -> int:
    cleaned = text.strip()
    if not cleaned.lstrip("+-").isdigit() or not cleaned.isascii():
        _fail(f"the age must be a whole number of years, for example --age 45 (got {text!r}).")
    age = int(cleaned)
    if age < MIN_AGE:
        _fail(f"this explainer is for people aged {MIN_AGE} and over (got {age}).")
    if age > MAX_AGE:
        _fail(f"an age of {age} is above {MAX_AGE}; please check the age.")
    return age


def _read_report(report: str) -> str:
    if report == "-":
        return sys.stdin.read()
    try:
        with open(report, encoding="utf-8-sig") as fh:
            return fh.read()
    except FileNotFoundError:
        _fail(f"the report file {report!r} does not exist.")
    except IsADirectoryError:
        _fail(f"{report!r} is a folder, not a report file.")
    except UnicodeDecodeError:
        _fail(f"the report file {report!r} is not plain text (UTF-8).")
    except OSError as exc:
        _fail(f"the report file {report!r} could not be read ({exc.strerror or exc}).")


@click.command("imaging")
@click.argument("report", metavar="REPORT")
@click.option(
    "--age",
    "age_text",
    required=True,
    metavar="N",
    help=f"The person's age in whole years ({MIN_AGE}-{MAX_AGE}).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
def imaging_command(report: str, age_text: str, as_json: bool) -> None:
    """Explain the words in a spine scan REPORT (a text file, or - for standard input).

    For each finding the report mentions, it says in plain words what it means and how
    common it is in people of the same age with no back pain. Findings that need prompt
    attention are flagged. This explains the report's words; it is not a diagnosis.
    """
    age = _parse_age(age_text)
    text = _read_report(report)
    try:
        explanation = explain_scan(text, age)
    except ScanInputError as exc:
        _fail(str(exc))
    if as_json:
        click.echo(json.dumps(explanation.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(explanation), nl=False)
