"""Malformed and edge inputs at the command line: exit 2, one plain line, never a traceback.

Each case was reproduced first: 100,000-deep JSON, a 10,000-digit integer and a lone
surrogate printed Python tracebacks (exit 1); a 100 MB file was read, accepted and stored.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from backstory.cli.main import cli
from backstory.fhir import assessment_to_response

SRC = Path(__file__).parents[2] / "src"

HOSTILE = {
    "arrays 100,000 deep": "[" * 100_000 + "]" * 100_000,
    "an integer of 10,000 digits": '{"age": 1' + "0" * 10_000 + "}",
    "a lone surrogate": '{"age": 40, "id": "\\ud800"}',
    "a lone surrogate key": '{"age": 40, "\\ud800": true}',
    "not JSON": "{age: 40",
}
WORDS = {
    "arrays 100,000 deep": "nested more than 64 levels deep",
    "an integer of 10,000 digits": "10001 digits",
    "a lone surrogate": "lone surrogate",
    "a lone surrogate key": "lone surrogate",
    "not JSON": "not valid JSON",
}
COMMANDS = [["assess"], ["explain"], ["fhir", "export", "--no-explanation"], ["fhir", "import"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_json_is_one_plain_line_and_exit_2(
    command: list[str], name: str, tmp_path: Path
) -> None:
    path = tmp_path / "in.json"
    path.write_text(HOSTILE[name], encoding="utf-8")
    r = CliRunner().invoke(cli, [*command, str(path)])
    assert r.exit_code == 2, (r.stderr, r.exception)
    assert r.stdout == "" and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("backstory: "), r.stderr
    assert WORDS[name] in lines[0]


@pytest.mark.parametrize("name", ["arrays 100,000 deep", "a lone surrogate"])
def test_a_real_process_prints_no_traceback(name: str) -> None:
    # a real interpreter and pipes: the traceback (and the surrogate's UnicodeEncodeError
    # on printing) happened outside the test runner's wrapped streams
    r = subprocess.run(
        [sys.executable, "-c", "from backstory.cli.main import cli; cli()", "assess", "-"],
        input=HOSTILE[name].encode(),
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        check=False,
    )
    assert r.returncode == 2 and r.stdout == b""
    assert len(r.stderr.decode().strip().splitlines()) == 1 and b"Traceback" not in r.stderr


def test_an_input_over_1_mib_is_refused_without_reading_it(tmp_path: Path) -> None:
    # reproduced: a 100 MB assessment file was accepted (and stored with --save)
    big = tmp_path / "big.json"
    with big.open("w") as fh:
        fh.write('{"age": 40, "id": "x", "pain": {"back": 5}' + " " * (100 * 1024 * 1024) + "}")
    for command in COMMANDS:
        r = CliRunner().invoke(cli, [*command, str(big)])
        assert r.exit_code == 2, command
        assert r.stderr.strip() == f"backstory: {big} is larger than 1 MiB; nothing was read"
    r = CliRunner().invoke(cli, ["assess", "-"], input="[" + " " * (1024 * 1024) + "]")
    assert r.exit_code == 2 and "standard input is larger than 1 MiB" in r.stderr


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"age": 40, "id": ""}, "id"),
        ({"age": 40, "id": "a\u202eb"}, "id"),
        ({"age": 40, "assessed_on": "9999-12-31"}, "assessed_on"),
        ({"age": 40, "assessed_on": "0001-01-01"}, "assessed_on"),
    ],
)
def test_edge_values_are_refused_by_every_command(
    body: dict[str, object], field: str, tmp_path: Path
) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps(body))
    for command in COMMANDS[:3]:
        r = CliRunner().invoke(cli, [*command, str(path)])
        assert r.exit_code == 2 and f"  - {field}: " in r.stderr, (command, r.stderr)


def test_the_fhir_import_refuses_an_invisible_id_and_a_future_date(tmp_path: Path) -> None:
    qr = assessment_to_response({"age": 40, "id": "p1", "assessed_on": "2024-01-01"})
    text = json.dumps(qr)
    bad = text.replace('"p1"', '"p\\u202e1"').replace("2024-01-01", "2999-01-01")
    path = tmp_path / "qr.json"
    path.write_text(bad)
    r = CliRunner().invoke(cli, ["fhir", "import", str(path)])
    assert r.exit_code == 2 and "Traceback" not in r.stderr
    assert "assessed_on" in r.stderr and "in the future" in r.stderr
    assert "U+202E" in r.stderr
