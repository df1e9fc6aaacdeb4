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
from backstory.cli.imaging import imaging_command  # noqa: E402
from backstory.cli.knowledge import knowledge_group  # noqa: E402

cli.add_command(assess_command)
cli.add_command(knowledge_group)
cli.add_command(imaging_command)
cli.add_command(ask_command)


def main() -> None:
    """Console-script entry point."""
    cli()
