"""CDS Hooks: fetching a missing prefetch is off by default, allowed servers only, and safe.

Every case goes over HTTP with a read-only API token against small recording FHIR servers
on loopback ports (``fhir_servers``), so each test can show what Backstory fetched - and, for
the server-side request forgery cases, that it fetched nothing - and that the caller gets the
same 412 whatever went wrong.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from backstory.cds import NOT_FETCHED
from backstory.knowledge.loader import KnowledgeBase
from backstory.storage import audit
from backstory.web.app import create_app
from backstory.web.cds_fetch import FhirFetcher
from backstory.web.settings import Settings, SettingsError, settings_from_env

from .conftest import Clock, World
from .fhir_servers import FakeFhir, fake_fhir
from .test_web_cds import PV, hook, qr

EHR_TOKEN = "ehr-access-token-for-the-fhir-server"


def hook_naming(server: str, patient: str = "ehr-1") -> dict[str, Any]:
    """A patient-view call without prefetch that names ``server`` as its FHIR server."""
    body = hook("p01-cauda-equina", prefetch=False)
    body["context"]["patientId"] = patient
    body["fhirServer"] = server
    body["fhirAuthorization"] = {
        "access_token": EHR_TOKEN,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/QuestionnaireResponse.read",
        "subject": "backstory",
    }
    return body


def bundle() -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": qr("p01-cauda-equina")}],
    }


def app_allowing(
    world: World, settings: Settings, kb: KnowledgeBase, clock: Clock, *servers: str
) -> FastAPI:
    return create_app(
        dataclasses.replace(settings, cds_fhir_servers=tuple(servers)),
        world.db,
        knowledge=kb,
        clock=clock,
    )


def post(app: FastAPI, world: World, body: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {world.read_token}"}
    return TestClient(app).post(PV, json=body, headers=headers)


def fetch_outcomes(world: World) -> list[str]:
    found = world.db.transaction(lambda conn: audit.events(conn))
    return [e.detail["outcome"] for e in found if e.action == "cds.fetch"]


def assert_not_fetched(r: httpx.Response) -> None:
    assert r.status_code == 412, r.text
    assert r.json() == {"error": NOT_FETCHED}


@pytest.fixture
def internal() -> Iterator[FakeFhir]:
    """An internal service nobody should be able to reach through Backstory."""
    with fake_fhir("/internal/admin") as fake:
        fake.answer_json(bundle())
        yield fake


@pytest.fixture
def ehr() -> Iterator[FakeFhir]:
    """The EHR's FHIR server, answering the search with the patient's Bundle."""
    with fake_fhir() as fake:
        fake.answer_json(bundle())
        yield fake


# -- server-side request forgery: nothing fetched, one answer ----------------------------------


def test_fetching_is_off_by_default(world: World, internal: FakeFhir) -> None:
    """The reported attack: a read token, no prefetch, an internal address ending in '#'."""
    r = post(world.app, world, hook_naming(internal.url + "#"))
    assert_not_fetched(r)
    assert internal.seen == []
    assert fetch_outcomes(world) == ["off"]
    assert world.app.state.web.cds_fetcher.enabled is False


def test_a_server_not_on_the_list_is_not_fetched_and_answers_the_same(
    world: World, settings: Settings, kb: KnowledgeBase, clock: Clock, internal: FakeFhir
) -> None:
    with fake_fhir() as allowed:
        app = app_allowing(world, settings, kb, clock, allowed.url)
        answers = [
            post(app, world, hook_naming(server))
            for server in (
                internal.url + "#",
                internal.url,
                allowed.url + "#",  # the allowed base, with its query cut off by a fragment
                allowed.url + "/../../internal/admin",
                allowed.url.replace("127.0.0.1", "admin@127.0.0.1"),
                allowed.url + "?x=1",
            )
        ]
        assert allowed.seen == []
    assert internal.seen == []
    for r in answers:
        assert_not_fetched(r)
    assert len({(r.status_code, r.text) for r in answers}) == 1
    assert fetch_outcomes(world) == ["not-allowed"] * len(answers)


def test_file_urls_are_never_read_and_existence_is_not_revealed(
    world: World, settings: Settings, kb: KnowledgeBase, clock: Clock, internal: FakeFhir
) -> None:
    app = app_allowing(world, settings, kb, clock, "https://ehr.example.org/fhir")
    answers = [
        post(app, world, hook_naming(server))
        for server in (
            "file:///etc/passwd#",
            "file:///no/such/file/anywhere#",
            "file:///etc/passwd",
            "ftp://127.0.0.1/x",
            "gopher://127.0.0.1:70/",
            internal.url + "#",
        )
    ]
    for r in answers:
        assert_not_fetched(r)
    assert len({(r.status_code, r.text) for r in answers}) == 1
    assert internal.seen == []
    # with fetching off, the same again
    off = post(world.app, world, hook_naming("file:///etc/passwd#"))
    assert (off.status_code, off.text) == (answers[0].status_code, answers[0].text)


# -- an allowed server -------------------------------------------------------------------------


def test_an_allowed_server_is_searched_with_the_callers_token(
    world: World, settings: Settings, kb: KnowledgeBase, clock: Clock, ehr: FakeFhir
) -> None:
    app = app_allowing(world, settings, kb, clock, ehr.url)
    # a trailing slash is the same base; a patient id cannot add parameters or a fragment
    r = post(app, world, hook_naming(ehr.url + "/", patient="ehr-1&_count=999#x"))
    assert r.status_code == 200, r.text
    assert r.json()["cards"][0]["indicator"] == "critical"
    assert len(ehr.seen) == 1
    seen = ehr.seen[0]
    parts = urlsplit(seen.path)
    assert parts.path == "/fhir/QuestionnaireResponse"
    query = parse_qs(parts.query)
    assert query["subject"] == ["Patient/ehr-1&_count=999#x"]
    assert query["_count"] == ["1"] and query["status"] == ["completed"]
    assert seen.headers["authorization"] == f"Bearer {EHR_TOKEN}"
    assert seen.headers["accept"] == "application/fhir+json"
    assert fetch_outcomes(world) == ["ok"]
    events = world.db.transaction(lambda conn: audit.events(conn))
    assert not any(EHR_TOKEN in json.dumps(e.to_dict()) for e in events)
    assert not any("127.0.0.1" in json.dumps(e.to_dict()) for e in events)


def test_a_redirect_to_another_host_is_not_followed(
    world: World, settings: Settings, kb: KnowledgeBase, clock: Clock, internal: FakeFhir
) -> None:
    with fake_fhir() as allowed:
        allowed.status = 302
        target = internal.url.replace("127.0.0.1", "localhost") + "/QuestionnaireResponse"
        allowed.headers = {"Location": target}
        allowed.body = b""
        app = app_allowing(world, settings, kb, clock, allowed.url)
        r = post(app, world, hook_naming(allowed.url))
        assert len(allowed.seen) == 1
        # not on the same host either
        allowed.headers = {"Location": allowed.url + "/QuestionnaireResponse?again=1"}
        same_host = post(app, world, hook_naming(allowed.url))
        assert len(allowed.seen) == 2
    assert internal.seen == []
    assert_not_fetched(r)
    assert (same_host.status_code, same_host.text) == (r.status_code, r.text)
    assert fetch_outcomes(world) == ["redirect", "redirect"]


@pytest.mark.parametrize("chunked", [False, True])
def test_an_oversize_answer_is_refused(
    world: World, settings: Settings, kb: KnowledgeBase, clock: Clock, chunked: bool
) -> None:
    with fake_fhir() as allowed:
        app = app_allowing(world, settings, kb, clock, allowed.url)
        fetcher: FhirFetcher = app.state.web.cds_fetcher
        padding = " " * (fetcher.max_bytes + 1)
        allowed.body = json.dumps(bundle()).encode()[:-1] + padding.encode() + b"}"
        allowed.chunked = chunked
        r = post(app, world, hook_naming(allowed.url))
        assert len(allowed.seen) == 1
    assert_not_fetched(r)
    assert fetch_outcomes(world) == ["too-large"]


@pytest.mark.parametrize(
    ("status", "body", "headers", "outcome"),
    [
        (500, b"{}", {}, "status"),
        (200, b"not json", {}, "invalid"),
        (200, b'{"resourceType": "Patient"}', {}, "invalid"),
        (200, b"[]", {}, "invalid"),
        (200, b"\x1f\x8b", {"Content-Encoding": "gzip"}, "invalid"),
    ],
)
def test_unusable_answers_are_the_same_412(
    world: World,
    settings: Settings,
    kb: KnowledgeBase,
    clock: Clock,
    status: int,
    body: bytes,
    headers: dict[str, str],
    outcome: str,
) -> None:
    with fake_fhir() as allowed:
        allowed.status, allowed.body, allowed.headers = status, body, headers
        app = app_allowing(world, settings, kb, clock, allowed.url)
        assert_not_fetched(post(app, world, hook_naming(allowed.url)))
    assert fetch_outcomes(world) == [outcome]


def test_a_server_that_does_not_answer_in_time_is_the_same_412(
    world: World, settings: Settings, kb: KnowledgeBase, clock: Clock
) -> None:
    with fake_fhir() as allowed:
        allowed.answer_json(bundle())
        allowed.hold = True  # never released while Backstory waits
        app = app_allowing(world, settings, kb, clock, allowed.url)
        web = app.state.web
        web.cds_fetcher = dataclasses.replace(web.cds_fetcher, read_seconds=0.2, total_seconds=0.5)
        r = post(app, world, hook_naming(allowed.url))
        allowed.release.set()
    assert_not_fetched(r)
    assert fetch_outcomes(world) == ["timeout"]


def test_a_server_that_is_down_is_the_same_412(
    world: World, settings: Settings, kb: KnowledgeBase, clock: Clock
) -> None:
    with fake_fhir() as gone:
        url = gone.url
    app = app_allowing(world, settings, kb, clock, url)
    assert_not_fetched(post(app, world, hook_naming(url)))
    assert fetch_outcomes(world) == ["network"]


def test_any_other_error_is_the_same_412(
    world: World,
    settings: Settings,
    kb: KnowledgeBase,
    clock: Clock,
    ehr: FakeFhir,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whatever goes wrong inside the fetch, no other status or message reaches the caller."""

    async def broken(*args: Any) -> bytes:
        raise RuntimeError("something nobody expected, quoting /etc/passwd")

    monkeypatch.setattr(FhirFetcher, "_get", broken)
    app = app_allowing(world, settings, kb, clock, ehr.url)
    r = post(app, world, hook_naming(ehr.url))
    assert_not_fetched(r)
    assert "passwd" not in r.text
    assert fetch_outcomes(world) == ["error"]


# -- a slow server holds up only its own call ---------------------------------------------------


@pytest.fixture
def live(world: World, settings: Settings, kb: KnowledgeBase, clock: Clock) -> Iterator[Any]:
    """The app behind a real uvicorn server on a loopback port, in a thread of this process."""

    class Live:
        def __init__(self) -> None:
            self.server: uvicorn.Server | None = None
            self.base = ""

        def start(self, app: FastAPI) -> str:
            config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
            self.server = uvicorn.Server(config)
            self.thread = threading.Thread(target=self.server.run, daemon=True)
            self.thread.start()
            for _ in range(600):
                if self.server.started:
                    break
                threading.Event().wait(0.05)
            assert self.server.started, "uvicorn did not start"
            port = self.server.servers[0].sockets[0].getsockname()[1]
            self.base = f"http://127.0.0.1:{port}"
            return self.base

    live = Live()
    yield live
    if live.server is not None:
        live.server.should_exit = True
        live.thread.join(30)


def test_a_slow_fhir_server_does_not_hold_up_other_requests(
    world: World, settings: Settings, kb: KnowledgeBase, clock: Clock, live: Any
) -> None:
    with fake_fhir() as slow:
        slow.answer_json(bundle())
        slow.hold = True
        base = live.start(app_allowing(world, settings, kb, clock, slow.url))
        answers: list[httpx.Response] = []
        headers = {"Authorization": f"Bearer {world.read_token}"}

        def call() -> None:
            answers.append(
                httpx.post(base + PV, json=hook_naming(slow.url), headers=headers, timeout=120)
            )

        caller = threading.Thread(target=call)
        caller.start()
        assert slow.got.wait(60), "Backstory never asked the FHIR server"
        # the hook call is now waiting for the FHIR server, which has not answered: every
        # other request must still be served, before that answer
        health = httpx.get(base + "/healthz", timeout=60)
        discovery = httpx.get(base + "/cds-services", timeout=60)
        assert health.status_code == 200 and discovery.status_code == 200
        assert answers == [] and caller.is_alive()
        slow.release.set()
        caller.join(120)
    assert len(answers) == 1 and answers[0].status_code == 200, answers
    assert answers[0].json()["cards"][0]["indicator"] == "critical"


# -- settings -----------------------------------------------------------------------------------


def test_settings_read_the_allowed_servers() -> None:
    assert settings_from_env({}).cds_fhir_servers == ()
    env = {
        "BACKSTORY_CDS_FHIR_SERVERS": "https://EHR.example.org:443/fhir/, http://127.0.0.1:8080/r4"
    }
    assert settings_from_env(env).cds_fhir_servers == (
        "https://ehr.example.org/fhir",
        "http://127.0.0.1:8080/r4",
    )


def test_outside_development_only_https_is_allowed() -> None:
    production = {"BACKSTORY_ENV": "production", "BACKSTORY_SECRET_KEY": "s" * 40}
    with pytest.raises(SettingsError, match=r"BACKSTORY_CDS_FHIR_SERVERS.*https://"):
        settings_from_env(production | {"BACKSTORY_CDS_FHIR_SERVERS": "http://ehr.example.org/f"})
    ok = settings_from_env(production | {"BACKSTORY_CDS_FHIR_SERVERS": "https://ehr.example.org/f"})
    assert ok.cds_fhir_servers == ("https://ehr.example.org/f",)


@pytest.mark.parametrize(
    "entry",
    [
        "file:///etc/passwd",
        "ftp://ehr.example.org/",
        "https://ehr.example.org/fhir#",
        "https://ehr.example.org/fhir?x=1",
        "https://user:pw@ehr.example.org/fhir",
        "https:///fhir",
        "https://ehr.example.org:99999/fhir",
        "ehr.example.org/fhir",
    ],
)
def test_unusable_entries_stop_the_start(entry: str) -> None:
    with pytest.raises(SettingsError, match="BACKSTORY_CDS_FHIR_SERVERS"):
        settings_from_env({"BACKSTORY_CDS_FHIR_SERVERS": entry})


def test_an_http_entry_is_not_used_outside_development(
    world: World, settings: Settings, kb: KnowledgeBase, clock: Clock, ehr: FakeFhir
) -> None:
    """Settings made in code (not from the environment) still fetch over https only."""
    production = dataclasses.replace(
        settings, environment="production", cds_fhir_servers=(ehr.url,)
    )
    app = create_app(production, world.db, knowledge=kb, clock=clock)
    assert_not_fetched(post(app, world, hook_naming(ehr.url)))
    assert ehr.seen == []
