"""The CLI: readable and JSON reports, standard input, plain errors with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from backstory.cli.main import cli

EXAMPLES = Path(__file__).parents[1] / "data" / "examples"


def invoke(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), input=stdin)


def test_text_report() -> None:
    r = invoke("assess", str(EXAMPLES / "p02-facet-pattern.json"))
    assert r.exit_code == 0
    assert (
        "TRIAGE: ROUTINE" in r.stdout
        and "Mechanical facet-joint pattern: fits strongly" in r.stdout
    )


def test_json_from_stdin() -> None:
    text = (EXAMPLES / "p01-cauda-equina.json").read_text()
    r = invoke("assess", "-", "--json", stdin=text)
    assert r.exit_code == 0 and json.loads(r.stdout)["triage"]["level"] == "emergency"


def test_invalid_assessment_exit_2_nothing_on_stdout() -> None:
    r = invoke("assess", "-", "--json", stdin='{"age": 50, "pain": {"back": "7"}}')
    assert r.exit_code == 2 and r.stdout == ""
    assert "pain.back" in r.stderr and "Traceback" not in r.stderr


def test_missing_file_and_bad_json() -> None:
    r = invoke("assess", "/no/such/file.json")
    assert r.exit_code == 2 and "does not exist" in r.stderr and r.stdout == ""
    r = invoke("assess", "-", stdin="{")
    assert r.exit_code == 2 and "not valid JSON" in r.stderr


def test_knowledge_show_is_a_catalogue() -> None:
    r = invoke("knowledge", "show")
    assert r.exit_code == 0
    assert "## Red-flag rules" in r.stdout and "RF-CES-NEW" in r.stdout and "## Sources" in r.stdout
