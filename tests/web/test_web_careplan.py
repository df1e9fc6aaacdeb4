"""A released programme as a FHIR R4 CarePlan (issue 15 item 5): through the API with a
token (`GET /api/v1/programmes/{id}/careplan`) and as a download from the clinician's
programme page. Both give the same validated resource, the current week after the patient's
check-ins; a draft version and another clinic's programme are a 404; every read is audited.
Both backends; synthetic data only.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

from fastapi.testclient import TestClient
from fhir.resources.R4B.careplan import CarePlan

from backstory.fhir.r4b import validate
from backstory.storage import Store, audit, programmes

from .conftest import Clock, World, make_token, sign_in
from .test_web_programme import _assessment, _checkin, _released, screened


def _api(world: World, token: str | None = None) -> TestClient:
    return TestClient(world.app, headers={"Authorization": f"Bearer {token or world.read_token}"})


def _exports(world: World, gid: str) -> list[tuple[str, str]]:
    """(actor, format) of each audited export read of programme ``gid``."""
    events = world.db.transaction(lambda conn: audit.events(conn))
    return [
        (e.actor, str(e.detail.get("format")))
        for e in events
        if e.action == "programme.view" and e.record_id == gid and "format" in e.detail
    ]


def _week(page: str) -> int:
    found = re.search(r'<h2 id="week-title">Week (\d+) of', page)
    assert found, page
    return int(found.group(1))


def test_the_api_gives_the_released_programme_as_a_valid_careplan(
    world: World, clock: Clock
) -> None:
    c = sign_in(world.app, "clin-a")
    pid, gid, _link = _released(world, c)
    released = clock.now.date().isoformat()
    page = c.get(f"/programmes/{gid}").text
    clock.advance(days=3)  # created is the release day, not the day of the export
    r = _api(world).get(f"/api/v1/programmes/{gid}/careplan")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    plan: dict[str, Any] = r.json()
    validate(plan)
    CarePlan.model_validate(plan)  # the R4B model itself, as the other resources' tests do
    assert plan["resourceType"] == "CarePlan" and plan["status"] == "active"
    assert plan["subject"] == {"reference": f"Patient/{pid}"}  # as the assessment Bundle
    assert plan["created"] == released
    texts = [a["detail"]["code"]["text"] for a in plan["activity"]]
    exercises = [t for t in texts if t.startswith("Exercise: ")]
    assert 3 <= len(exercises) <= 5
    for t in exercises:  # this week's exercises, as the programme page shows them
        assert f"<strong>{html.escape(t.removeprefix('Exercise: '))}</strong>" in page, t
    assert texts[0].startswith("Education: ") and "Walking" in texts
    assert f"week {_week(page)} of" in plan["title"]
    [(actor, fmt)] = _exports(world, gid)  # one read, under the token's name
    assert actor.startswith("token:T") and fmt == "fhir"


def test_the_programme_page_offers_the_same_careplan_to_download(
    world: World, clock: Clock
) -> None:
    c = sign_in(world.app, "clin-a")
    _pid, gid, _link = _released(world, c)
    page = c.get(f"/programmes/{gid}").text
    assert f'href="/programmes/{gid}/careplan.json" id="programme-careplan" download' in page
    r = c.get(f"/programmes/{gid}/careplan.json")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/fhir+json")
    assert r.headers["content-disposition"] == f'attachment; filename="careplan-{gid}.json"'
    validate(r.json())
    assert r.json() == _api(world).get(f"/api/v1/programmes/{gid}/careplan").json()
    assert _exports(world, gid)[0] == ("clin-a", "fhir")


def test_the_careplan_follows_the_check_ins(world: World, clock: Clock) -> None:
    c = sign_in(world.app, "clin-a")
    _pid, gid, link = _released(world, c)
    api = _api(world)
    first = api.get(f"/api/v1/programmes/{gid}/careplan").json()
    _checkin(TestClient(world.app), link, pain=5)
    second = api.get(f"/api/v1/programmes/{gid}/careplan").json()
    page = c.get(f"/programmes/{gid}").text
    assert f"week {_week(page)} of" in second["title"]
    assert first["title"] != second["title"]  # a week on after the check-in
    _checkin(TestClient(world.app), link, {"red_flags.bladder_dysfunction": "yes"})
    stopped = api.get(f"/api/v1/programmes/{gid}/careplan").json()
    validate(stopped)
    assert stopped["status"] == "on-hold"
    assert "red_flags.bladder_dysfunction" in stopped["note"][0]["text"]


def test_a_draft_is_not_exported_and_not_offered(world: World, clock: Clock) -> None:
    c = sign_in(world.app, "clin-a")
    _pid, aid = _assessment(world, screened(), ref="careplan-draft")
    draft = Store(world.db, "clin-a").run(
        lambda conn, user: programmes.save_version(
            conn, user, aid, {}, None, dt.datetime.now(dt.UTC)
        )
    )
    page = c.get(f"/programmes/{draft.id}").text
    assert "a draft" in page and "careplan.json" not in page
    assert _api(world).get(f"/api/v1/programmes/{draft.id}/careplan").status_code == 404
    assert c.get(f"/programmes/{draft.id}/careplan.json").status_code == 404
    assert _exports(world, draft.id) == []


def test_another_clinic_gets_a_404_and_no_careplan(world: World, clock: Clock) -> None:
    c = sign_in(world.app, "clin-a")
    _pid, gid, _link = _released(world, c)
    other = _api(world, make_token(world.db, world.admin_b, "read"))
    r = other.get(f"/api/v1/programmes/{gid}/careplan")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert sign_in(world.app, "clin-b").get(f"/programmes/{gid}/careplan.json").status_code == 404
    assert TestClient(world.app).get(f"/api/v1/programmes/{gid}/careplan").status_code == 401
    assert _api(world).get("/api/v1/programmes/G0000000000/careplan").status_code == 404
    assert _exports(world, gid) == []
