"""``backstory imaging``: text and JSON output, standard input, and plain errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from backstory.cli.main import cli

REPORT = "Broad-based disc bulge at L4/5. No canal stenosis. Facet arthropathy at L4/5.\n"


@pytest.fixture(name="report_file")
def _report_file(tmp_path: Path) -> Path:
    path = tmp_path / "report.txt"
    path.write_text(REPORT, encoding="utf-8")
    return path


def test_text_output(report_file: Path) -> None:
    """The readable output explains each finding with its age figure and the caveats."""
    result = CliRunner().invoke(cli, ["imaging", str(report_file), "--age", "45"])

    assert result.exit_code == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "About 55 in 100 people aged 45 with no back pain have this on a scan." in out
    assert "About 25 in 100 people aged 45 with no back pain have this on a scan." in out
    assert "not a diagnosis" in out
    assert "more common in people with back pain" in out
    assert "Looked for and not found" in out
    assert result.stderr == ""


def test_json_output(report_file: Path) -> None:
    """The JSON has the agreed keys and values."""
    result = CliRunner().invoke(cli, ["imaging", str(report_file), "--age", "45", "--json"])

    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["age"] == 45
    assert data["urgent"] is False
    got = [
        (f["id"], f["text"], f["negated"], f["prevalence_percent"], f["concern"])
        for f in data["findings"]
    ]
    assert got == [
        ("disc_bulge", "Broad-based disc bulge", False, 55, "reassure"),
        ("stenosis", "canal stenosis", True, None, "reassure"),
        ("facet_degeneration", "Facet arthropathy", False, 25, "reassure"),
    ]
    assert {c["id"] for c in data["citations"]} >= {"brinjikji-2015"}


def test_stdin() -> None:
    """``-`` reads the report from standard input."""
    result = CliRunner().invoke(
        cli, ["imaging", "-", "--age", "70", "--json"], input="Compression fracture of L1.\n"
    )

    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["urgent"] is True
    assert [(f["id"], f["concern"]) for f in data["findings"]] == [("fracture", "urgent")]


def test_urgent_text_output() -> None:
    """An urgent report says to act today and gives no age figures."""
    result = CliRunner().invoke(
        cli,
        ["imaging", "-", "--age", "50"],
        input="Disc bulge L4/5. Severe stenosis with compression of the cauda equina.",
    )

    assert result.exit_code == 0
    out = " ".join(result.stdout.split())
    assert "today" in out
    assert "emergency department" in out
    assert "in 100 people" not in out


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["imaging", "missing-report.txt", "--age", "45"], None, "does not exist"),
        (["imaging", "-", "--age", "forty"], "Disc bulge.", "whole number"),
        (["imaging", "-", "--age", "45.5"], "Disc bulge.", "whole number"),
        (["imaging", "-", "--age", "15"], "Disc bulge.", "16"),
        (["imaging", "-", "--age", "111"], "Disc bulge.", "110"),
        (["imaging", "-", "--age", "45"], "   \n", "empty"),
        (["imaging", "-"], "Disc bulge.", "--age"),
    ],
)
def test_errors_exit_2_with_nothing_on_stdout(
    args: list[str], stdin: str | None, message: str
) -> None:
    """Every mistake gives exit 2, a plain message on stderr, nothing on stdout."""
    result = CliRunner().invoke(cli, args, input=stdin)

    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_directory_is_an_error(tmp_path: Path) -> None:
    """A folder instead of a file is a plain error too."""
    result = CliRunner().invoke(cli, ["imaging", str(tmp_path), "--age", "45"])

    assert result.exit_code == 2
    assert result.stdout == ""
    assert "folder" in result.stderr


def test_empty_file(tmp_path: Path) -> None:
    """An empty report file is refused plainly."""
    path = tmp_path / "empty.txt"
    path.write_text("", encoding="utf-8")
    result = CliRunner().invoke(cli, ["imaging", str(path), "--age", "45"])

    assert result.exit_code == 2
    assert result.stdout == ""
    assert "empty" in result.stderr
