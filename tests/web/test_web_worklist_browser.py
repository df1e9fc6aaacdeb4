"""The clinic's day in Chromium (issue 14): the worklist, "not sure", the banner, the report.

A live server over a fresh SQLite database, driven by Debian's Chromium through Playwright:

- the clinic admin sets the clinic's same-day contact (the advice quotes it);
- a patient on a phone answers "Not sure" to a cauda equina question: the advice to get help
  today appears at once, on the page, before anything is sent (HZ-85);
- the clinician's home page is the worklist: the questionnaire is at the top with its flag,
  and a banner on every page shows it until someone reviews it; reviewing clears the banner;
- the report reads top-down (triage banner naming the unanswered questions in plain words,
  then classification, plan, scores; the documents folded away), and at 390 pixels nothing
  scrolls sideways (document.scrollWidth is measured) and no word is broken across lines;
- axe finds no violation at all on every new page and state.

Screenshots at desktop and phone widths go to ``out/screenshots/`` for people to look at.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from backstory.knowledge.loader import KnowledgeBase
from backstory.storage import Database, Store
from backstory.web.app import create_app
from backstory.web.labels import field_label
from backstory.web.settings import Settings

from .browsing import DESKTOP, PHONE, LiveServer, axe_run, axe_source, screenshot
from .conftest import PASSWORD, Clock, example, invite, make_operator
from .questionnaire_walk import answers, walk_browser

SETTINGS = Settings(environment="development", secret_key="worklist-secret-" + "x" * 40)
CONTACT = "phone 01632 960 123 (8am to 6pm)"

BROKEN_WORDS = """() => {
  // A word is broken when its letters land on two lines. Hyphens and slashes may break.
  const broken = [];
  const walker = document.createTreeWalker(document.querySelector("main"), NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest("[hidden], details:not([open]) > :not(summary)")) { continue; }
    const style = getComputedStyle(parent);
    if (style.display === "none" || style.visibility === "hidden") { continue; }
    const text = node.textContent;
    const words = /[^\\s\\-\\/\\u2013\\u2014]{2,}/g;
    for (let m = words.exec(text); m; m = words.exec(text)) {
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const tops = new Set();
      for (const r of range.getClientRects()) { if (r.width > 0) { tops.add(Math.round(r.top)); } }
      if (tops.size > 1) { broken.push(m[0]); }
    }
  }
  return broken.slice(0, 10);
}"""


def _no_sideways_scroll(page: Page) -> tuple[int, int]:
    widths: list[int] = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    return widths[0], widths[1]


@dataclass
class Clinic:
    url: str
    db: Database
    emergency: str
    routine: str
    questionnaire_patient: str


@pytest.fixture(scope="module")
def clinic(
    tmp_path_factory: pytest.TempPathFactory, kb: KnowledgeBase, password_hash: str
) -> Iterator[Clinic]:
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('worklist') / 'worklist.db'}")
    db.ensure_schema()
    root = make_operator(db, "root", "Riverside physiotherapy", password_hash)
    invite(db, root, "sam", "clinician", password_hash)
    store = Store(db, "root", knowledge=kb)
    emergency = store.add_patient("rp-emergency")
    saved = store.save_assessment(
        emergency.id, json.dumps(example("p01-cauda-equina.json", assessed_on="2026-03-02"))
    )
    routine = store.add_patient("rp-routine")
    facet = store.save_assessment(
        routine.id, json.dumps(example("p02-facet-pattern.json", assessed_on="2026-03-03"))
    )
    unsure = store.add_patient("rp-questionnaire")
    app = create_app(SETTINGS, db, knowledge=kb, clock=Clock())
    with LiveServer(app) as server:
        yield Clinic(server.url, db, saved.assessment.id, facet.assessment.id, unsure.id)
    db.close()


def _sign_in(page: Page, url: str, username: str) -> None:
    page.goto(url + "/signin")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#signin")
    page.wait_for_url(re.compile(r".*/worklist$"))  # the clinician's home page


class Audit:
    def __init__(self, source: str) -> None:
        self.source = source
        self.found: list[str] = []
        self.pages = 0

    def check(self, page: Page, name: str) -> None:
        page.wait_for_load_state("load")
        found, _undecided = axe_run(page, self.source, name)
        self.pages += 1
        self.found += [str(v) for v in found]

    def assert_clean(self) -> None:
        assert self.pages > 0
        assert not self.found, "accessibility violations:\n" + "\n".join(self.found)


def test_a_not_sure_questionnaire_reaches_the_top_of_the_worklist_until_reviewed(
    browser: Browser, clinic: Clinic
) -> None:
    audit = Audit(axe_source())
    shots: list[Path] = []
    desk = browser.new_context(viewport=DESKTOP)
    desk.set_default_timeout(10_000)
    page = desk.new_page()

    # the clinic admin gives the clinic's same-day contact
    _sign_in(page, clinic.url, "root")
    expect(page.locator("#worklist li").first).to_have_attribute("data-level", "emergency")
    audit.check(page, "worklist")
    shots.append(screenshot(page, "wl-01-worklist-desktop"))
    page.click("#nav-clinic-settings")
    audit.check(page, "clinic settings")
    page.fill("#contact", CONTACT)
    page.select_option("#country", "GB")
    page.click("#save-settings")
    expect(page.locator("#settings-saved")).to_be_visible()
    expect(page.locator("#settings-preview")).to_contain_text(CONTACT)
    audit.check(page, "clinic settings saved")
    shots.append(screenshot(page, "wl-02-clinic-settings-desktop"))

    # the emergency is reviewed from the worklist: it stays (open episode), marked reviewed
    page.goto(clinic.url + "/worklist")
    page.click(f"#review-{clinic.emergency}")
    page.wait_for_url(re.compile(r".*/worklist$"))
    row = page.locator(f"#row-{_patient_of(clinic, clinic.emergency)}")
    expect(row).to_contain_text("reviewed by root")
    page.goto(f"{clinic.url}/patients/{clinic.questionnaire_patient}")
    page.click("#new-questionnaire-link")
    link = page.input_value("#link-url")

    # the patient, on a phone: "Not sure" shows the advice at once, before anything is sent
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone.set_default_timeout(10_000)
    patient = phone.new_page()
    patient.goto(link)
    advice = patient.locator("#unsure-banner")
    expect(advice).to_be_hidden()
    sent: list[str] = []
    patient.on("request", lambda r: sent.append(r.url))
    patient.tap("label[for='q-red-flags-bladder-dysfunction-not_sure']")
    expect(advice).to_be_visible()
    expect(advice).to_contain_text("Please get advice today")
    expect(advice).to_contain_text(f"Contact your clinic today: {CONTACT}.")
    expect(advice).to_contain_text("call 999")
    expect(patient.locator("#ces-banner")).to_be_hidden()
    assert sent == [] and patient.url == link
    audit.check(patient, "questionnaire with the not-sure advice")
    shots.append(screenshot(patient, "wl-03-not-sure-advice-phone", full_page=False))
    patient.tap("label[for='q-red-flags-saddle-anaesthesia-yes']")  # a "yes" wins
    expect(patient.locator("#ces-banner")).to_be_visible()
    expect(advice).to_be_hidden()
    patient.tap("label[for='q-red-flags-saddle-anaesthesia-no']")
    expect(advice).to_be_visible()
    given = answers(age="52", **{"pain.back": "6", "pain.leg": ""})
    given["red_flags.bladder_dysfunction"] = "not_sure"
    walk_browser(patient, link, given, send=False)
    expect(advice).to_be_visible()  # on every page after the first, from the saved answers
    patient.click("#send-answers")
    expect(patient.locator("h1")).to_have_text("Thank you")
    expect(advice).to_be_visible()  # said again after sending
    audit.check(patient, "thank you with the not-sure advice")
    phone.close()

    # the clinician: the questionnaire tops the worklist, flagged; a banner on every page
    page.goto(clinic.url + "/worklist")
    first = page.locator("#worklist > li").first
    expect(first).to_have_id(f"row-{clinic.questionnaire_patient}")
    expect(first.locator("[data-flag='ces-unsure']")).to_be_visible()
    expect(first).to_contain_text("New questionnaire")
    expect(first).to_contain_text("not reviewed")
    banner = page.locator("#alert-banner")
    expect(banner).to_contain_text("Not sure about cauda equina warning signs")
    audit.check(page, "worklist with a new questionnaire and the banner")
    shots.append(screenshot(page, "wl-04-worklist-banner-desktop"))
    page.set_viewport_size(PHONE)
    shots.append(screenshot(page, "wl-05-worklist-banner-phone"))
    audit.check(page, "worklist with the banner (phone)")
    page.set_viewport_size(DESKTOP)
    for path in ("/patients", "/knowledge", f"/assessments/{clinic.routine}"):
        page.goto(clinic.url + path)
        expect(page.locator("#alert-banner")).to_be_visible()

    # the report, top-down: the triage banner first, the missing answers named in words
    page.goto(clinic.url + "/worklist")
    first.locator("a.button").click()
    page.wait_for_url(re.compile(r".*/assessments/[A-Z0-9]+$"))
    top = page.locator("#triage-banner")
    expect(top).to_contain_text("The patient was not sure about cauda equina warning signs")
    unanswered = page.locator("#unanswered")
    expect(unanswered).to_contain_text(field_label("red_flags.bladder_dysfunction"))
    expect(unanswered).to_contain_text("(the patient was not sure)")
    main_text = page.inner_text("main")
    assert "red_flags." not in main_text and "link:" not in main_text
    assert ".yaml" not in main_text and "null when" not in main_text
    order = page.evaluate(
        "() => ['triage-banner', 'working-classification', 'plan', 'scores', 'full-summary']"
        ".map(id => document.getElementById(id).getBoundingClientRect().top)"
    )
    assert order == sorted(order), order
    expect(page.locator("#full-summary")).not_to_have_attribute("open", "")
    audit.check(page, "report of a not-sure questionnaire")
    shots.append(screenshot(page, "wl-06-report-desktop", full_page=False))
    page.click("#full-summary > summary")
    page.click("#patient-explanation-details > summary")
    audit.check(page, "report with the documents open")

    # at 390 pixels: no sideways scroll, no broken word - folded and unfolded
    page.set_viewport_size(PHONE)
    for state in ("open", "folded"):
        scroll, inner = _no_sideways_scroll(page)
        assert scroll <= inner, (state, scroll, inner)
        assert page.evaluate(BROKEN_WORDS) == [], state
        if state == "open":
            shots.append(screenshot(page, "wl-07-report-open-phone"))
            page.reload()
    shots.append(screenshot(page, "wl-08-report-phone"))
    audit.check(page, "report (phone)")
    for aid in (clinic.emergency, clinic.routine):
        page.goto(f"{clinic.url}/assessments/{aid}")
        page.click("#full-summary > summary")
        page.click("#patient-explanation-details > summary")
        scroll, inner = _no_sideways_scroll(page)
        assert scroll <= inner, (aid, scroll, inner)
        assert page.evaluate(BROKEN_WORDS) == [], aid
    shots.append(screenshot(page, "wl-09-report-routine-open-phone"))
    page.set_viewport_size(DESKTOP)

    # one click to record the missing answers: a new assessment with the rest filled in
    page.goto(clinic.url + "/worklist")
    page.locator("#worklist > li").first.locator("a.button").click()
    page.click("#record-answers")
    expect(page.locator("h1")).to_have_text("New assessment")
    expect(page.locator("#f-red_flags-saddle_anaesthesia-2")).to_be_checked()  # "no", kept
    expect(page.locator("#f-age")).to_have_value("52")
    bladder = page.locator("#f-red_flags-bladder_dysfunction input:checked")
    expect(bladder).to_have_count(0)  # the unanswered question is left for the clinician
    audit.check(page, "pre-filled new assessment")
    page.go_back()

    # reviewing clears the banner, everywhere
    page.click("#review")
    page.wait_for_url(re.compile(r".*/assessments/[A-Z0-9]+$"))
    expect(page.locator("#review-state")).to_contain_text("Reviewed by root")
    expect(page.locator("#alert-banner")).to_have_count(0)
    page.goto(clinic.url + "/worklist")
    expect(page.locator("#alert-banner")).to_have_count(0)
    audit.check(page, "worklist after review")
    desk.close()

    for shot in shots:
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    audit.assert_clean()


def _patient_of(clinic: Clinic, assessment_id: str) -> str:
    store = Store(clinic.db, "root")
    for s in store.list_patients():
        record = store.patient_record(s.patient.id)
        for ep in record.episodes:
            if any(a.assessment.id == assessment_id for a in ep.assessments):
                return s.patient.id
    raise AssertionError(assessment_id)


def test_follow_ups_due_on_the_worklist_and_plain_error_summaries(
    browser: Browser, clinic: Clinic
) -> None:
    """New states of issue 14's last round, with axe finding nothing at all: follow-ups due
    on the worklist, the printed link page, and the form's error summary by labels."""
    audit = Audit(axe_source())
    desk = browser.new_context(viewport=DESKTOP)
    desk.set_default_timeout(10_000)
    page = desk.new_page()
    _sign_in(page, clinic.url, "root")
    pid = _patient_of(clinic, clinic.routine)
    page.goto(f"{clinic.url}/patients/{pid}")
    page.locator("details.episode-end > summary").first.click()
    page.locator("button[id^='schedule-']").first.click()
    page.goto(clinic.url + "/worklist")
    expect(page.locator("#followups-due-count")).to_contain_text("3 follow-up questionnaires")
    due = page.locator("#followups-due li")
    expect(due).to_have_count(3)
    expect(due.first).to_contain_text("rp-routine: the 2-week follow-up questionnaire")
    audit.check(page, "worklist with follow-ups due")
    screenshot(page, "wl-10-worklist-followups-desktop")
    page.set_viewport_size(PHONE)
    scroll, inner = _no_sideways_scroll(page)
    assert scroll <= inner, (scroll, inner)
    audit.check(page, "worklist with follow-ups due (phone)")
    page.set_viewport_size(DESKTOP)
    due.first.locator("button").click()
    expect(page.locator("#link-expires")).to_be_visible()
    expect(page.locator("#link-once")).to_contain_text("can send their answers once")
    audit.check(page, "follow-up questionnaire link")
    page.goto(clinic.url + "/worklist")
    expect(page.locator("#followups-due li")).to_have_count(2)

    page.goto(f"{clinic.url}/patients/{pid}/assessments/new?blank=1")
    page.fill("#f-age", "47")
    # past the browser's own check of the required choices, to the server's summary
    page.evaluate("() => { document.getElementById('assessment-form').noValidate = true; }")
    page.click("#save-assessment")
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text(field_label("red_flags.saddle_anaesthesia"))
    assert "red_flags." not in summary.inner_text()
    audit.check(page, "assessment form with its error summary")
    desk.close()
    audit.assert_clean()
