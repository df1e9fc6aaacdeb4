"""`backstory explain`: the same input as `assess`, plain errors and exit 2, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from backstory.cli.explain import explain_command

EXAMPLES = Path(__file__).parents[1] / "data" / "examples"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_registered_in_the_main_command_group() -> None:
    from backstory.cli.main import cli

    assert cli.commands["explain"] is explain_command


def test_text_leaflet_to_standard_output(runner: CliRunner) -> None:
    result = runner.invoke(explain_command, [str(EXAMPLES / "p02-facet-pattern.json")])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Your back pain: what it means and what helps\n")
    assert "sensitivity is not damage" in result.stdout
    assert result.stderr == ""


def test_standard_input(runner: CliRunner) -> None:
    data = (EXAMPLES / "p01-cauda-equina.json").read_text("utf-8")
    result = runner.invoke(explain_command, ["-"], input=data)
    assert result.exit_code == 0
    assert result.stdout.startswith("Please act on this now\n")


@pytest.mark.parametrize(
    ("fmt", "start"),
    [("md", "# Your sciatica"), ("html", "<!DOCTYPE html>"), ("json", "{")],
)
def test_formats(runner: CliRunner, fmt: str, start: str) -> None:
    result = runner.invoke(explain_command, [str(EXAMPLES / "p03-sciatica.json"), "--format", fmt])
    assert result.exit_code == 0
    assert result.stdout.startswith(start)
    if fmt == "json":
        assert "sciatica-what-it-is" in json.loads(result.stdout)["message_ids"]


def test_clinician_audience(runner: CliRunner) -> None:
    result = runner.invoke(
        explain_command,
        [str(EXAMPLES / "p06-osteoporotic-fracture.json"), "--audience", "clinician"],
    )
    assert result.exit_code == 0
    assert result.stdout.startswith("Referral summary - URGENT")
    assert "RF-FX-FRAGILITY" in result.stdout


def test_output_file(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "leaflet.html"
    result = runner.invoke(
        explain_command,
        [str(EXAMPLES / "p02-facet-pattern.json"), "--format", "html", "-o", str(out)],
    )
    assert result.exit_code == 0 and result.stdout == ""
    assert 'data-message="sensitivity-not-damage"' in out.read_text("utf-8")


def test_pdf_needs_an_output_file(runner: CliRunner) -> None:
    result = runner.invoke(
        explain_command, [str(EXAMPLES / "p02-facet-pattern.json"), "--format", "pdf"]
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "-o" in result.stderr and "Traceback" not in result.stderr


def test_pdf_to_file(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "leaflet.pdf"
    result = runner.invoke(
        explain_command, [str(EXAMPLES / "p05-axial-spa.json"), "--format", "pdf", "-o", str(out)]
    )
    assert result.exit_code == 0 and result.stdout == ""
    assert out.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([str(EXAMPLES / "p09-unknown-key.json")], 'Did you mean "bladder_dysfunction"?'),
        ([str(EXAMPLES / "p10-under-16.json")], "age"),
        (["no-such-file.json"], "no such file"),
        (["-"], "not valid"),
    ],
)
def test_invalid_input_exits_2_with_plain_errors(
    runner: CliRunner, args: list[str], message: str
) -> None:
    result = runner.invoke(explain_command, args, input="{not json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_unwritable_output_is_a_plain_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        explain_command, [str(EXAMPLES / "p02-facet-pattern.json"), "-o", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "is a folder" in result.stderr
