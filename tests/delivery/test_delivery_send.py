"""E-mail delivery against a real local SMTP server: what arrives, and what never does."""

from __future__ import annotations

import datetime as dt
import re
import socket
from typing import Any

import pytest

from backstory.delivery import (
    KINDS,
    AddressError,
    MailError,
    MailSettings,
    check_address,
    send_link_email,
)
from backstory.delivery.message import check_wording, wording
from backstory.errors import ConfigError

EXPIRES = dt.datetime(2026, 12, 9, 23, 30, tzinfo=dt.UTC)
URL = "https://backstory.example.org/p/abc.DEF-123_token"
PATIENT_WORDS = re.compile(
    r"emergency|urgent|cauda|sciatica|facet|triage|risk|pain|red flag|P7KQ|patient-ref|born",
    re.IGNORECASE,
)


def _settings(server: Any, **changes: Any) -> MailSettings:
    host, port, _box = server
    values: dict[str, Any] = {
        "host": host,
        "port": port,
        "sender": "clinic@example.org",
        "tls": "none",
        "timeout": 5.0,
    }
    values.update(changes)
    return MailSettings(**values)


@pytest.mark.parametrize("kind", KINDS)
def test_the_message_carries_the_link_and_nothing_about_the_patient(
    smtp_server: Any, kind: Any
) -> None:
    send_link_email(
        _settings(smtp_server),
        "someone@example.net",
        kind=kind,
        url=URL,
        clinic_name="Riverside Physio",
        expires_at=EXPIRES,
    )
    box = smtp_server[2]
    assert len(box.messages) == 1
    msg = box.messages[0]
    text = box.text()
    assert URL in text
    assert "Riverside Physio" in text and "9 December 2026" in text
    assert msg["To"] == "someone@example.net" and box.recipients == [["someone@example.net"]]
    assert msg["From"] == "clinic@example.org"
    assert wording().purposes[kind] in text
    everything = str(msg["Subject"]) + text
    assert not PATIENT_WORDS.search(everything), PATIENT_WORDS.search(everything)
    assert msg.get_content_type() == "text/plain"


def test_a_reminder_says_it_is_one(smtp_server: Any) -> None:
    send_link_email(
        _settings(smtp_server),
        "someone@example.net",
        kind="followup",
        url=URL,
        clinic_name="Riverside Physio",
        expires_at=EXPIRES,
        reminder=True,
    )
    msg = smtp_server[2].messages[0]
    assert str(msg["Subject"]).startswith("Reminder from Riverside Physio")
    assert URL in smtp_server[2].text()


def test_a_clinic_name_cannot_inject_a_header(smtp_server: Any) -> None:
    send_link_email(
        _settings(smtp_server),
        "someone@example.net",
        kind="questionnaire",
        url=URL,
        clinic_name="Evil\r\nBcc: victim@example.com",
        expires_at=EXPIRES,
    )
    msg = smtp_server[2].messages[0]
    assert msg["Bcc"] is None and smtp_server[2].recipients == [["someone@example.net"]]


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "no-at-sign",
        "two@@example.org",
        "a@b",
        "Name <a@example.org>",
        "a@example.org, b@example.org",
        "a@example.org\r\nBcc: b@example.org",
        "x" * 65 + "@example.org",
        "a..b@example.org",
    ],
)
def test_only_one_plain_address_is_accepted(smtp_server: Any, bad: str) -> None:
    with pytest.raises(AddressError) as caught:
        send_link_email(
            _settings(smtp_server),
            bad,
            kind="questionnaire",
            url=URL,
            clinic_name="C",
            expires_at=EXPIRES,
        )
    assert bad.strip() == "" or bad not in str(caught.value)
    assert smtp_server[2].messages == []


def test_a_plain_address_is_accepted_trimmed() -> None:
    assert check_address("  x" * 1 + "@example.org ") == "x@example.org"
    assert check_address("x" * 64 + "@example.org") == "x" * 64 + "@example.org"


def test_a_refused_recipient_is_a_mail_error_without_the_address(smtp_server: Any) -> None:
    smtp_server[2].refuse = True
    with pytest.raises(MailError) as caught:
        send_link_email(
            _settings(smtp_server),
            "someone@example.net",
            kind="questionnaire",
            url=URL,
            clinic_name="C",
            expires_at=EXPIRES,
        )
    assert "someone" not in str(caught.value) and "refused the address" in str(caught.value)
    assert smtp_server[2].messages == []


def test_starttls_never_falls_back_to_clear_text(smtp_server: Any) -> None:
    with pytest.raises(MailError, match="does not offer STARTTLS"):
        send_link_email(
            _settings(smtp_server, tls="starttls"),
            "someone@example.net",
            kind="questionnaire",
            url=URL,
            clinic_name="C",
            expires_at=EXPIRES,
        )
    assert smtp_server[2].messages == []


def test_no_server_is_a_mail_error_naming_the_step() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = MailSettings("127.0.0.1", port, "clinic@example.org", "none", timeout=2.0)
    with pytest.raises(MailError, match="could not connect to the mail server"):
        send_link_email(
            settings,
            "someone@example.net",
            kind="questionnaire",
            url=URL,
            clinic_name="C",
            expires_at=EXPIRES,
        )


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        settings = MailSettings("127.0.0.1", port, "clinic@example.org", "none", timeout=0.5)
        with pytest.raises(MailError, match=r"greet|connect"):
            send_link_email(
                settings,
                "someone@example.net",
                kind="questionnaire",
                url=URL,
                clinic_name="C",
                expires_at=EXPIRES,
            )


def test_the_wording_file_refuses_a_patient_placeholder() -> None:
    good = {
        "purposes": {k: "the thing" for k in KINDS},
        "subject": {"first": "{clinic}", "reminder": "{clinic}"},
        "body": {"first": "{url}", "reminder": "{url}"},
        "footer": "bye",
    }
    assert check_wording(good).footer == "bye"
    bad = {**good, "body": {"first": "{url} {reference}", "reminder": "{url}"}}
    with pytest.raises(ConfigError, match="may not carry reference"):
        check_wording(bad)
    no_link = {**good, "body": {"first": "hello", "reminder": "{url}"}}
    with pytest.raises(ConfigError, match="must contain the link"):
        check_wording(no_link)
    missing = {**good, "purposes": {"questionnaire": "x"}}
    with pytest.raises(ConfigError, match="purposes"):
        check_wording(missing)


def test_the_expiry_date_is_never_later_than_the_link_works() -> None:
    """Boundary pair at 23:00 UTC: from then on the day itself, before it the day before."""
    from backstory.delivery.message import expiry_words

    assert expiry_words(dt.datetime(2026, 12, 9, 23, 0, tzinfo=dt.UTC)) == "9 December 2026"
    assert expiry_words(dt.datetime(2026, 12, 9, 22, 59, tzinfo=dt.UTC)) == "8 December 2026"
    assert expiry_words(dt.datetime(2026, 1, 1, 0, 30, tzinfo=dt.UTC)) == "31 December 2025"
    later = dt.datetime(2026, 12, 10, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert expiry_words(later) == "9 December 2026"  # 23:30 UTC on the 9th
