"""`backstory fhir export --patient ID`: the stored patient's latest assessment as a Bundle."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from backstory.cli.main import cli

EXAMPLES = Path(__file__).parents[1] / "data" / "examples"


def test_export_a_stored_patient(tmp_path: Path) -> None:
    db = ["--database", f"sqlite:///{tmp_path / 'x.db'}", "--user", "alice"]
    run = CliRunner()
    pid = run.invoke(cli, ["patient", "add", "ref-1", *db]).stdout.strip()
    saved = run.invoke(
        cli, ["assess", str(EXAMPLES / "p02-facet-pattern.json"), "--patient", pid, "--save", *db]
    )
    assert saved.exit_code == 0, saved.output
    out = run.invoke(cli, ["fhir", "export", "--patient", pid, *db])
    assert out.exit_code == 0, out.output
    bundle = json.loads(out.stdout)
    refs = {
        e["resource"]["subject"]["reference"] for e in bundle["entry"] if "subject" in e["resource"]
    }
    assert refs == {f"Patient/{pid}"}


def test_export_needs_exactly_one_source(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["fhir", "export"])
    assert r.exit_code == 2 and "FILE or --patient" in r.stderr
    r = CliRunner().invoke(
        cli,
        [
            "fhir",
            "export",
            "--patient",
            "PNOPE",
            "--database",
            f"sqlite:///{tmp_path}/y.db",
            "--user",
            "bob",
        ],
    )
    assert r.exit_code != 0 and "Traceback" not in r.stderr
