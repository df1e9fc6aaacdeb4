"""`backstory patient add|list|show` and `backstory episode open|close`.

A patient is pseudonymous: Backstory makes a random id and keeps only the clinic's own
reference (use a local code, not a name), optionally the year of birth and sex.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import click

from backstory.cli.stored import open_store, parse_date, storage_options
from backstory.storage.records import PatientRecord
from backstory.storage.tables import SEXES


@click.group("patient")
def patient_group() -> None:
    """Add, list and show patients (pseudonymous: an id and your clinic's reference)."""


@patient_group.command("add")
@click.argument("reference")
@click.option("--birth-year", type=int, metavar="YEAR", help="Year of birth (optional).")
@click.option("--sex", type=click.Choice(SEXES), help="Sex recorded at birth (optional).")
@storage_options
def add_command(
    reference: str, birth_year: int | None, sex: str | None, database: str | None, user: str | None
) -> None:
    """Add a patient known to your clinic as REFERENCE; prints the new patient id.

    Use a local code as the reference, not a name or an NHS number.
    """
    with open_store(database, user) as store:
        found = store.add_patient(reference, birth_year=birth_year, sex=sex)
    click.echo(found.id)


@patient_group.command("list")
@storage_options
def list_command(database: str | None, user: str | None) -> None:
    """List your clinic's patients with their episodes and latest assessment."""
    with open_store(database, user) as store:
        summaries = store.list_patients()
    if not summaries:
        click.echo("No patients yet. Add one with `backstory patient add REFERENCE`.")
        return
    rows = [("id", "reference", "born", "sex", "episodes", "assessments", "last assessed")]
    for s in summaries:
        p = s.patient
        rows.append(
            (
                p.id,
                p.reference,
                str(p.birth_year or "-"),
                p.sex or "-",
                str(s.episodes),
                str(s.assessments),
                s.last_assessed.isoformat() if s.last_assessed else "-",
            )
        )
    click.echo(table(rows))


def table(rows: Sequence[Sequence[str]]) -> str:
    """Rows as aligned plain-text columns, the first row a header."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def render_record(record: PatientRecord) -> str:
    """A patient's episodes and assessments (all versions) as readable text."""
    p = record.patient
    lines = [
        f"Patient {p.id} (reference {p.reference}; born {p.birth_year or 'not recorded'}; "
        f"sex {p.sex or 'not recorded'})"
    ]
    if not record.episodes:
        lines.append("  No episodes yet.")
    for e in record.episodes:
        ep = e.episode
        closed = f"closed {ep.closed_on.isoformat()}" if ep.closed_on else "open"
        lines.append(f"  Episode {ep.id}: started {ep.started_on.isoformat()}, {closed}")
        for a in e.assessments:
            s = a.assessment
            latest = a.latest_report
            summary = ""
            if latest is not None:
                data = latest.data()
                summary = (
                    f"triage {data['triage']['level']}, {data['category'].replace('_', ' ')} "
                    f"(knowledge {latest.knowledge_version})"
                )
            state = "" if a.is_current else f" [corrected by {a.superseded_by}]"
            fix = f" correcting {s.supersedes_id}: {s.correction_reason}" if s.supersedes_id else ""
            lines.append(
                f"    {s.assessed_on.isoformat()}  {s.id} v{s.version}  {summary}{state}{fix}"
            )
    return "\n".join(lines)


@patient_group.command("show")
@click.argument("patient_id", metavar="PATIENT")
@click.option("--json", "as_json", is_flag=True, help="Print everything as JSON (like export).")
@storage_options
def show_command(patient_id: str, as_json: bool, database: str | None, user: str | None) -> None:
    """Show a patient's episodes and assessments, with each report's triage level."""
    with open_store(database, user) as store:
        if as_json:
            click.echo(json.dumps(store.export_patient(patient_id), indent=2, ensure_ascii=False))
            return
        record = store.patient_record(patient_id)
    click.echo(render_record(record))


@click.group("episode")
def episode_group() -> None:
    """Open or close a patient's episode of back pain."""


@episode_group.command("open")
@click.argument("patient_id", metavar="PATIENT")
@click.option("--on", "on", metavar="DATE", help="Start date, YYYY-MM-DD (default today).")
@storage_options
def open_command(patient_id: str, on: str | None, database: str | None, user: str | None) -> None:
    """Start a new episode for PATIENT (their open episode must be closed first)."""
    started = parse_date(on, "--on")
    with open_store(database, user) as store:
        ep = store.open_episode(patient_id, started)
    click.echo(ep.id)


@episode_group.command("close")
@click.argument("episode_id", metavar="EPISODE")
@click.option("--on", "on", metavar="DATE", help="End date, YYYY-MM-DD (default today).")
@storage_options
def close_command(episode_id: str, on: str | None, database: str | None, user: str | None) -> None:
    """Close an episode; later assessments start a new one."""
    closed = parse_date(on, "--on")
    with open_store(database, user) as store:
        ep = store.close_episode(episode_id, closed)
    assert ep.closed_on is not None
    click.echo(f"Episode {ep.id} closed on {ep.closed_on.isoformat()}.")
