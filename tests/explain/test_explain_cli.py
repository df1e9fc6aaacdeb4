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


def _pdf_text(path: Path) -> str:
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(path.read_bytes()))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_a_pdf_names_its_owner_like_the_web_app_does(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "leaflet.pdf"
    args = [str(EXAMPLES / "p02-facet-pattern.json"), "--format", "pdf", "-o", str(out)]
    owner = ["--patient", "SYN-0042", "--clinic", "Northside  Physio", "--clinician", "A Synth"]
    result = runner.invoke(explain_command, [*args, *owner, "--clinic-phone", "01632 960 123"])
    assert result.exit_code == 0, result.stderr
    text = _pdf_text(out)
    assert "Patient SYN-0042 - Northside Physio" in text  # on the page margin, spaces folded
    assert "Clinician A Synth" in text
    assert "01632 960 123" in text  # the leaflet's contact section
    plain = tmp_path / "plain.pdf"
    assert runner.invoke(explain_command, [*args[:-1], str(plain)]).exit_code == 0
    assert "SYN-0042" not in _pdf_text(plain)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--patient", "SYN-1", "--clinic", "C"], "give --clinician"),
        (["--clinic-phone", "0163"], "give --patient"),
        (["--patient", "SYN-1", "--clinic", "C", "--clinician", "   "], "give --clinician"),
        (["--patient", "X" * 101, "--clinic", "C", "--clinician", "D"], "at most 100"),
    ],
)
def test_owner_options_are_all_or_nothing(
    runner: CliRunner, tmp_path: Path, extra: list[str], message: str
) -> None:
    out = tmp_path / "x.pdf"
    args = [str(EXAMPLES / "p02-facet-pattern.json"), "--format", "pdf", "-o", str(out), *extra]
    result = runner.invoke(explain_command, args)
    assert result.exit_code == 2 and message in result.stderr
    assert not out.exists()


def test_owner_options_need_a_pdf(runner: CliRunner) -> None:
    args = [str(EXAMPLES / "p02-facet-pattern.json"), "--patient", "SYN-1"]
    result = runner.invoke(explain_command, args)
    assert result.exit_code == 2 and "--format pdf" in result.stderr and result.stdout == ""
