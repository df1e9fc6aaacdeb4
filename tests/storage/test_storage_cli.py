"""The record commands end to end: plain output, plain errors (exit 2), nothing half-done."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import pytest
from alembic import command
from click.testing import CliRunner, Result

from backstory.cli.main import cli
from backstory.contract import load_contract
from backstory.storage import Database
from backstory.storage import audit as audit_log
from backstory.storage.migrations import HEAD


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def run(url: str) -> Callable[..., Result]:
    """Invoke the CLI on the test database as "alice" unless --user is given."""

    def invoke(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Result:
        extra = ["--database", url]
        if "--user" not in args and not (env and "BACKSTORY_USER" in env):
            extra += ["--user", "alice"]
        result = CliRunner().invoke(cli, [*args, *extra], input=stdin, env=env)
        assert "Traceback" not in (result.stderr or "")
        return result

    return invoke


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def audit_actions(url: str) -> list[tuple[str, str]]:
    with Database(url) as db:
        return [(e.actor, e.action) for e in db.transaction(lambda c: audit_log.events(c))]


def test_patient_assess_save_show_and_progress(
    run: Callable[..., Result],
    url: str,
    tmp_path: Path,
    assessment_text: Callable[..., str],
) -> None:
    added = run("patient", "add", "clinic-17", "--birth-year", "1979", "--sex", "female")
    assert added.exit_code == 0
    pid = added.stdout.strip()
    first = write(tmp_path, "a1.json", assessment_text(assessed_on="2026-01-05"))
    later = write(tmp_path, "a2.json", assessment_text(assessed_on="2026-02-20", back=6))
    saved = run("assess", first, "--patient", pid, "--save", "--json")
    assert saved.exit_code == 0, saved.stderr
    assert json.loads(saved.stdout)["triage"]["level"] == "routine"  # the report, as today
    assert "saved assessment" in saved.stderr
    text_report = run("assess", later, "--patient", pid, "--save")
    assert text_report.exit_code == 0 and "TRIAGE: ROUTINE" in text_report.stdout
    listed = run("patient", "list")
    assert pid in listed.stdout and "clinic-17" in listed.stdout and "2026-02-20" in listed.stdout
    shown = run("patient", "show", pid)
    assert shown.exit_code == 0 and shown.stdout.count("triage routine") == 2
    chart = tmp_path / "chart.svg"
    progress = run("progress", pid, "--chart", str(chart))
    assert progress.exit_code == 0, progress.stderr
    out = progress.stdout
    assert "Back pain" in out and "no important change" in out and "ODI" in out
    assert "NOT IMPROVING - REASSESS" in out and "46 days after the first assessment" in out
    svg = ElementTree.parse(chart).getroot()
    assert len(svg.findall(".//{http://www.w3.org/2000/svg}circle")) == 4  # 2 back + 2 ODI
    actions = [a for _, a in audit_actions(url)]
    assert actions.count("assessment.create") == 2 and "progress.view" in actions


def test_progress_from_a_low_rmdq_baseline_is_not_evaluable(
    run: Callable[..., Result], tmp_path: Path, assessment_text: Callable[..., str]
) -> None:
    pid = run("patient", "add", "low-rmdq").stdout.strip()
    rmdq = [1, 1, 1] + [0] * 21  # 3 of 24
    first = write(tmp_path, "a1.json", assessment_text(assessed_on="2026-01-05", rmdq=rmdq))
    later = write(
        tmp_path, "a2.json", assessment_text(assessed_on="2026-02-25", rmdq=[0, *rmdq[1:]])
    )
    for path in (first, later):
        assert run("assess", path, "--patient", pid, "--save").exit_code == 0
    chart = tmp_path / "chart.svg"
    out = run("progress", pid, "--chart", str(chart)).stdout
    row = next(line for line in out.splitlines() if line.startswith("RMDQ"))
    assert "0.9 (5 or 30%), a rise only" in row
    assert "not evaluable (too low at the start to show an important improvement)" in row
    assert "improved" not in out
    assert "Note: RMDQ started at 3, below 4: too low to show an important improvement" in out
    assert "NOT IMPROVING - REASSESS: no important improvement 51 days after the first" in out
    assert "(RMDQ was too low at the start to show one)" in out
    assert "RMDQ, points (0-24): not evaluable" in chart.read_text()


def test_invalid_assessment_exit_2_nothing_stored(
    run: Callable[..., Result], url: str, tmp_path: Path
) -> None:
    pid = run("patient", "add", "r1").stdout.strip()
    before = audit_actions(url)
    bad = run("assess", "-", "--patient", pid, "--save", stdin='{"age": 50, "pain": {"back": "7"}}')
    assert bad.exit_code == 2 and bad.stdout == ""
    assert "pain.back" in bad.stderr and "nothing was assessed or stored" in bad.stderr
    assert audit_actions(url) == before
    shown = run("patient", "show", pid)
    assert "No episodes yet" in shown.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("assess", "-", "--patient", "PX"), "add --save"),
        (("assess", "-", "--save"), "--save needs --patient"),
        (("assess", "-", "--save", "--corrects", "A1"), "needs --reason"),
        (("assess", "-", "--save", "--patient", "PNOPE"), "no patient PNOPE"),
        (("progress", "PNOPE"), "no patient PNOPE"),
        (("export",), "give either a PATIENT"),
        (("episode", "open", "PNOPE", "--on", "yesterday"), "YYYY-MM-DD"),
        (("patient", "list", "--user", "mallory"), "not a user of this database"),
    ],
)
def test_bad_input_is_a_plain_error_with_exit_2(
    run: Callable[..., Result],
    assessment_text: Callable[..., str],
    args: tuple[str, ...],
    message: str,
) -> None:
    run("patient", "list")  # alice becomes the admin
    result = run(*args, stdin=assessment_text())
    assert result.exit_code == 2, result.stdout
    assert message in result.stderr and result.stdout == ""


def test_unreachable_database_is_a_plain_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["patient", "list", "--user", "a", "--database", "postgresql://nobody@127.0.0.1:1/x"],
    )
    assert result.exit_code == 1 and "cannot open the database" in result.stderr
    assert "Traceback" not in result.stderr
    result = CliRunner().invoke(cli, ["patient", "list", "--database", "mysql://x/y"])
    assert result.exit_code == 1 and "unsupported database" in result.stderr


def test_actor_comes_from_option_environment_or_login(run: Callable[..., Result], url: str) -> None:
    run("patient", "add", "r1", env={"BACKSTORY_USER": "alice"})
    run("user", "add", "bob")
    run("patient", "list", "--user", "bob")
    assert audit_actions(url)[-1] == ("bob", "patient.list")
    assert ("alice", "patient.create") in audit_actions(url)


def test_correction_from_the_command_line(
    run: Callable[..., Result], url: str, tmp_path: Path, assessment_text: Callable[..., str]
) -> None:
    pid = run("patient", "add", "r1").stdout.strip()
    run("assess", write(tmp_path, "a.json", assessment_text()), "--patient", pid, "--save")
    with Database(url) as db:
        created = [e for e in db.transaction(audit_log.events) if e.action == "assessment.create"]
    aid = created[0].record_id
    assert aid is not None
    fixed = write(tmp_path, "b.json", assessment_text(back=3))
    result = run("assess", fixed, "--save", "--corrects", aid, "--reason", "pain was 3")
    assert result.exit_code == 0 and "version 2" in result.stderr
    shown = run("patient", "show", pid).stdout
    assert "[corrected by" in shown and "v2" in shown and "pain was 3" in shown


def test_export_cohort_erase_backup_restore_reassess(
    run: Callable[..., Result], url: str, tmp_path: Path, assessment_text: Callable[..., str]
) -> None:
    pid = run("patient", "add", "secret-ref", "--birth-year", "1931").stdout.strip()
    source = write(tmp_path, "a.json", assessment_text(assessed_on="2026-01-05", age=95))
    run("assess", source, "--patient", pid, "--save")
    exported = run("export", pid)
    assert exported.exit_code == 0
    assert json.loads(exported.stdout)["patient"]["reference"] == "secret-ref"

    cohort = tmp_path / "cohort.csv"
    assert run("export", "--cohort", str(cohort)).exit_code == 0
    with cohort.open() as fh:
        rows = list(csv.DictReader(fh))
    columns = load_contract().flat_columns()
    assert list(rows[0])[: len(columns)] == columns
    assert list(rows[0])[len(columns) :] == ["cohort_patient", "cohort_episode", "day"]
    row = rows[0]
    assert row["id"] == "" and row["assessed_on"] == "" and row["age"] == "90"
    assert row["pain_back"] == "7" and row["red_flags_fever"] == "false"
    assert row["startback_9"] == "very_much" and row["day"] == "0"
    raw = cohort.read_text()
    assert "secret-ref" not in raw and pid not in raw and "1931" not in raw

    reassessed = run("reassess")
    assert reassessed.exit_code == 0 and "0 report(s) would change" in reassessed.stdout

    backup = tmp_path / "backup.db"
    assert run("backup", str(backup)).exit_code == 0
    refused = run("erase", pid, stdin="n\n")
    assert refused.exit_code == 1 and pid in run("patient", "list").stdout
    erased = run("erase", pid, "--yes")
    assert erased.exit_code == 0 and "1 assessment(s)" in erased.stdout
    assert pid not in run("patient", "list").stdout
    restored = run("restore", str(backup), "--yes")
    assert restored.exit_code == 0 and "re-applied 1 erasure(s)" in restored.stdout
    assert pid not in run("patient", "list").stdout

    upgraded = run("db", "upgrade")
    assert upgraded.exit_code == 0 and "already up to date" in upgraded.stdout


def test_db_upgrade_applies_the_newest_migration(run: Callable[..., Result], url: str) -> None:
    assert run("patient", "add", "upgrade-ref").exit_code == 0
    with Database(url) as db:
        db.transaction(lambda conn: command.downgrade(db._alembic(conn), "0002"))
    status = run("db", "status", env={"BACKSTORY_USER": "alice"})
    assert "schema 0002 (latest " in status.stdout
    upgraded = run("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.stderr
    assert f"schema 0002 -> {HEAD}." in upgraded.stdout
    assert "upgrade-ref" in run("patient", "list").stdout
    assert ("alice", "database.upgrade") in audit_actions(url)


def test_clinicians_cannot_erase_or_back_up(run: Callable[..., Result], tmp_path: Path) -> None:
    pid = run("patient", "add", "r1").stdout.strip()
    run("user", "add", "carol")
    for args in (("erase", pid, "--yes"), ("backup", str(tmp_path / "b.db"))):
        result = run(*args, "--user", "carol")
        assert result.exit_code == 2 and "only an admin" in result.stderr
