"""Walk the patient's questionnaire page by page, as a patient would.

The questionnaire is one part per page, then a last page that asks for consent and sends
(``backstory.web.questionnaire_steps``). Tests fill it in through these helpers, so they
follow the pages whatever parts the knowledge holds:

- :func:`answers` - a routine set of answers (every cauda equina question "no"), changed by
  keyword (``answers(**{"red_flags.fever": "yes"})``);
- :func:`walk` - with a ``TestClient``: open the link, post each part's answers (only that
  part's), follow each redirect, then send; it returns the last response (the thank-you page,
  or the first page that came back with problems);
- :func:`walk_browser` - the same in a Playwright page, calling ``check(page, name)`` on every
  page (for axe), then sending.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from backstory.web.questionnaire import CES_FIELDS, PARTS, Part
from backstory.web.questionnaire_steps import SEND

from .conftest import csrf_of, sign_in

ROUTINE = {"age": "38", "pain.back": "6", "pain.leg": "2"}


def answers(**changes: str) -> dict[str, str]:
    """A routine questionnaire: no cauda equina sign, an age and two pain scores."""
    form = {f: "no" for f in CES_FIELDS}
    form.update(ROUTINE)
    form.update(changes)
    return {k: v for k, v in form.items() if v != ""}


def part_answers(part: Part, given: Mapping[str, str]) -> dict[str, str]:
    """The answers that belong on this part's page."""
    return {q.field: given[q.field] for q in part.questions if q.field in given}


def post_part(
    client: TestClient, path: str, part: str, data: Mapping[str, str], go: str = "next"
) -> Response:
    """Post one page (no redirect followed): 303 to the next page, or 422 with problems."""
    csrf = csrf_of(client.get(f"{path}?part={part}").text)
    form = {**data, "csrf": csrf, "part": part, "go": go}
    return client.post(path, data=form, follow_redirects=False)


def walk(
    client: TestClient,
    path: str,
    given: Mapping[str, str],
    *,
    consent: bool = True,
    pages: list[str] | None = None,
) -> Response:
    """Fill in the questionnaire at ``path`` page by page and send it.

    Returns the thank-you page, or the first page that did not move on (its status is 422).
    ``pages`` collects the HTML of every page shown on the way.
    """
    shown = client.get(f"{path}?part={PARTS[0].id}")  # from the start, whatever was saved
    assert shown.status_code == 200, shown.text
    csrf = csrf_of(shown.text)
    for part in PARTS:
        if pages is not None:
            pages.append(shown.text)
        assert f'name="part" value="{part.id}"' in shown.text, part.id
        form = {**part_answers(part, given), "csrf": csrf, "part": part.id, "go": "next"}
        moved = client.post(path, data=form, follow_redirects=False)
        if moved.status_code != 303:
            return moved
        shown = client.get(moved.headers["location"])
    if pages is not None:
        pages.append(shown.text)
    assert f'name="part" value="{SEND}"' in shown.text
    form = {"csrf": csrf, "part": SEND, "go": "send"} | ({"consent": "yes"} if consent else {})
    return client.post(path, data=form)


def _answer(page: Any, part: Part, given: Mapping[str, str], tap: bool) -> None:
    for q in part.questions:
        value = given.get(q.field)
        if value is None:
            continue
        if q.kind in ("yesno", "choice"):
            if tap:
                page.tap(f"label[for='{q.id}-{value}']")
            else:
                page.check(f"#{q.id}-{value}")
        else:
            page.fill(f"#{q.id}", value)


def walk_browser(
    page: Any,
    url: str,
    given: Mapping[str, str],
    *,
    check: Callable[[Any, str], None] | None = None,
    first: Callable[[Any], None] | None = None,
    consent: bool = True,
    send: bool = True,
    tap: bool = False,
) -> None:
    """Fill in the questionnaire at ``url`` in a Playwright page, one page at a time.

    ``first(page)`` runs on the first page before it is answered (to try the banners);
    ``check(page, name)`` runs on every page once it is answered. With ``send=False`` it
    stops on the last page, ready to send.
    """
    page.goto(f"{url}?part={PARTS[0].id}")
    for i, part in enumerate(PARTS):
        assert page.locator("input[name='part']").input_value() == part.id
        if i == 0 and first is not None:
            first(page)
        _answer(page, part, given, tap)
        if check is not None:
            check(page, f"questionnaire page {i + 1}: {part.title}")
        page.click("#next-page")
        page.wait_for_url(f"**?part={PARTS[i + 1].id if i + 1 < len(PARTS) else SEND}")
    if consent:
        page.check("#q-consent")
    if check is not None:
        check(page, "questionnaire: check and send")
    if send:
        page.click("#send-answers")


def new_link(app: Any, patient_id: str, user: str = "clin-a") -> str:
    """A questionnaire link for a patient, made by a signed-in clinician: its path."""
    c = sign_in(app, user)
    r = c.post(f"/patients/{patient_id}/links", data={"csrf": csrf_of(c.get("/patients").text)})
    found = re.search(r'id="link-url" type="text" readonly value="([^"]+)"', r.text)
    assert found, r.text
    return found.group(1).replace("http://testserver", "")
