"""`backstory fhir questionnaire|import|export`: JSON on stdout, else plain errors and exit 2."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from click.testing import CliRunner

from backstory.cli.fhir import fhir_group

ASSESSMENT = {
    "age": 44,
    "assessed_on": "2026-02-01",
    "pain": {"back": 5, "leg": 2},
    "red_flags": {"fever": False},
    "startback": [0, 0, 1, 0, 0, 1, 0, 0, "slightly"],
}


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(fhir_group, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_registered_on_the_main_command() -> None:
    from backstory.cli.main import cli

    assert cli.commands["fhir"] is fhir_group


def test_questionnaire_prints_json() -> None:
    code, out, _ = run("questionnaire", "odi")
    assert code == 0 and json.loads(out)["url"].endswith("/Questionnaire/odi")
    code, out, _ = run("questionnaire", "all")
    kinds = [e["resource"]["resourceType"] for e in json.loads(out)["entry"]]
    assert code == 0 and kinds.count("Questionnaire") == 5 and kinds.count("CodeSystem") == 2
    code, _, err = run("questionnaire", "phq9")
    assert code == 2 and "phq9" in err


def test_export_then_import_round_trips(tmp_path: Path) -> None:
    src = tmp_path / "a.json"
    src.write_text(json.dumps(ASSESSMENT))
    code, out, err = run("export", str(src), "--recorded", "2026-02-01T09:00:00+00:00")
    assert code == 0, err
    bundle = json.loads(out)
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds[0] == "QuestionnaireResponse" and "DocumentReference" in kinds
    (doc,) = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == ("DocumentReference")
    ]
    att = doc["content"][0]["attachment"]
    assert att["contentType"] == "text/html; charset=utf-8"
    assert "<" in base64.b64decode(att["data"]).decode("utf-8")
    again = run("export", str(src), "--recorded", "2026-02-01T09:00:00+00:00")[1]
    assert again == out  # reproducible byte for byte
    qr = tmp_path / "qr.json"
    qr.write_text(json.dumps(bundle["entry"][0]["resource"]))
    code, out, _ = run("import", str(qr))
    assert code == 0 and json.loads(out) == ASSESSMENT
    code, out, _ = run("import", "-", stdin=qr.read_text())
    assert code == 0 and json.loads(out) == ASSESSMENT


def test_export_explanation_options(tmp_path: Path) -> None:
    src = tmp_path / "a.json"
    src.write_text(json.dumps(ASSESSMENT))
    code, out, _ = run("export", str(src), "--no-explanation")
    kinds = [e["resource"]["resourceType"] for e in json.loads(out)["entry"]]
    assert code == 0 and "DocumentReference" not in kinds
    text = tmp_path / "leaflet.txt"
    text.write_text("Plain words.")
    code, out, _ = run("export", str(src), "--explanation", str(text))
    (doc,) = [
        e["resource"]
        for e in json.loads(out)["entry"]
        if e["resource"]["resourceType"] == ("DocumentReference")
    ]
    assert code == 0 and doc["content"][0]["attachment"]["contentType"].startswith("text/plain")
    code, out, err = run("export", str(src), "--explanation", str(text), "--no-explanation")
    assert code == 2 and out == "" and "not both" in err


def test_import_errors_are_plain_and_exit_2(tmp_path: Path) -> None:
    bad = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "item": [
            {"linkId": "age", "answer": [{"valueInteger": 40}]},
            {"linkId": "red_flags.bladder_problems", "answer": [{"valueBoolean": True}]},
        ],
    }
    path = tmp_path / "qr.json"
    path.write_text(json.dumps(bad))
    code, out, err = run("import", str(path))
    assert code == 2 and out == ""
    assert "nothing was imported" in err
    assert "red_flags.bladder_problems: unknown question." in err
    assert 'Did you mean "red_flags.bladder_dysfunction"?' in err
    path.write_text("{not json")
    code, out, err = run("import", str(path))
    assert code == 2 and out == "" and "not valid JSON" in err
    code, _, err = run("import", str(tmp_path / "missing.json"))
    assert code == 2 and "no such file" in err


def test_export_errors_are_plain_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"age": 12}))
    code, out, err = run("export", str(path))
    assert code == 2 and out == "" and "age: 12 is under 16" in err
    path.write_text(json.dumps(ASSESSMENT))
    for value, words in (("yesterday", "not an ISO 8601"), ("2026-02-01T09:00:00", "time zone")):
        code, out, err = run("export", str(path), "--recorded", value)
        assert code == 2 and out == "" and words in err
