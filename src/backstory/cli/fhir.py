"""`backstory fhir questionnaire|import|export`: the FHIR R4 adapter on the command line."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, NoReturn

import click

from backstory.cli.common import fail, fail_invalid, read_text
from backstory.cli.stored import open_store, plain_errors, storage_options
from backstory.contract import AssessmentError, parse_assessment_json
from backstory.core.engine import assess
from backstory.explain import explain_report, render
from backstory.fhir import (
    PatientText,
    export_bundle,
    forms_bundle,
    questionnaire,
    questionnaire_names,
    response_to_assessment,
)
from backstory.knowledge.loader import load_knowledge


def _echo(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _invalid(what: str, exc: AssessmentError, nothing: str) -> NoReturn:
    fail_invalid(what, exc, nothing)


@click.group("fhir")
def fhir_group() -> None:
    """FHIR R4: generate Questionnaires, import a QuestionnaireResponse, export a Bundle."""


@fhir_group.command("questionnaire")
@click.argument("name", metavar="NAME")
def questionnaire_command(name: str) -> None:
    """Print one Questionnaire as JSON, or (all) a Bundle of every form and code system.

    NAME is assessment, intake, an instrument's id (startback, odi, rmdq, ...) or all.
    """
    names = questionnaire_names()
    if name != "all" and name not in names:
        fail(f"no Questionnaire {name!r}: choose one of {', '.join((*names, 'all'))}")
    _echo(forms_bundle() if name == "all" else questionnaire(name))


@fhir_group.command("import")
@click.argument("file", metavar="FILE")
def import_command(file: str) -> None:
    """Turn a QuestionnaireResponse (JSON file, or - for standard input) into an assessment.

    Prints the assessment JSON. Exit status 2 with the problems on standard error for an
    unknown linkId, a bad answer or anything else the contract refuses.
    """
    text = read_text(file)
    try:
        assessment = response_to_assessment(text, today=dt.date.today())
    except AssessmentError as exc:
        _invalid("the QuestionnaireResponse", exc, "imported")
    _echo(assessment)


@fhir_group.command("export")
@click.argument("file", metavar="FILE", required=False)
@click.option(
    "--patient",
    metavar="ID",
    help="Export the stored patient's latest assessment instead of a FILE.",
)
@storage_options
@click.option(
    "--explanation",
    "explanation",
    metavar="PATH",
    help="Attach this rendered explanation instead (.html as HTML, otherwise plain text).",
)
@click.option(
    "--no-explanation",
    "no_explanation",
    is_flag=True,
    help="Leave the patient explanation (DocumentReference) out.",
)
@click.option(
    "--recorded",
    metavar="DATETIME",
    help="When the export is recorded (ISO 8601 with a time zone); default now.",
)
def export_command(
    file: str | None,
    patient: str | None,
    database: str | None,
    user: str | None,
    explanation: str | None,
    no_explanation: bool,
    recorded: str | None,
) -> None:
    """Assess an assessment (JSON file, or - for standard input) and print a FHIR Bundle.

    The patient leaflet (`backstory explain`, as HTML) is attached as a DocumentReference
    unless --no-explanation is given. Exit status 2 for an invalid assessment (errors on
    standard error).
    """
    if explanation is not None and no_explanation:
        fail("give --explanation or --no-explanation, not both")
    if (file is None) == (patient is None):
        fail("give either an assessment FILE or --patient ID")
    subject = None
    if patient is not None:
        text, subject = _stored(patient, database, user)
    else:
        assert file is not None
        text = read_text(file)
    try:
        assessment = parse_assessment_json(text, load_knowledge().contract, today=dt.date.today())
    except AssessmentError as exc:
        _invalid("the assessment", exc, "exported")
    when: dt.datetime | None = None
    if recorded is not None:
        try:
            when = dt.datetime.fromisoformat(recorded)
        except ValueError:
            fail(f"--recorded {recorded!r} is not an ISO 8601 date and time")
        if when.tzinfo is None:
            fail("--recorded needs a time zone, for example 2026-01-05T10:00:00+00:00")
    report = assess(assessment, load_knowledge())
    attached = None
    if explanation is not None:
        html = Path(explanation).suffix.lower() in (".html", ".htm")
        attached = PatientText(read_text(explanation), "text/html" if html else "text/plain")
    elif not no_explanation:
        doc = explain_report(report, assessment.answers)
        attached = PatientText(render(doc, "html"), "text/html", doc.title, doc.lang)
    _echo(
        export_bundle(
            assessment, report=report, explanation=attached, recorded=when, subject=subject
        )
    )


def _stored(patient: str, database: str | None, user: str | None) -> tuple[str, dict[str, str]]:
    """The latest current assessment of a stored patient (the read is audited as a view)."""
    with open_store(database, user) as store, plain_errors():
        record = store.patient_record(patient)
    latest = [a for ep in record.episodes for a in ep.current]
    if not latest:
        fail(f"patient {record.patient.id} has no stored assessment")
    newest = max(latest, key=lambda a: (a.assessment.assessed_on, a.assessment.created_at))
    return newest.assessment.source_json, {"reference": f"Patient/{record.patient.id}"}
