"""`backstory reassess [--save]`: which stored reports would the current knowledge change?"""

from __future__ import annotations

import click

from backstory.cli.stored import open_store, storage_options


@click.command("reassess")
@click.option(
    "--save",
    is_flag=True,
    help="Store each changed report under the current knowledge version (old ones are kept).",
)
@storage_options
def reassess_command(save: bool, database: str | None, user: str | None) -> None:
    """Re-run your clinic's stored assessments and list the reports that would change.

    A change under the same knowledge version means a report is not reproducible and is
    flagged for investigation; exit status 1 in that case.
    """
    with open_store(database, user) as store:
        result = store.reassess(save=save)
        version = store.knowledge.version
    found = result.differences
    click.echo(
        f"Checked {result.checked} assessment(s) under knowledge {version}: "
        f"{len(found)} report(s) would change."
    )
    broken = False
    for d in found:
        what = ", ".join(d.changed)
        note = ""
        if d.same_version:
            note = "  NOT REPRODUCIBLE under the same knowledge version"
            broken = True
        elif d.saved_report_id:
            note = f"  stored as {d.saved_report_id}"
        click.echo(
            f"  {d.assessment_id} (patient {d.patient_id}): {d.stored_version} -> "
            f"{d.current_version}: {what}{note}"
        )
    if broken:
        raise SystemExit(1)
