"""The assessment form covers the whole contract, warning signs first and never silently
skippable; saving validates, reasons, stores and audits; the report page and release switch."""

from __future__ import annotations

import json
import re

from pypdf import PdfReader
from sqlalchemy import select

from backstory.contract import load_contract
from backstory.storage import Store, audit
from backstory.storage.tables import assessment, release
from backstory.web.forms import (
    GROUP_TITLES,
    NOT_ASKED,
    assessment_form,
    form_to_assessment,
    values_of,
)

from .conftest import World, csrf_of, example, sign_in


def _complete(**extra: str) -> dict[str, str]:
    form = {"age": "52", "pain.back": "6"}
    for section in assessment_form():
        for f in section.fields:
            if f.required and f.kind == "radio":
                form[f.name] = "no" if f.type == "bool" else NOT_ASKED
    form.update(extra)
    return form


def test_the_form_has_a_field_for_every_answer_in_the_contract() -> None:
    c = load_contract()
    names = {f.name for s in assessment_form() for f in s.fields}
    wanted = {p for p in c.fields if p != "schema"}
    wanted |= {f"{n}.{i}" for n, inst in c.instruments.items() for i in range(1, inst.length + 1)}
    assert names == wanted
    assert set(c.groups) <= set(GROUP_TITLES)


def test_warning_signs_come_first_and_each_needs_an_explicit_choice() -> None:
    first = assessment_form()[0]
    assert first.id == "s-warning" and not first.collapsible
    red_flags = {f"red_flags.{k}" for k in load_contract().groups["red_flags"]}
    assert red_flags <= {f.name for f in first.fields}
    for f in first.fields:
        assert f.required and f.kind == "radio"
        assert NOT_ASKED in [c.value for c in f.choices]
    # skipping one silently is refused; "not asked" leaves the key out (unknown, never "no")
    form = _complete()
    del form["red_flags.fever"]
    _data, issues = form_to_assessment(form)
    assert [i.field for i in issues] == ["red_flags.fever"]
    data, issues = form_to_assessment(_complete(**{"red_flags.fever": NOT_ASKED}))
    assert not issues and "fever" not in data["red_flags"]
    assert data["red_flags"]["saddle_anaesthesia"] is False


def test_every_stored_example_round_trips_through_the_form() -> None:
    for name in ("p02-facet-pattern.json", "p07-high-risk-with-odi.json", "p03-sciatica.json"):
        original = example(name)
        original.pop("id", None)
        form = _complete(**values_of(original))
        data, issues = form_to_assessment(form)
        assert not issues, name
        for group, answers in original.items():
            if isinstance(answers, dict):
                for key, value in answers.items():
                    assert data[group][key] == value, (name, group, key)
            else:
                assert data[group] == answers, (name, group)


def test_the_page_orders_warning_signs_first_with_required_radios(world: World) -> None:
    c = sign_in(world.app, "clin-a")
    # a blank form (a follow-up starts from the last visit: test_web_followup.py)
    html = c.get(f"/patients/{world.patient_a}/assessments/new?blank=1").text
    assert html.index('id="s-warning"') < html.index('id="s-about"') < html.index("<details")
    assert 'name="red_flags.saddle_anaesthesia" value="not_asked"' in html
    radios = re.findall(r'<input type="radio" name="red_flags\.fever"[^>]*>', html)
    assert len(radios) == 3 and all("required" in r for r in radios)
    for f in (f for s in assessment_form() for f in s.fields):
        assert f'id="{f.id}"' in html or f'id="{f.id}-1"' in html, f.name
        if f.kind != "radio":
            assert f'<label for="{f.id}">' in html, f.name


def test_invalid_input_stores_nothing_and_shows_errors_by_the_fields(world: World) -> None:
    c = sign_in(world.app, "clin-a")
    csrf = csrf_of(c.get("/patients").text)
    before = world.db.transaction(lambda conn: len(conn.execute(select(assessment)).all()))
    form = _complete(**{"age": "12", "pain.back": "eleven", "startback.1": "1", "csrf": csrf})
    del form["red_flags.bladder_dysfunction"]
    r = c.post(f"/patients/{world.patient_a}/assessments", data=form)
    assert r.status_code == 422
    assert 'id="f-red_flags-bladder_dysfunction-error"' in r.text
    assert 'id="f-pain-back-error"' in r.text and "enter a whole number" in r.text
    assert 'href="#f-red_flags-bladder_dysfunction-1"' in r.text  # the summary links to it
    after = world.db.transaction(lambda conn: len(conn.execute(select(assessment)).all()))
    assert after == before
    form = _complete(**{"age": "12", "startback.1": "1", "csrf": csrf})
    r = c.post(f"/patients/{world.patient_a}/assessments", data=form)
    assert r.status_code == 422
    assert "under 16" in r.text and "all 9 answers are required" in r.text
    assert 'id="f-startback-2-error"' in r.text


def test_saving_stores_reasons_and_audits(world: World) -> None:
    c = sign_in(world.app, "clin-a")
    csrf = csrf_of(c.get("/patients").text)
    form = _complete(**{"csrf": csrf, "assessed_on": "2026-02-01", "pain.leg": "3"})
    r = c.post(f"/patients/{world.patient_a}/assessments", data=form, follow_redirects=False)
    assert r.status_code == 303
    aid = r.headers["location"].rsplit("/", 1)[1]
    stored = world.db.transaction(
        lambda conn: conn.execute(select(assessment).where(assessment.c.id == aid)).one()
    )
    data = json.loads(stored.source_json)
    assert data["age"] == 52 and data["pain"] == {"back": 6, "leg": 3}
    assert stored.created_by == "clin-a" and stored.assessed_on.isoformat() == "2026-02-01"
    events = world.db.transaction(lambda conn: audit.events(conn, world.patient_a))
    assert ("assessment.create", "clin-a") in {(e.action, e.actor) for e in events}


def test_report_page_shows_both_documents_and_the_release_is_audited(world: World) -> None:
    c = sign_in(world.app, "clin-a")
    page = c.get(f"/assessments/{world.assessment_a}")
    assert page.status_code == 200
    assert 'data-audience="clinician"' in page.text and 'data-audience="patient"' in page.text
    assert "not released" in page.text
    r = c.post(
        f"/assessments/{world.assessment_a}/release",
        data={"csrf": csrf_of(page.text), "released": "yes"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "Withdraw the explanation" in c.get(f"/assessments/{world.assessment_a}").text
    rows = world.db.transaction(lambda conn: conn.execute(select(release)).all())
    assert [(r.assessment_id, r.released, r.changed_by) for r in rows] == [
        (world.assessment_a, True, "clin-a")
    ]
    actions = [
        e.action for e in world.db.transaction(lambda conn: audit.events(conn, world.patient_a))
    ]
    assert "report.release" in actions and "report.view" in actions


def test_leaflet_pdf_downloads(world: World, tmp_path: object) -> None:
    c = sign_in(world.app, "clin-a")
    r = c.get(f"/assessments/{world.assessment_a}/leaflet.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF") and "attachment" in r.headers["content-disposition"]
    import io

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)
    assert "clinical assessment" in text.lower()


def test_patient_page_shows_dated_assessments_progress_and_prompts(world: World) -> None:
    store = Store(world.db, "clin-a")
    store.save_assessment(
        world.patient_a, json.dumps(example(assessed_on="2026-03-01", pain={"back": 9}))
    )
    c = sign_in(world.app, "clin-a")
    html = c.get(f"/patients/{world.patient_a}").text
    assert "2026-01-05" in html and "2026-03-01" in html
    assert 'id="progress-' in html and "Not improving" in html and "worse" in html
    chart = c.get(f"/patients/{world.patient_a}/episodes/{world.episode_a}/progress.svg")
    assert chart.status_code == 200 and chart.headers["content-type"].startswith("image/svg+xml")
    assert "<title" in chart.text and "script" not in chart.text
    assert "default-src 'none'" in chart.headers["content-security-policy"]
    search = c.get("/patients", params={"q": "REF-A"}).text
    assert "ref-a-1" in search
    assert "ref-a-1" not in c.get("/patients", params={"q": "zzz"}).text


def test_patient_page_says_a_low_rmdq_baseline_cannot_show_an_improvement(world: World) -> None:
    store = Store(world.db, "clin-a")
    rmdq = [1, 1, 1] + [0] * 21  # 3 of 24
    pid = store.add_patient("ref-low-rmdq").id
    first = store.save_assessment(pid, json.dumps(example(assessed_on="2026-01-05", rmdq=rmdq)))
    store.save_assessment(pid, json.dumps(example(assessed_on="2026-03-01", rmdq=[0, *rmdq[1:]])))
    c = sign_in(world.app, "clin-a")
    html = c.get(f"/patients/{pid}").text
    row = next(
        r for r in html.split("<tr>") if r.startswith('<th scope="row" data-label="Measure">RMDQ')
    )
    assert "not evaluable (too low at the start to show an important improvement)" in row
    assert "0.9 (a rise only)" in row and "improved" not in row
    assert "RMDQ started at 3, below 4: too low to show an important improvement" in html
    assert "RMDQ was too low at the start to show one" in html  # in the reassess prompt
    chart = c.get(f"/patients/{pid}/episodes/{first.episode.id}/progress.svg")
    assert chart.status_code == 200 and "RMDQ, points (0-24): not evaluable" in chart.text


def test_knowledge_catalogue_page(world: World) -> None:
    c = sign_in(world.app, "clin-a")
    html = c.get("/knowledge").text
    assert "<h1>Backstory core knowledge" in html and "<table>" in html
    assert "<script" not in html.split("</head>")[1]
