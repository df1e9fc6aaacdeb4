"""The ``backstory`` command group."""

from __future__ import annotations

import click

from backstory import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="backstory")
def cli() -> None:
    """Backstory: triage, classify and explain a low back pain assessment."""


# Sub-commands register here, one line each.
from backstory.cli.ask import ask_command  # noqa: E402
from backstory.cli.assess import assess_command  # noqa: E402
from backstory.cli.batch import batch_command, synth_command  # noqa: E402
from backstory.cli.cds import cds_group  # noqa: E402
from backstory.cli.database import backup_command, db_group, restore_command  # noqa: E402
from backstory.cli.explain import explain_command  # noqa: E402
from backstory.cli.fhir import fhir_group  # noqa: E402
from backstory.cli.imaging import imaging_command  # noqa: E402
from backstory.cli.knowledge import knowledge_group  # noqa: E402
from backstory.cli.patient import episode_group, patient_group  # noqa: E402
from backstory.cli.progress import progress_command  # noqa: E402
from backstory.cli.reassess import reassess_command  # noqa: E402
from backstory.cli.records import erase_command, export_command  # noqa: E402
from backstory.cli.serve import serve_command  # noqa: E402
from backstory.cli.users import user_group  # noqa: E402

cli.add_command(assess_command)
cli.add_command(knowledge_group)
cli.add_command(imaging_command)
cli.add_command(ask_command)
cli.add_command(batch_command)
cli.add_command(synth_command)
cli.add_command(explain_command)
cli.add_command(patient_group)
cli.add_command(episode_group)
cli.add_command(user_group)
cli.add_command(progress_command)
cli.add_command(export_command)
cli.add_command(erase_command)
cli.add_command(reassess_command)
cli.add_command(db_group)
cli.add_command(backup_command)
cli.add_command(restore_command)
cli.add_command(fhir_group)
cli.add_command(serve_command)

cli.add_command(cds_group)


def main() -> None:
    """Console-script entry point."""
    cli()
