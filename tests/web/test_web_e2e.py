"""End to end: a real ``backstory serve`` driven by Debian's Chromium through Playwright.

The server runs as its own process on a free loopback port over a new SQLite database, as
a person would start it. The test reads the one-time set-up link from its output, sets up
the first account, signs in, adds a patient, enters a facet-pattern assessment through the
form (the warning signs by keyboard alone), reads the report, downloads the leaflet PDF and
releases the explanation; then a patient opens a questionnaire link on a phone-sized
screen, where a "yes" to a cauda equina question shows the emergency banner at once,
before anything is sent (HZ-11). Screenshots at desktop and phone widths go to
``out/screenshots/`` for people to look at.
"""

from __future__ import annotations

import io
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader

from backstory.web.forms import NOT_ASKED, assessment_form, values_of

from .browsing import DESKTOP, PHONE, free_port, screenshot
from .conftest import PASSWORD
from .questionnaire_walk import answers, walk_browser

ROOT = Path(__file__).resolve().parents[2]
FACET = json.loads((ROOT / "examples" / "facet-pattern.json").read_text())
REFERENCE = "e2e-ref-4711"


@dataclass
class Server:
    """``backstory serve`` in a child process, and everything it printed."""

    url: str
    setup_url: str
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "".join(self.lines)


def _command() -> list[str]:
    script = Path(sys.executable).with_name("backstory")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from backstory.cli.main import main; main()"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    db = tmp_path_factory.mktemp("e2e") / "backstory.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKSTORY_")}
    env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        [*_command(), "serve", "--port", str(port), "--database", f"sqlite:///{db}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    lines: list[str] = []
    incoming: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            incoming.put(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    url = f"http://127.0.0.1:{port}"
    setup = re.compile(rf"^\s+({re.escape(url)}/setup/\S+)\s*$")
    setup_url = ""
    deadline = time.monotonic() + 60
    try:
        while not setup_url:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("backstory serve printed no set-up link:\n" + "".join(lines))
            try:
                found = setup.match(incoming.get(timeout=0.5))
            except queue.Empty:
                continue
            if found:
                setup_url = found.group(1)
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("backstory serve did not answer:\n" + "".join(lines))
            time.sleep(0.05)
        yield Server(url, setup_url, process, lines)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        reader.join(5)
        process.stdout.close()


def _shot(page: Page, name: str, shots: list[Path], *, full_page: bool = True) -> None:
    shots.append(screenshot(page, name, full_page=full_page))


def _both_widths(page: Page, name: str, shots: list[Path], *, full_page: bool = True) -> None:
    """A screenshot at the desktop width and one at a phone's width, then back.

    Long pages (the form, the report) are taken a screenful at a time, not whole.
    """
    _shot(page, f"{name}-desktop", shots, full_page=full_page)
    page.set_viewport_size(PHONE)
    _shot(page, f"{name}-phone", shots, full_page=full_page)
    page.set_viewport_size(DESKTOP)


def _focused(page: Page) -> dict[str, str]:
    found: dict[str, str] = page.evaluate(
        "() => { const e = document.activeElement;"
        " return {id: e.id || '', name: e.getAttribute('name') || '', tag: e.tagName}; }"
    )
    return found


def _warning_signs_by_keyboard(page: Page) -> None:
    """Answer every warning-sign question with Tab, arrow keys and Space only."""
    page.keyboard.press("Tab")
    assert "skip-link" in page.evaluate("() => document.activeElement.className")
    page.keyboard.press("Enter")  # skip to the main content
    assert _focused(page)["id"] == "main"
    wanted = values_of(FACET)
    for f in assessment_form()[0].fields:
        page.keyboard.press("Tab")
        now = _focused(page)
        assert now["name"] == f.name, (now, f.name)
        assert now["id"] == f"{f.id}-1"  # nothing chosen yet: Tab lands on the first choice
        target = [c.value for c in f.choices].index(wanted.get(f.name, NOT_ASKED))
        if target == 0:
            page.keyboard.press("Space")
        for _ in range(target):
            page.keyboard.press("ArrowDown")  # moves to the next choice and selects it
    for f in assessment_form()[0].fields:
        checked = page.eval_on_selector(
            f"#{f.id}", "fs => (fs.querySelector('input:checked') || {}).value || ''"
        )
        assert checked == wanted.get(f.name, NOT_ASKED), f.name


def _rest_of_the_form(page: Page) -> None:
    """Open each folded section from the keyboard and fill in the rest of the example."""
    wanted = values_of(FACET)
    wanted.pop("id", None)
    for section in assessment_form()[1:]:
        if section.collapsible:
            page.focus(f"#{section.id} > summary")
            page.keyboard.press("Enter")
            expect(page.locator(f"#{section.id}")).to_have_attribute("open", "")
        for f in section.fields:
            value = wanted.get(f.name)
            if value is None:
                continue
            if f.kind == "radio":
                page.check(f"#{f.id}-{[c.value for c in f.choices].index(value) + 1}")
            elif f.kind == "select":
                page.select_option(f"#{f.id}", value)
            else:
                page.fill(f"#{f.id}", value)


def test_clinician_and_patient_journeys(browser: Browser, server: Server) -> None:
    shots: list[Path] = []
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    context.set_default_timeout(10_000)
    page = context.new_page()

    # first start: the set-up link printed in the terminal
    assert "First start" in server.output
    page.goto(server.setup_url)
    expect(page.locator("h1")).to_have_text("Set up Backstory")
    _shot(page, "01-setup", shots)
    page.fill("#clinic", "Riverside physiotherapy")
    page.fill("#username", "first")
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("#setup")
    expect(page.locator("h1")).to_have_text("Backstory is set up")
    page.click("#next")

    # sign in, from the keyboard
    expect(page.locator("h1")).to_have_text("Sign in")
    _both_widths(page, "02-signin", shots)
    page.focus("#username")
    page.keyboard.type("first")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.url}/worklist")  # the clinician's home page
    expect(page.locator("#worklist-empty")).to_be_visible()
    page.click("#nav-patients")
    expect(page.locator("#no-patients")).to_be_visible()

    # a new patient
    page.click("#add-patient")
    page.fill("#reference", REFERENCE)
    page.fill("#birth_year", "1962")
    page.select_option("#sex", "male")
    page.click("#save-patient")
    page.wait_for_url(re.compile(r".*/patients/[A-Z0-9]+$"))
    patient_url = page.url
    expect(page.locator("h1")).to_have_text(f"Patient {REFERENCE}")

    # a facet-pattern assessment through the form
    page.click("#new-assessment")
    expect(page.locator("h1")).to_have_text("New assessment")
    _warning_signs_by_keyboard(page)
    _rest_of_the_form(page)
    page.evaluate("() => window.scrollTo(0, 0)")
    _both_widths(page, "03-assessment-form", shots, full_page=False)
    page.focus("#save-assessment")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/assessments/[A-Z0-9]+$"))

    # the report: routine triage, the facet pattern described (never diagnosed)
    expect(page.locator("#triage-level")).to_have_text("Routine")
    expect(page.locator("#working-classification")).to_contain_text("facet-joint pattern")
    page.click("#full-summary > summary")  # the evidence is one click away
    clinician = page.locator("#clinician-summary")
    expect(clinician).to_contain_text("facet", ignore_case=True)
    expect(clinician).to_contain_text("Mechanical facet-joint pattern: strong")
    page.click("#patient-explanation-details > summary")
    expect(page.locator("#patient-explanation")).to_be_visible()
    _both_widths(page, "04-report", shots, full_page=False)
    # both PDFs, downloaded as the clinician does and read back: the patient's reference,
    # the clinic and page numbers on every page; the routine summary fits on two pages
    for link in ("#leaflet-pdf", "#summary-pdf"):
        with page.expect_download() as download:
            page.click(link)
        pdf = Path(download.value.path()).read_bytes()
        assert pdf.startswith(b"%PDF-")
        texts = [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]
        assert texts, link
        for n, text in enumerate(texts, start=1):
            assert f"Patient {REFERENCE} - Riverside physiotherapy" in text, (link, n)
            assert "Clinician first" in text, (link, n)
            assert f"Page {n} of {len(texts)}" in text, (link, n)
        if link == "#summary-pdf":
            assert len(texts) <= 2, f"the routine clinician summary has {len(texts)} pages"
    page.click("#release-toggle")
    expect(page.locator("#release-state")).to_contain_text("is released")

    # the patient page lists it; make a pre-visit questionnaire link
    page.goto(patient_url)
    expect(page.locator("table.assessments tbody tr")).to_have_count(1)
    _both_widths(page, "05-patient", shots)
    page.click("#new-questionnaire-link")
    link = page.input_value("#link-url")
    assert link.startswith(f"{server.url}/p/")

    # the patient, on a phone, without an account
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone.set_default_timeout(10_000)
    patient = phone.new_page()
    patient.goto(link)
    expect(patient.locator("h1")).to_have_text("Before your appointment")
    stops = page.inner_text("#link-expires")  # the day the printed page gave
    expect(patient.locator("#link-about")).to_contain_text(
        f"From Riverside physiotherapy. This link stops working on {stops}"
    )
    banner = patient.locator("#ces-banner")
    expect(banner).to_be_hidden()
    _shot(patient, "06-questionnaire-phone", shots)
    requests: list[str] = []
    patient.on("request", lambda r: requests.append(r.url))
    patient.tap("label[for='q-red-flags-bladder-dysfunction-yes']")
    expect(banner).to_be_visible()  # at once, on the page: nothing was sent
    expect(banner).to_contain_text("Go to the emergency department (A&E) today")
    assert requests == [] and patient.url == link
    _shot(patient, "07-emergency-banner-phone", shots, full_page=False)
    patient.tap("label[for='q-red-flags-bladder-dysfunction-no']")
    expect(banner).to_be_hidden()
    given = answers(age="63", **{"pain.back": "5", "pain.leg": "0", "movement.flexion": "worse"})
    given["red_flags.bilateral_leg_symptoms"] = "not_sure"
    walk_browser(patient, link, given, tap=True)
    expect(patient.locator("h1")).to_have_text("Thank you")
    _shot(patient, "08-thank-you-phone", shots)
    phone.close()

    # the answers reach the clinician as an assessment entered through the link
    page.goto(patient_url)
    expect(page.locator("table.assessments tbody tr")).to_have_count(2)
    expect(page.locator("table.assessments")).to_contain_text("the patient (questionnaire)")
    expect(page.locator("table.assessments")).not_to_contain_text("link:")
    context.close()

    for shot in shots:
        assert shot.stat().st_size > 1000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # nothing personal reached the server's log (HZ-14)
    log = server.output
    assert "GET /patients/{patient_id} 200" in log  # routes are logged as templates
    assert REFERENCE not in log
    assert link.rsplit("/", 1)[1] not in log
    assert "unhandled" not in log and " 500 " not in log
