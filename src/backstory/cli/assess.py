"""`backstory assess FILE [--json]`."""

from __future__ import annotations

import json

import click

from backstory.cli.common import fail, read_text
from backstory.contract import AssessmentError, parse_assessment_json
from backstory.core.engine import assess
from backstory.knowledge.loader import load_knowledge
from backstory.render.text import render_text


@click.command("assess")
@click.argument("file", metavar="FILE")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def assess_command(file: str, as_json: bool) -> None:
    """Assess one assessment (JSON file, or - for standard input) and print the report.

    Exit status 0 for a report, 2 for an invalid assessment (errors on standard error).
    """
    text = read_text(file)
    try:
        assessment = parse_assessment_json(text)
    except AssessmentError as exc:
        lines = [
            f"the assessment is not valid ({len(exc.issues)} problem(s)); nothing was assessed:"
        ]
        lines += [f"  - {issue}" for issue in exc.issues]
        fail("\n".join(lines))
    report = assess(assessment, load_knowledge())
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(report), nl=False)
