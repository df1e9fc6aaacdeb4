"""The allow-list of FHIR servers a hook call may make Backstory fetch from (pure checks)."""

from __future__ import annotations

import pytest

from backstory.cds.servers import (
    ServerListError,
    allowed_base,
    canonical_base,
    parse_server_list,
)

ALLOWED = ("https://ehr.example.org/fhir", "https://ehr.example.org:8443/r4")


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        ("https://ehr.example.org/fhir", ALLOWED[0]),
        ("https://EHR.Example.org/fhir/", ALLOWED[0]),
        ("HTTPS://ehr.example.org:443/fhir", ALLOWED[0]),
        ("https://ehr.example.org:8443/r4", ALLOWED[1]),
    ],
)
def test_the_same_base_in_another_spelling_is_allowed(server: str, expected: str) -> None:
    assert allowed_base(server, ALLOWED, allow_http=False) == expected


@pytest.mark.parametrize(
    "server",
    [
        "https://ehr.example.org/fhir#",
        "https://ehr.example.org/fhir?",
        "https://ehr.example.org/fhir/../admin",
        "https://ehr.example.org/fhir/sub",
        "https://ehr.example.org/fhi",
        "https://ehr.example.org/FHIR",
        "https://ehr.example.org",
        "https://ehr.example.org:8443/fhir",
        "https://ehr.example.org.evil.example/fhir",
        "https://evil.example/@ehr.example.org/fhir",
        "https://x@ehr.example.org/fhir",
        "http://ehr.example.org/fhir",
        "file:///etc/passwd",
        "https://ehr.example.org\\@evil.example/fhir",
        "https://ehr.example.org/fhir\n",
        " https://ehr.example.org/fhir",
        "",
        "https://ehr.example.org/" + "a" * 3000,
        None,
        42,
    ],
)
def test_anything_else_is_not(server: object) -> None:
    assert allowed_base(server, ALLOWED, allow_http=False) is None


def test_an_empty_list_allows_nothing() -> None:
    assert allowed_base(ALLOWED[0], (), allow_http=False) is None


def test_http_only_when_allowed() -> None:
    assert canonical_base("http://127.0.0.1:8080/fhir/", allow_http=False) is None
    assert canonical_base("http://127.0.0.1:8080/fhir/", allow_http=True) == (
        "http://127.0.0.1:8080/fhir"
    )
    assert canonical_base("http://[::1]:80/fhir", allow_http=True) == "http://[::1]/fhir"


def test_the_list_is_parsed_and_deduplicated() -> None:
    raw = "https://ehr.example.org/fhir/, https://EHR.example.org/fhir\nhttps://b.example/r4"
    assert parse_server_list(raw, development=False) == (
        "https://ehr.example.org/fhir",
        "https://b.example/r4",
    )
    assert parse_server_list("  ", development=False) == ()
    with pytest.raises(ServerListError, match="https://"):
        parse_server_list("http://ehr.example.org/fhir", development=False)
    assert parse_server_list("http://ehr.example.org/fhir", development=True) == (
        "http://ehr.example.org/fhir",
    )
