"""The questionnaire on a phone (390 CSS pixels) in Chromium, one page per part.

Every page - each part, the last page, the thank-you page - is audited with axe (WCAG 2.1 AA:
0 violations) and measured for sideways scrolling; "Go back" and the next page keep what
was chosen; a "not sure" to a cauda equina question shows the advice at once, before
anything is sent, and again on every later page (HZ-120, HZ-122).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect

from backstory.knowledge.loader import KnowledgeBase
from backstory.storage import Database, Store
from backstory.storage.sharing import create_link
from backstory.web.app import create_app
from backstory.web.links import new_link
from backstory.web.questionnaire import PARTS
from backstory.web.security import Signer
from backstory.web.settings import Settings

from .browsing import PHONE, LiveServer, axe_run, axe_source, overflow, screenshot
from .conftest import PASSWORD, Clock, make_operator
from .questionnaire_walk import answers, walk_browser

SETTINGS = Settings(environment="development", secret_key="questionnaire-secret-" + "x" * 40)
MOVING = next(p for p in PARTS if any(q.field == "movement.flexion" for q in p.questions))


@dataclass
class Clinic:
    url: str
    db: Database
    store: Store
    patient: str

    def link(self) -> str:
        """A fresh questionnaire link for the patient, as the clinician's page makes it."""
        token, digest = new_link(Signer(SETTINGS.secret_key), "patient-link")
        now = dt.datetime.now(dt.UTC)
        later = now + dt.timedelta(hours=SETTINGS.link_hours)
        self.store.run(
            lambda conn, user: create_link(
                conn, user, self.patient, "questionnaire", digest, now, later
            )
        )
        return f"{self.url}/p/{token}"


@pytest.fixture(scope="module")
def clinic(
    tmp_path_factory: pytest.TempPathFactory, kb: KnowledgeBase, password_hash: str
) -> Iterator[Clinic]:
    assert PASSWORD  # the operator signs in with it elsewhere; here only links are used
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('questionnaire') / 'q.db'}")
    db.ensure_schema()
    make_operator(db, "root", "Riverside physiotherapy", password_hash)
    store = Store(db, "root", knowledge=kb)
    patient = store.add_patient("rp-phone")
    app = create_app(SETTINGS, db, knowledge=kb, clock=Clock())
    with LiveServer(app) as server:
        yield Clinic(server.url, db, store, patient.id)
    db.close()


class Audit:
    """axe and the sideways-scroll measure on every page."""

    def __init__(self) -> None:
        self.source = axe_source()
        self.found: list[str] = []
        self.wide: list[str] = []
        self.pages: list[str] = []

    def check(self, page: Page, name: str) -> None:
        page.wait_for_load_state("load")
        found, _undecided = axe_run(page, self.source, name)
        self.pages.append(name)
        self.found += [str(v) for v in found]
        widths: list[int] = page.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth]"
        )
        if widths[0] > widths[1] or overflow(page):
            self.wide.append(f"{name}: {widths} {overflow(page)}")

    def assert_clean(self) -> None:
        assert len(self.pages) >= len(PARTS) + 2
        assert not self.found, "accessibility violations:\n" + "\n".join(self.found)
        assert not self.wide, "pages that scroll sideways at 390 px:\n" + "\n".join(self.wide)


def test_every_page_on_a_phone_is_accessible_and_keeps_its_answers(
    browser: Browser, clinic: Clinic
) -> None:
    audit = Audit()
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone.set_default_timeout(10_000)
    page = phone.new_page()
    url = clinic.link()
    sent: list[str] = []

    def first(p: Page) -> None:
        """The first page: "not sure" shows the advice at once, with nothing sent."""
        p.on("request", lambda r: sent.append(r.url))
        p.tap("label[for='q-red-flags-bladder-dysfunction-not_sure']")
        expect(p.locator("#unsure-banner")).to_be_visible()
        assert sent == []
        audit.check(p, "first page with the not-sure advice")
        screenshot(p, "q-01-not-sure-advice-phone", full_page=False)

    given = answers(
        **{
            "red_flags.bladder_dysfunction": "not_sure",
            "movement.flexion": "worse",
            "movement.extension": "better",
            "pain.back_side": "both",
        }
    )
    walk_browser(page, url, given, check=audit.check, first=first, send=False, tap=True)
    # the advice is on every later page, from the saved answers (no script needed)
    expect(page.locator("#unsure-banner")).to_be_visible()
    # back to the movement page: what was chosen is still chosen
    while page.locator("input[name='part']").input_value() != MOVING.id:
        page.click("#previous-page")
        page.wait_for_load_state("load")
    expect(page.locator("#q-movement-flexion-worse")).to_be_checked()
    expect(page.locator("#q-movement-extension-better")).to_be_checked()
    expect(page.locator("#unsure-banner")).to_be_visible()
    audit.check(page, "movement page after going back")
    screenshot(page, "q-02-movement-page-phone")
    # reopening the link resumes on this page
    page.goto(url)
    assert page.locator("input[name='part']").input_value() == MOVING.id
    while page.locator("#next-page").count():
        page.click("#next-page")
        page.wait_for_load_state("load")
    page.check("#q-consent")
    page.click("#send-answers")
    expect(page.locator("h1")).to_have_text("Thank you")
    expect(page.locator("#unsure-banner")).to_be_visible()
    audit.check(page, "thank you with the not-sure advice")
    phone.close()
    audit.assert_clean()
