"""`backstory explain FILE [--audience patient|clinician] [--format ...] [-o OUT]
[--patient REF --clinic NAME --clinician NAME [--clinic-phone PHONE]]`.

A thin adapter over ``backstory.explain``: it reads the same assessment file as ``assess``
(``-`` for standard input) and prints or writes the patient leaflet or the clinician summary.
A PDF can name its owner on every page, as the web app's PDFs do: the patient reference, the
clinic (with its phone number, on the leaflet's contact section) and the clinician.
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
from backstory.explain import (
    FORMATS,
    ClinicContact,
    DocumentOwner,
    TextFormat,
    explain_report,
    render,
    render_pdf,
)
from backstory.knowledge.loader import load_knowledge

MAX_OWNER = 100
"""The longest patient reference, clinic or clinician name a PDF's margin takes."""


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
@click.option("--patient", "patient_ref", metavar="REF", help="PDF: the patient's reference.")
@click.option("--clinic", metavar="NAME", help="PDF: the clinic the document comes from.")
@click.option("--clinician", metavar="NAME", help="PDF: the clinician responsible.")
@click.option("--clinic-phone", metavar="PHONE", help="PDF: the clinic's phone number.")
def explain_command(
    file: str,
    audience: str,
    fmt: str,
    output: str | None,
    patient_ref: str | None,
    clinic: str | None,
    clinician: str | None,
    clinic_phone: str | None,
) -> None:
    """Explain one assessment (JSON file, or - for standard input) in plain words.

    Prints the patient leaflet (or, with --audience clinician, the clinician summary) as
    text unless another format is chosen. A PDF names its owner on every page when given
    --patient, --clinic and --clinician (all three; --clinic-phone adds the clinic's number
    to the leaflet's contact section). Exit status 0 on success, 2 for an invalid
    assessment or a usage problem (errors on standard error).
    """
    if fmt == "pdf" and not output:
        fail("a PDF cannot go to the terminal; give a file with -o, for example -o leaflet.pdf")
    owner = _owner_options(
        fmt, {"--patient": patient_ref, "--clinic": clinic, "--clinician": clinician}, clinic_phone
    )
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
        named = None
        if owner is not None:
            today = dt.date.today()
            named = DocumentOwner(
                patient_reference=owner["--patient"],
                clinic=ClinicContact(owner["--clinic"], phone=clinic_phone),
                clinician=owner["--clinician"],
                on=dt.date.fromisoformat(report.assessed_on) if report.assessed_on else today,
                printed=today,
            )
        write_output(output, render_pdf(doc, named))
        return
    rendered = render(doc, cast(TextFormat, fmt))
    if output:
        write_output(output, rendered)
    else:
        click.echo(rendered, nl=False)


def _owner_options(
    fmt: str, parts: dict[str, str | None], phone: str | None
) -> dict[str, str] | None:
    """The PDF owner's patient reference, clinic and clinician (spaces folded), or None when
    none is given; a usage error unless all three are given, with --format pdf."""
    given = [k for k, v in (*parts.items(), ("--clinic-phone", phone)) if v is not None]
    if not given:
        return None
    if fmt != "pdf":
        fail(f"{', '.join(given)} name the owner of a PDF; add --format pdf -o FILE")
    named = {k: " ".join((v or "").split()) for k, v in parts.items()}
    for option, value in (*named.items(), ("--clinic-phone", phone or "")):
        if option in named and not value:
            fail(f"a PDF names its owner with --patient, --clinic and --clinician; give {option}")
        if len(value) > MAX_OWNER:
            fail(f"{option} must be at most {MAX_OWNER} characters")
    return named
