"""`backstory assess FILE [--json] [--patient ID [--episode ID] --save]`."""

from __future__ import annotations

import datetime as dt
import json
from typing import NoReturn

import click

from backstory.cli.common import fail, fail_invalid, read_text
from backstory.cli.stored import open_store, storage_options
from backstory.contract import AssessmentError, parse_assessment_json
from backstory.core.engine import assess
from backstory.core.report import Report
from backstory.knowledge.loader import load_knowledge
from backstory.render.text import render_text


def _invalid(exc: AssessmentError, stored: bool) -> NoReturn:
    fail_invalid("the assessment", exc, "assessed or stored" if stored else "assessed")


def _save(
    text: str,
    patient_id: str | None,
    episode_id: str | None,
    corrects: str | None,
    reason: str | None,
    database: str | None,
    user: str | None,
) -> Report:
    if corrects is None and patient_id is None:
        fail("--save needs --patient ID (or --corrects ASSESSMENT_ID with --reason)")
    if corrects is not None and (patient_id is not None or episode_id is not None):
        fail("--corrects replaces an assessment where it is; leave out --patient and --episode")
    if corrects is not None and not reason:
        fail("--corrects needs --reason TEXT saying what was wrong")
    with open_store(database, user) as store:
        if corrects is not None:
            assert reason is not None
            saved = store.correct_assessment(corrects, text, reason)
            note = f"correcting {corrects}"
        else:
            assert patient_id is not None
            saved = store.save_assessment(patient_id, text, episode_id=episode_id)
            note = "new episode " if saved.opened_episode else "episode "
            note += saved.episode.id
    click.echo(
        f"backstory: saved assessment {saved.assessment.id} (version {saved.assessment.version}, "
        f"{note}) with its report",
        err=True,
    )
    return saved.report


@click.command("assess")
@click.argument("file", metavar="FILE")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--save", is_flag=True, help="Store the assessment and its report (audited).")
@click.option("--patient", "patient_id", metavar="ID", help="With --save: the patient's id.")
@click.option(
    "--episode",
    "episode_id",
    metavar="ID",
    help="With --save: the episode (default: the patient's open episode, else a new one).",
)
@click.option(
    "--corrects",
    metavar="ASSESSMENT_ID",
    help="With --save: store this as a corrected version of a stored assessment.",
)
@click.option("--reason", metavar="TEXT", help="With --corrects: what was wrong.")
@storage_options
def assess_command(
    file: str,
    as_json: bool,
    save: bool,
    patient_id: str | None,
    episode_id: str | None,
    corrects: str | None,
    reason: str | None,
    database: str | None,
    user: str | None,
) -> None:
    """Assess one assessment (JSON file, or - for standard input) and print the report.

    With --save it is stored, with its report and an audit entry, in one transaction.
    Exit status 0 for a report, 2 for an invalid assessment (errors on standard error;
    nothing is stored).
    """
    wants_store = any(v is not None for v in (patient_id, episode_id, corrects, reason))
    if wants_store and not save:
        fail("--patient, --episode, --corrects and --reason store the assessment: add --save")
    text = read_text(file)
    try:
        assessment = parse_assessment_json(text, load_knowledge().contract, today=dt.date.today())
    except AssessmentError as exc:
        _invalid(exc, save)
    if save:
        try:
            report = _save(text, patient_id, episode_id, corrects, reason, database, user)
        except AssessmentError as exc:
            _invalid(exc, save)
    else:
        report = assess(assessment, load_knowledge())
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(report), nl=False)
