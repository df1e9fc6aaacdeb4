"""The questionnaire part by part, with the answers saved as a draft (HZ-120..HZ-122).

One page per part of ``questionnaire.yaml`` and a last page to send; going back or on keeps
the answers, opening the link again resumes, a draft never reaches another link, it expires
with its link and goes when the answers are sent; a "yes" or "not sure" to a cauda equina
question is acted on at once and on every later page.
"""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from backstory.storage import audit
from backstory.storage.tables import assessment, patient_link, questionnaire_draft, report
from backstory.web.questionnaire import PARTS
from backstory.web.questionnaire_steps import SEND

from .conftest import Clock, World, csrf_of
from .questionnaire_walk import answers, new_link, post_part, walk

MOVING = next(p for p in PARTS if any(q.field == "movement.flexion" for q in p.questions))
PAIN = next(p for p in PARTS if any(q.field == "age" for q in p.questions))


def _visible(html: str, banner: str) -> bool:
    found = re.search(rf'<div class="{banner}" id="{banner}"[^>]*>', html)
    assert found, banner
    return "hidden" not in found.group(0)


def _checked(html: str, field: str, value: str) -> bool:
    qid = "q-" + field.replace(".", "-").replace("_", "-")
    found = re.search(rf'<input type="radio" id="{qid}-{value}"[^>]*>', html)
    return bool(found and " checked" in found.group(0))


def _drafts(world: World) -> int:
    return len(world.db.transaction(lambda conn: conn.execute(select(questionnaire_draft)).all()))


def test_each_part_is_its_own_page_in_order(world: World) -> None:
    path = new_link(world.app, world.patient_a)
    pages: list[str] = []
    done = walk(TestClient(world.app), path, answers(), pages=pages)
    assert done.status_code == 200 and "<h1>Thank you</h1>" in done.text
    assert len(pages) == len(PARTS) + 1
    for n, (html, part) in enumerate(zip(pages, PARTS, strict=False), start=1):
        assert f"Page {n} of {len(PARTS) + 1}" in html
        assert f'<h2 id="{part.id}-title">' in html
        others = [q for p in PARTS if p is not part for q in p.questions]
        assert not any(f'name="{q.field}"' in html for q in others)
        assert ('id="previous-page"' in html) == (n > 1)
    last = pages[-1]
    assert 'name="consent"' in last and 'id="send-answers"' in last and "privacy" in last.lower()
    assert _drafts(world) == 0  # sent: the draft is gone


def test_back_and_next_keep_the_answers(world: World) -> None:
    """HZ-120: nothing typed is lost going back, going on, or coming back later."""
    path = new_link(world.app, world.patient_a)
    c = TestClient(world.app)
    assert post_part(c, path, PARTS[0].id, answers()).status_code == 303
    moving = {"movement.flexion": "worse", "movement.sitting": "not_sure"}
    back = post_part(c, path, MOVING.id, moving, go="back")  # no check going back
    assert back.status_code == 303 and back.headers["location"].endswith(
        f"?part={PARTS[PARTS.index(MOVING) - 1].id}"
    )
    first = c.get(f"{path}?part={PARTS[0].id}").text
    assert all(_checked(first, f, "no") for f in answers() if f.startswith("red_flags."))
    again = c.get(f"{path}?part={MOVING.id}").text
    assert _checked(again, "movement.flexion", "worse")
    assert _checked(again, "movement.sitting", "not_sure")
    assert not _checked(again, "movement.walking", "worse")
    # a new visit to the link (another browser) resumes on the page it was left at
    resumed = TestClient(world.app).get(path).text
    assert f'name="part" value="{PARTS[PARTS.index(MOVING) - 1].id}"' in resumed
    # clearing an answer on its page unanswers it; the other pages keep theirs
    post_part(c, path, MOVING.id, {"movement.flexion": "worse"})
    cleared = c.get(f"{path}?part={MOVING.id}").text
    assert not _checked(cleared, "movement.sitting", "not_sure")
    assert _checked(c.get(f"{path}?part={PARTS[0].id}").text, PARTS[0].questions[0].field, "no")


def test_a_page_with_problems_comes_back_and_a_later_page_waits(world: World) -> None:
    path = new_link(world.app, world.patient_a)
    c = TestClient(world.app)
    missing = post_part(c, path, PARTS[0].id, {})
    assert missing.status_code == 422 and 'id="error-summary"' in missing.text
    assert 'href="#q-red-flags-saddle-anaesthesia"' in missing.text
    assert post_part(c, path, PARTS[0].id, answers()).status_code == 303
    young = post_part(c, path, PAIN.id, {"age": "15"})
    assert young.status_code == 422 and "aged 16 or over" in young.text
    assert post_part(c, path, PAIN.id, {"age": "16"}).status_code == 303  # the boundary
    # jumping to the last page: a required answer of another page is named with a link to it
    c.post(path, data={"csrf": csrf_of(missing.text), "part": PAIN.id, "go": "back"})
    sent = c.post(
        path, data={"csrf": csrf_of(missing.text), "part": SEND, "go": "send", "consent": "yes"}
    )
    assert sent.status_code == 422
    assert f'href="?part={PAIN.id}#q-age"' in sent.text


def test_a_draft_never_reaches_another_link(world: World) -> None:
    """HZ-121: a second link for the same patient, or a link of another patient, starts
    empty; the draft is read only through its own link."""
    first = new_link(world.app, world.patient_a)
    c = TestClient(world.app)
    post_part(c, first, PARTS[0].id, answers(**{"red_flags.saddle_anaesthesia": "yes"}))
    second = new_link(world.app, world.patient_a)
    fresh = TestClient(world.app).get(second).text
    assert f'name="part" value="{PARTS[0].id}"' in fresh
    assert not any(_checked(fresh, f, v) for f, v in answers().items())
    assert not _visible(fresh, "ces-banner")
    assert _visible(TestClient(world.app).get(first).text, "ces-banner")


def test_cauda_equina_yes_or_not_sure_is_acted_on_at_once_and_on_every_page(
    world: World,
) -> None:
    """HZ-122: the advice shows on the next page and every page after, and after sending."""
    for answer, banner, other in (
        ("yes", "ces-banner", "unsure-banner"),
        ("not_sure", "unsure-banner", "ces-banner"),
    ):
        path = new_link(world.app, world.patient_a)
        pages: list[str] = []
        given = answers(**{"red_flags.bowel_incontinence": answer})
        done = walk(TestClient(world.app), path, given, pages=pages)
        assert done.status_code == 200
        for html in [*pages[1:], done.text]:
            assert _visible(html, banner) and not _visible(html, other)
    # the first page itself: always in it, shown by the script (and by the server when the
    # page comes back with a problem)
    path = new_link(world.app, world.patient_a)
    back = post_part(
        TestClient(world.app), path, PARTS[0].id, {"red_flags.saddle_anaesthesia": "not_sure"}
    )
    assert back.status_code == 422 and _visible(back.text, "unsure-banner")


def test_drafts_expire_with_the_link(world: World, clock: Clock) -> None:
    path = new_link(world.app, world.patient_a)
    c = TestClient(world.app)
    post_part(c, path, PARTS[0].id, answers())
    assert _drafts(world) == 1
    clock.advance(hours=73)
    assert c.get(path).status_code == 404
    assert _drafts(world) == 0
    events = world.db.transaction(lambda conn: audit.events(conn, world.patient_a))
    assert [e.action for e in events if e.action.startswith("draft.")][-1] == "draft.expire"


def test_drafts_are_audited_without_answers_and_discarded_on_send(world: World) -> None:
    path = new_link(world.app, world.patient_a)
    given = answers(**{"movement.flexion": "worse", "pain.back_side": "left"})
    assert walk(TestClient(world.app), path, given).status_code == 200
    link_id = world.db.transaction(
        lambda conn: conn.execute(
            select(patient_link.c.id).where(patient_link.c.used_at.is_not(None))
        ).scalar_one()
    )
    events = [
        e
        for e in world.db.transaction(lambda conn: audit.events(conn, world.patient_a))
        if e.action.startswith("draft.")
    ]
    assert {e.actor for e in events} == {f"link:{link_id}"}
    assert events[-1].action == "draft.discard"
    assert [e.action for e in events].count("draft.save") == len(PARTS) + 1
    text = json.dumps([e.to_dict() for e in events])
    assert "worse" not in text and "left" not in text and '"38"' not in text


def test_a_report_from_movement_answers_judges_the_patterns(world: World) -> None:
    """Issue 14: a questionnaire's report no longer leaves every pattern unknown."""
    path = new_link(world.app, world.patient_a)
    given = answers(
        **{
            "movement.flexion": "worse",
            "movement.sitting": "worse",
            "movement.rising_from_sitting": "worse",
            "movement.extension": "better",
            "movement.walking": "better",
            "movement.standing": "not_sure",
        }
    )
    assert walk(TestClient(world.app), path, given).status_code == 200

    def stored(conn):  # type: ignore[no-untyped-def]
        return conn.execute(
            select(report.c.report_json)
            .join(assessment, assessment.c.id == report.c.assessment_id)
            .where(assessment.c.created_by.like("link:%"))
        ).scalar_one()

    made = json.loads(world.db.transaction(stored))
    fits = {p["id"]: p["fit"] for p in made["patterns"]}
    assert fits["flexion_related"] in ("possible", "strong"), fits
    assert set(fits.values()) != {"unknown"}
