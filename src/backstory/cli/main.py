"""The ``backstory`` command group.

Two things happen here for every command:

- before it runs, all the knowledge is checked (``backstory.preflight``): with a broken
  knowledge file no command starts; it prints the file and the place and exits 2
  (``backstory knowledge`` itself reports in detail instead, and ``--help`` always works);
- a ``BackstoryError`` a command did not handle itself becomes one plain line on standard
  error and exit status 2 (a ``StorageError``: its own exit code), never a traceback. This
  is the command line's one mapping of the error family (``backstory.errors``).
"""

from __future__ import annotations

from typing import Any

import click

from backstory import __version__
from backstory.cli.common import EXIT_INVALID, fail
from backstory.errors import BackstoryError, KnowledgeError
from backstory.storage.errors import StorageError

#: Commands that run without the knowledge check: ``knowledge`` reports problems itself.
UNCHECKED = frozenset({"knowledge"})
_HELP = "backstory.help"


def exit_code(exc: BackstoryError) -> int:
    """The exit status for an error no command handled: 2, or a storage error's own."""
    if isinstance(exc, StorageError):
        return int(exc.exit_code)
    return EXIT_INVALID


def error_line(exc: BackstoryError) -> str:
    """The one line printed for an error (a knowledge problem says it is one)."""
    if isinstance(exc, KnowledgeError):
        return f"the knowledge is broken, nothing was done: {exc.one_line()}"
    return exc.one_line()


class BackstoryGroup(click.Group):
    """The top-level group: checks the knowledge first and maps every BackstoryError."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        ctx.meta[_HELP] = any(arg in ("-h", "--help") for arg in args)
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BackstoryError as exc:
            fail(error_line(exc), code=exit_code(exc))


@click.group(cls=BackstoryGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="backstory")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Backstory: triage, classify and explain a low back pain assessment."""
    if ctx.invoked_subcommand in UNCHECKED or ctx.resilient_parsing:
        return
    if ctx.meta.get(_HELP):
        return
    from backstory.preflight import preflight

    preflight()


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
from backstory.cli.reminders import reminders_group  # noqa: E402
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
cli.add_command(reminders_group)

cli.add_command(cds_group)


def main() -> None:
    """Console-script entry point."""
    cli()
