"""A follow-up visit in a real browser, counting what the clinician does (issue 14 item 4).

Debian's Chromium against a live server: a patient seen on 2026-01-05 (the facet-pattern
example, about 95 answers) comes back. From the worklist, the clinician opens the patient
(listed there while the episode is open) and a new assessment, which starts
from that visit; ticks "warning signs unchanged since 2026-01-05"; changes three answers
(back pain, bending forwards, one STarT Back item, each in its folded section); and saves.
Every click, tick, choice and typed answer is counted: the goal is fewer than 15. The
number is written in docs/deployment.md ("The clinic's day").
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from backstory.knowledge.loader import KnowledgeBase
from backstory.storage import Database, Store, audit
from backstory.storage.tables import assessment
from backstory.web.app import create_app
from backstory.web.settings import Settings

from .browsing import DESKTOP, LiveServer
from .conftest import PASSWORD, Clock, example, make_operator

SETTINGS = Settings(environment="development", secret_key="followup-secret-" + "x" * 40)
GOAL = 15
"""Issue 14: a follow-up in fewer than 15 clicks and typed answers."""


@dataclass
class Clinic:
    url: str
    db: Database
    patient: str
    first: str


@pytest.fixture(scope="module")
def clinic(
    tmp_path_factory: pytest.TempPathFactory, kb: KnowledgeBase, password_hash: str
) -> Iterator[Clinic]:
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('followup') / 'f.db'}")
    db.ensure_schema()
    make_operator(db, "root", "Riverside physiotherapy", password_hash)
    store = Store(db, "root", knowledge=kb)
    p = store.add_patient("rp-0101", birth_year=1962, sex="female")
    first = store.save_assessment(
        p.id, json.dumps(example("p02-facet-pattern.json", assessed_on="2026-01-05"))
    )
    with LiveServer(create_app(SETTINGS, db, knowledge=kb, clock=Clock())) as server:
        yield Clinic(server.url, db, p.id, first.assessment.id)
    db.close()


class Counted:
    """The page, with every action the clinician takes counted."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.actions = 0

    def click(self, selector: str) -> None:
        self.actions += 1
        self.page.click(selector)

    def check(self, selector: str) -> None:
        self.actions += 1
        self.page.check(selector)

    def fill(self, selector: str, text: str) -> None:
        self.actions += 1
        self.page.fill(selector, text)

    def choose(self, selector: str, value: str) -> None:
        self.actions += 1
        self.page.select_option(selector, value)


def _answers(db: Database, aid: str) -> dict[str, Any]:
    text = db.transaction(
        lambda conn: conn.execute(
            select(assessment.c.source_json).where(assessment.c.id == aid)
        ).scalar_one()
    )
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def test_follow_up_from_the_last_visit_in_under_15_actions(
    browser: Browser, clinic: Clinic, tmp_path: Path
) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(clinic.url + "/signin")
    page.fill("#username", "root")
    page.fill("#password", PASSWORD)
    page.click("#signin")
    page.wait_for_url(re.compile(r".*/worklist$"))  # a clinician lands on the worklist

    me = Counted(page)  # counted from the worklist, where the day starts
    me.click(f"#row-{clinic.patient} h2 a")  # the patient is there: their episode is open
    page.wait_for_url(re.compile(rf".*/patients/{clinic.patient}$"))
    me.click("#new-assessment")
    expect(page.locator("#carried-intro")).to_contain_text("visit of 2026-01-05")
    expect(page.locator("#f-pain-back-carried")).to_contain_text(
        "Carried forward from the visit of 2026-01-05"
    )
    year = dt.datetime.now(dt.UTC).year  # the server's clock is the real one
    assert page.input_value("#f-age") == str(year - 1962)  # from the patient record
    assert page.input_value("#f-sex") == "female"
    # warning signs: nothing pre-chosen; the previous answer is shown, not carried
    assert page.locator("#s-warning input[type=radio]:checked").count() == 0
    expect(page.locator("#f-red_flags-saddle_anaesthesia-carried")).to_contain_text(
        "On 2026-01-05: no (not carried forward)"
    )
    me.check("#f-warnings-unchanged")
    me.click("#s-pain > summary")
    me.fill("#f-pain-back", "2")
    me.click("#s-movement > summary")
    me.choose("#f-movement-flexion", "worse")
    me.click("#s-startback > summary")
    me.choose("#f-startback-1", "0")
    me.click("#save-assessment")
    page.wait_for_url(re.compile(r".*/assessments/A[0-9A-Z]+$"))
    expect(page.locator("h1")).to_contain_text("Report of")
    print(f"\nfollow-up: {me.actions} actions (goal: under {GOAL})")
    assert me.actions < GOAL

    new = page.url.rsplit("/", 1)[1]
    before, after = _answers(clinic.db, clinic.first), _answers(clinic.db, new)
    assert after["pain"]["back"] == 2 and after["movement"]["flexion"] == "worse"
    assert after["startback"][0] == 0
    assert after["red_flags"] == before["red_flags"]  # carried by the confirmation
    changed = {
        f"{g}.{k}"
        for g, v in before.items()
        if isinstance(v, dict)
        for k in v
        if after.get(g, {}).get(k) != v[k]
    }
    assert changed == {"pain.back", "movement.flexion"}
    events = clinic.db.transaction(lambda conn: audit.events(conn, clinic.patient))
    assert [e.action for e in events if e.record_id == new].count(
        "assessment.warnings_unchanged"
    ) == 1
    context.close()
