"""The web app's one mapping of the error family: problem details for the API, a page otherwise."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from backstory.errors import (
    AccessError,
    BackstoryError,
    ConfigError,
    InputError,
    IntegrityError,
    KnowledgeError,
)
from backstory.web.problems import error_status

CASES = [
    (InputError("the report is empty"), 422, "the report is empty"),
    (AccessError("not for this clinic"), 403, "not for this clinic"),
    (KnowledgeError("broken", file="imaging.yaml", path="findings"), 503, "clinical knowledge"),
    (ConfigError("secret too short"), 500, "not configured correctly"),
    (IntegrityError("rows lost"), 500, "a check failed"),
    (BackstoryError("something else"), 400, "something else"),
]


@pytest.mark.parametrize(("exc", "status", "shown"), CASES)
def test_error_status(exc: BackstoryError, status: int, shown: str) -> None:
    got, message = error_status(exc)
    assert got == status and shown in message
    if status >= 500:
        assert str(exc) not in message, "internal detail shown to the person"


def _raising(app: FastAPI, exc: BackstoryError) -> TestClient:
    async def boom() -> None:
        raise exc

    app.add_api_route("/api/v1/test-boom", boom)
    app.add_api_route("/test-boom", boom)
    return TestClient(app)


@pytest.mark.parametrize(("exc", "status", "shown"), CASES)
def test_the_api_answers_a_problem_and_pages_an_error_page(
    app: FastAPI,
    exc: BackstoryError,
    status: int,
    shown: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = _raising(app, exc)
    with caplog.at_level(logging.ERROR, logger="backstory.web"):
        api = client.get("/api/v1/test-boom")
        page = client.get("/test-boom")
    assert api.status_code == status
    assert api.headers["content-type"] == "application/problem+json"
    body = api.json()
    assert body["status"] == status and shown in body["detail"]
    assert page.status_code == status
    assert page.headers["content-type"].startswith("text/html")
    assert shown in page.text
    if status >= 500:
        assert str(exc) not in page.text and str(exc) not in api.text
        assert any("/test-boom" in r.getMessage() for r in caplog.records)
