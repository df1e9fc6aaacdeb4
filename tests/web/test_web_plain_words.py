"""Clinicians' pages name every answer by its contract label, never its key (issue 14 item 3).

Every page a clinician opens in a day - worklist, patients, a patient, the new and follow-up
forms, reports (a visit, a questionnaire, an emergency), the form's error summary - is read
as text (tags, scripts and styles removed) and searched for what only developers should see:
a contract key (``red_flags.saddle_anaesthesia``, ``startback.2``), an answer value written
with underscores (``no_change``), "null when unanswered", a file path or a link's audit name
(``link:ID``). The knowledge catalogue (``/knowledge``) is for reviewing the knowledge files
and keeps its names.
"""

from __future__ import annotations

import html
import io
import json
import re

from fastapi.testclient import TestClient
from pypdf import PdfReader

from backstory.contract import load_contract
from backstory.storage import Store
from backstory.web.forms import form_fields
from backstory.web.labels import field_label, plain_text
from backstory.web.security import Signer
from backstory.web.settings import Settings

from .conftest import EXAMPLES, World, csrf_of, example, sign_in
from .questionnaire_walk import answers, walk


def _keys() -> set[str]:
    contract = load_contract()
    keys = {p for p in contract.fields if "." in p or "_" in p}
    for name, inst in contract.instruments.items():
        keys |= {f"{name}.{i}" for i in range(1, inst.length + 1)}
    return keys


def _underscored_values() -> set[str]:
    return {v for spec in load_contract().fields.values() for v in spec.values if "_" in v}


KEYS = _keys()
VALUES = _underscored_values()
WORD = re.compile(r"[A-Za-z0-9_.:]+")


def _text(page: str) -> str:
    body = re.sub(r"(?s)<(script|style)[^>]*>.*?</\1>", " ", page)
    body = re.sub(r"<[^>]+>", " ", body)
    return html.unescape(re.sub(r"\s+", " ", body))


def _internal(text: str) -> list[str]:
    found = []
    for word in WORD.findall(text):
        bare = word.strip(".:")
        if bare in KEYS or bare in VALUES or bare.startswith("link:"):
            found.append(word)
    for phrase in ("null when", ".yaml", ".yml", "knowledge/data"):
        if phrase in text:
            found.append(phrase)
    return found


def _questionnaire(world: World, c: TestClient) -> str:
    r = c.post(
        f"/patients/{world.patient_a}/links", data={"csrf": csrf_of(c.get("/worklist").text)}
    )
    found = re.search(
        r'id="link-url" type="text" readonly value="http://testserver([^"]+)"', r.text
    )
    assert found
    path = found.group(1)
    patient = TestClient(world.app)
    sent = walk(patient, path, answers(**{"red_flags.saddle_anaesthesia": "not_sure"}))
    assert sent.status_code == 200 and "Thank you" in sent.text
    record = Store(world.db, "clin-a").patient_record(world.patient_a)
    latest = max(
        (a for e in record.episodes for a in e.assessments),
        key=lambda a: a.assessment.created_at,
    )
    return latest.assessment.id


def test_clinicians_pages_show_labels_never_keys(world: World, settings: Settings) -> None:
    store = Store(world.db, "clin-a")
    facet = store.add_patient("ref-a-facet", birth_year=1970, sex="female")
    routine = store.save_assessment(
        facet.id, json.dumps(example("p02-facet-pattern.json", assessed_on="2026-01-05"))
    )
    urgent = store.add_patient("ref-a-ces")
    emergency = store.save_assessment(
        urgent.id, json.dumps(example("p01-cauda-equina.json", assessed_on="2026-01-06"))
    )
    c = sign_in(world.app, "clin-a")
    from_link = _questionnaire(world, c)
    paths = [
        "/worklist",
        "/patients",
        "/patients/new",
        f"/patients/{world.patient_a}",
        f"/patients/{facet.id}",
        f"/patients/{facet.id}/assessments/new",
        f"/patients/{facet.id}/assessments/new?blank=1",
        f"/patients/{world.patient_a}/assessments/new?from={from_link}",
        f"/assessments/{routine.assessment.id}",
        f"/assessments/{emergency.assessment.id}",
        f"/assessments/{world.assessment_a}",
        f"/assessments/{from_link}",
    ]
    for path in paths:
        r = c.get(path)
        assert r.status_code == 200, path
        assert _internal(_text(r.text)) == [], path
    # the report a CDS Hooks card links to reads the same way
    card = Signer(settings.secret_key).sign("cds-report", example("p02-facet-pattern.json"))
    r = c.get(f"/cds/report?t={card}")
    assert r.status_code == 200 and _internal(_text(r.text)) == [], "/cds/report"
    admin = sign_in(world.app, "admin-a")
    for path in ("/admin/users", "/admin/tokens"):
        assert _internal(_text(admin.get(path).text)) == [], path
    # a check that cannot see keys would pass everything: it finds them in raw text
    assert _internal("red_flags.fever: no; startback.2 = 0; no_change; link:K03K2YVC78F")


def test_the_forms_error_summary_names_fields_by_label(world: World) -> None:
    c = sign_in(world.app, "clin-a")
    page = c.get(f"/patients/{world.patient_a}/assessments/new?blank=1").text
    path = f"/patients/{world.patient_a}/assessments"
    r = c.post(path, data={"csrf": csrf_of(page), "age": "47"})
    assert r.status_code == 422
    text = _text(r.text)
    assert "Nothing was saved" in text and field_label("red_flags.saddle_anaesthesia") in text
    assert _internal(text) == []
    asked = {f.name: "no" for f in form_fields().values() if f.required and f.kind == "radio"}
    bad = {**asked, "csrf": csrf_of(page), "age": "47", "pain.back": "11", "startback.2": "7"}
    text = _text(c.post(path, data=bad).text)
    assert "Nothing was saved" in text
    assert field_label("pain.back") in text and "STarT Back item 2" in text
    assert _internal(text) == []
    new = c.post("/patients", data={"csrf": csrf_of(page), "reference": "", "birth_year": "1800"})
    assert new.status_code == 400 and "birth_year:" not in _text(new.text)


def test_report_text_turns_items_and_values_into_words() -> None:
    assert field_label("startback.2") == "STarT Back item 2"
    assert field_label("odi.10") == "ODI item 10"
    assert plain_text("Neck pain (STarT Back item 2): startback.2 = 0") == (
        "Neck pain (STarT Back item 2): STarT Back item 2: 0"
    )
    assert plain_text("Coughing or sneezing: no_change") == "Coughing or sneezing: no change"
    # not a contract item or value: left as it is
    assert plain_text("odi.11 and do_not_offer") == "odi.11 and do_not_offer"


def test_the_printed_summary_reads_like_the_report_and_a_routine_one_fits_two_pages(
    world: World,
) -> None:
    store = Store(world.db, "clin-a")
    c = sign_in(world.app, "clin-a")
    expected = json.loads((EXAMPLES / "expected.json").read_text())
    routine = sorted(n for n, e in expected.items() if e.get("level") == ["routine"])
    assert "p07-high-risk-with-odi.json" in routine and len(routine) >= 4
    for name in routine:  # every public routine example, the high-risk one with many unknowns too
        p = store.add_patient(f"ref-print-{name[:3]}")
        saved = store.save_assessment(p.id, json.dumps(example(name, assessed_on="2026-01-05")))
        r = c.get(f"/assessments/{saved.assessment.id}/summary.pdf")
        assert r.status_code == 200
        pages = [t.extract_text() for t in PdfReader(io.BytesIO(r.content)).pages]
        assert len(pages) <= 2, (name, len(pages))  # a routine case
        whole = " ".join(" ".join(t.split()) for t in pages)
        assert _internal(whole) == [], name
        assert "Codes" in whole and "Messages:" not in whole, name  # codes kept, ids not
        assert "Why it matters" in whole and "Unanswered; the answer" not in whole, name
        for n, text in enumerate(pages, start=1):
            assert f"Patient ref-print-{name[:3]} - Clinic A" in text, (name, n)
