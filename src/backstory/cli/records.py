"""`backstory export PATIENT | --cohort OUT` and `backstory erase PATIENT`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from backstory.cli.common import fail
from backstory.cli.stored import open_store, plain_errors, storage_options
from backstory.storage.export import write_csv


@click.command("export")
@click.argument("patient_id", metavar="PATIENT", required=False)
@click.option(
    "--cohort",
    "cohort_out",
    metavar="OUT",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write your clinic's assessments, de-identified, as flat CSV to OUT (admins only).",
)
@storage_options
def export_command(
    patient_id: str | None, cohort_out: Path | None, database: str | None, user: str | None
) -> None:
    """Print everything held about PATIENT as JSON, or write a de-identified cohort CSV."""
    if (patient_id is None) == (cohort_out is None):
        fail("give either a PATIENT id or --cohort OUT")
    with open_store(database, user) as store:
        if cohort_out is None:
            assert patient_id is not None
            data = store.export_patient(patient_id)
            click.echo(json.dumps(data, indent=2, ensure_ascii=False))
            return
        columns, rows = store.cohort()
        with plain_errors():
            write_csv(cohort_out, columns, rows)
    click.echo(f"Wrote {len(rows)} de-identified row(s) to {cohort_out}.", err=True)


@click.command("erase")
@click.argument("patient_id", metavar="PATIENT")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@storage_options
def erase_command(patient_id: str, yes: bool, database: str | None, user: str | None) -> None:
    """Erase PATIENT's personal and clinical records for good (admins only).

    The audit log keeps only ids and a record of the erasure. Backups taken earlier still
    hold the patient until they expire; restoring one re-applies this erasure.
    """
    if not yes:
        click.confirm(
            f"Erase patient {patient_id.strip().upper()} and all their assessments? "
            "This cannot be undone",
            abort=True,
            err=True,
        )
    with open_store(database, user) as store:
        done = store.erase_patient(patient_id)
    click.echo(
        f"Erased patient {done.patient_id}: {done.episodes} episode(s), "
        f"{done.assessments} assessment(s), {done.reports} report(s)."
    )
