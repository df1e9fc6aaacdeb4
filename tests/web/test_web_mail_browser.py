"""The e-mail form on the link page in Chromium: axe in each state, at 390 and desktop widths.

A clinician makes a questionnaire link, sends it to a mistyped address (the error is shown
beside the field), then to a good one; the real local SMTP server receives exactly one
message carrying the link shown on the page. Then the patient page's reminder form, with its
error (no consent) and once the address is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from backstory.delivery import AddressKey, MailSettings
from backstory.knowledge.loader import KnowledgeBase
from backstory.storage import Database, Store
from backstory.web.app import create_app
from backstory.web.settings import Settings

from .browsing import DESKTOP, LiveServer, axe_source
from .conftest import PASSWORD, Clock, make_operator
from .test_web_a11y import Audit

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def site(
    tmp_path: Path, kb: KnowledgeBase, password_hash: str, smtp_server: Any
) -> Iterator[tuple[str, str]]:
    host, port, _box = smtp_server
    settings = Settings(
        environment="development",
        secret_key="mail-secret-" + "x" * 40,
        mail=MailSettings(host, port, "clinic@example.org", "none", timeout=5.0),
        address_key=AddressKey(bytes(range(32))),
    )
    db = Database(f"sqlite:///{tmp_path / 'mail.db'}")
    db.ensure_schema()
    make_operator(db, "root", "Riverside physiotherapy", password_hash)
    patient = Store(db, "root", knowledge=kb).add_patient("rp-0100")
    with LiveServer(create_app(settings, db, knowledge=kb, clock=Clock())) as server:
        yield server.url, patient.id
    db.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "desktop"])
def test_emailing_a_link_in_the_browser(
    browser: Browser, site: tuple[str, str], smtp_server: Any, viewport: dict[str, int]
) -> None:
    url, patient = site
    audit = Audit(axe_source())
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(url + "/signin")
    page.fill("#username", "root")
    page.fill("#password", PASSWORD)
    page.click("#signin")
    page.wait_for_url(re.compile(r".*/worklist$"))
    page.goto(f"{url}/patients/{patient}")
    page.click("#new-questionnaire-link")
    expect(page.locator("#email-form")).to_be_visible()
    audit.check(page, "link page with the e-mail form")
    link = page.input_value("#link-url")
    page.eval_on_selector("#email-form", "f => { f.noValidate = true; }")
    page.fill("#email-to", "not an address")
    page.click("#email-send")
    expect(page.locator("#email-error")).to_be_visible()
    audit.check(page, "e-mail form with an error")
    page.fill("#email-to", "someone@example.net")
    page.click("#email-send")
    expect(page.locator("#email-sent")).to_be_visible()
    audit.check(page, "e-mail sent")
    page.goto(f"{url}/patients/{patient}")
    page.eval_on_selector("#reminders", "d => { d.open = true; }")
    audit.check(page, "patient page with the reminder form open")
    page.eval_on_selector("#reminders-form", "f => { f.noValidate = true; }")
    page.fill("#reminder-to", "someone@example.net")
    page.click("#reminders-keep")
    expect(page.locator("#reminder-error")).to_be_visible()
    audit.check(page, "reminder form with an error")
    page.fill("#reminder-to", "someone@example.net")
    page.check("#reminder-consent")
    page.click("#reminders-keep")
    expect(page.locator("#reminders-saved")).to_be_visible()
    audit.check(page, "reminder address kept")
    context.close()
    box = smtp_server[2]
    assert len(box.messages) == 1 and link in box.text()
    audit.assert_clean()
