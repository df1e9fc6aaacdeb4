"""``backstory imaging``: explain a spine scan report in plain words.

A thin adapter: it reads the report, checks the age, and hands both to the pure core.
Every mistake a person can make (missing file, bad age, empty report) ends with a plain
message on stderr, nothing on stdout, and exit status 2, never a traceback.
"""

from __future__ import annotations

import json

import click

from backstory.cli.common import fail, read_text
from backstory.imaging import (
    MAX_AGE,
    MIN_AGE,
    ScanInputError,
    explain_scan,
    render_text,
)


def _parse_age(text: str) -> int:
    cleaned = text.strip()
    if not cleaned.lstrip("+-").isdigit() or not cleaned.isascii():
        fail(f"the age must be a whole number of years, for example --age 45 (got {text!r}).")
    age = int(cleaned)
    if age < MIN_AGE:
        fail(f"this explainer is for people aged {MIN_AGE} and over (got {age}).")
    if age > MAX_AGE:
        fail(f"an age of {age} is above {MAX_AGE}; please check the age.")
    return age


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
    text = read_text(report)
    try:
        explanation = explain_scan(text, age)
    except ScanInputError as exc:
        fail(str(exc))
    if as_json:
        click.echo(json.dumps(explanation.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(explanation), nl=False)
