"""`backstory explain FILE [--audience patient|clinician] [--format ...] [-o OUT]`.

A thin adapter over ``backstory.explain``: it reads the same assessment file as ``assess``
(``-`` for standard input) and prints or writes the patient leaflet or the clinician summary.
Every mistake ends with a plain message on standard error, nothing on standard output and
exit status 2 - never a traceback.
"""

from __future__ import annotations

import datetime as dt
from typing import cast

import click

from backstory.cli.common import fail, fail_invalid, read_text, write_output
from backstory.contract import AssessmentError, parse_assessment_json
from backstory.core.engine import assess
from backstory.explain import FORMATS, TextFormat, explain_report, render, render_pdf
from backstory.knowledge.loader import load_knowledge


@click.command("explain")
@click.argument("file", metavar="FILE")
@click.option(
    "--audience",
    type=click.Choice(["patient", "clinician"]),
    default="patient",
    show_default=True,
    help="The patient leaflet, or the clinician (and referral) summary.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="Output format; pdf needs -o.",
)
@click.option("-o", "--output", "output", metavar="OUT", help="Write to this file.")
def explain_command(file: str, audience: str, fmt: str, output: str | None) -> None:
    """Explain one assessment (JSON file, or - for standard input) in plain words.

    Prints the patient leaflet (or, with --audience clinician, the clinician summary) as
    text unless another format is chosen. Exit status 0 on success, 2 for an invalid
    assessment or a usage problem (errors on standard error).
    """
    if fmt == "pdf" and not output:
        fail("a PDF cannot go to the terminal; give a file with -o, for example -o leaflet.pdf")
    text = read_text(file)
    try:
        assessment = parse_assessment_json(text, load_knowledge().contract, today=dt.date.today())
    except AssessmentError as exc:
        fail_invalid("the assessment", exc, "explained")
    report = assess(assessment, load_knowledge())
    doc = explain_report(
        report, assessment.answers, "clinician" if audience == "clinician" else "patient"
    )
    if fmt == "pdf":
        assert output is not None
        write_output(output, render_pdf(doc))
        return
    rendered = render(doc, cast(TextFormat, fmt))
    if output:
        write_output(output, rendered)
    else:
        click.echo(rendered, nl=False)
