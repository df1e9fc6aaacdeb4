"""Mail settings and the address key from the environment: off by default, clear errors."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from backstory.delivery import AddressKey, MailConfigError, SealError, key_from_env, mail_from_env

BASE = {"BACKSTORY_MAIL_HOST": "smtp.example.org", "BACKSTORY_MAIL_FROM": "clinic@example.org"}
KEY = base64.urlsafe_b64encode(bytes(range(32))).decode()


def test_mail_is_off_unless_a_host_is_set() -> None:
    assert mail_from_env({}) is None
    assert mail_from_env({"BACKSTORY_MAIL_HOST": "  ", "BACKSTORY_MAIL_FROM": "x"}) is None


def test_defaults_are_starttls_on_587() -> None:
    found = mail_from_env(BASE)
    assert found is not None
    assert (found.host, found.port, found.tls, found.user, found.timeout) == (
        "smtp.example.org",
        587,
        "starttls",
        None,
        10.0,
    )


@pytest.mark.parametrize(("tls", "port"), [("ssl", 465), ("none", 25), ("STARTTLS", 587)])
def test_each_tls_mode_has_its_port(tls: str, port: int) -> None:
    found = mail_from_env({**BASE, "BACKSTORY_MAIL_TLS": tls})
    assert found is not None and found.port == port and found.tls == tls.lower()


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"BACKSTORY_MAIL_TLS": "tls"}, "BACKSTORY_MAIL_TLS must be one of"),
        ({"BACKSTORY_MAIL_TLS": "yes"}, "BACKSTORY_MAIL_TLS must be one of"),
        ({"BACKSTORY_MAIL_PORT": "0"}, "BACKSTORY_MAIL_PORT"),
        ({"BACKSTORY_MAIL_PORT": "65536"}, "BACKSTORY_MAIL_PORT"),
        ({"BACKSTORY_MAIL_PORT": "smtp"}, "BACKSTORY_MAIL_PORT"),
        ({"BACKSTORY_MAIL_FROM": ""}, "BACKSTORY_MAIL_FROM must be set"),
        ({"BACKSTORY_MAIL_FROM": "Clinic <c@example.org>"}, "BACKSTORY_MAIL_FROM is not"),
        ({"BACKSTORY_MAIL_HOST": "smtp example"}, "BACKSTORY_MAIL_HOST"),
        ({"BACKSTORY_MAIL_USER": "u"}, "go together"),
        ({"BACKSTORY_MAIL_PASSWORD": "p"}, "go together"),
        (
            {
                "BACKSTORY_MAIL_USER": "u",
                "BACKSTORY_MAIL_PASSWORD": "p",
                "BACKSTORY_MAIL_TLS": "none",
            },
            "sent in clear",
        ),
        ({"BACKSTORY_MAIL_TIMEOUT": "0"}, "BACKSTORY_MAIL_TIMEOUT"),
        ({"BACKSTORY_MAIL_TIMEOUT": "121"}, "BACKSTORY_MAIL_TIMEOUT"),
    ],
)
def test_bad_settings_are_refused_by_name(extra: dict[str, str], words: str) -> None:
    with pytest.raises(MailConfigError, match=words):
        mail_from_env({**BASE, **extra})


def test_port_and_timeout_boundaries_are_accepted() -> None:
    low = mail_from_env({**BASE, "BACKSTORY_MAIL_PORT": "1", "BACKSTORY_MAIL_TIMEOUT": "1"})
    high = mail_from_env({**BASE, "BACKSTORY_MAIL_PORT": "65535", "BACKSTORY_MAIL_TIMEOUT": "120"})
    assert low is not None and (low.port, low.timeout) == (1, 1.0)
    assert high is not None and (high.port, high.timeout) == (65535, 120.0)


def test_clear_text_is_refused_outside_development() -> None:
    env = {**BASE, "BACKSTORY_MAIL_TLS": "none"}
    assert mail_from_env(env) is not None
    with pytest.raises(MailConfigError, match="refused outside development"):
        mail_from_env(env, production=True)


def test_the_password_comes_from_a_file_and_never_shows(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret-pass\n")
    env = {**BASE, "BACKSTORY_MAIL_USER": "u", "BACKSTORY_MAIL_PASSWORD_FILE": str(secret)}
    found = mail_from_env(env)
    assert found is not None and found.password == "s3cret-pass"
    assert "s3cret" not in repr(found)
    with pytest.raises(MailConfigError, match="not both"):
        mail_from_env({**env, "BACKSTORY_MAIL_PASSWORD": "x"})
    with pytest.raises(MailConfigError, match="cannot be read"):
        mail_from_env({**env, "BACKSTORY_MAIL_PASSWORD_FILE": str(tmp_path / "missing")})
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(MailConfigError, match="is empty"):
        mail_from_env({**env, "BACKSTORY_MAIL_PASSWORD_FILE": str(tmp_path / "empty")})


def test_the_key_is_optional_and_must_be_32_bytes(tmp_path: Path) -> None:
    assert key_from_env({}) is None
    assert key_from_env({"BACKSTORY_MAIL_KEY": KEY}) == AddressKey(bytes(range(32)))
    short = base64.urlsafe_b64encode(bytes(31)).decode()
    with pytest.raises(MailConfigError, match="32 random bytes"):
        key_from_env({"BACKSTORY_MAIL_KEY": short})
    with pytest.raises(MailConfigError, match="32 random bytes"):
        key_from_env({"BACKSTORY_MAIL_KEY": "not base64 at all!"})
    path = tmp_path / "key"
    path.write_text(KEY + "\n")
    assert key_from_env({"BACKSTORY_MAIL_KEY_FILE": str(path)}) is not None
    assert key_from_env({"BACKSTORY_MAIL_KEY_FILE": str(path)}) == AddressKey(bytes(range(32)))
    with pytest.raises(MailConfigError, match="not both"):
        key_from_env({"BACKSTORY_MAIL_KEY_FILE": str(path), "BACKSTORY_MAIL_KEY": KEY})
    assert repr(AddressKey(bytes(range(32)))) == "AddressKey()"


def test_a_sealed_address_opens_only_with_its_key_and_patient() -> None:
    key = AddressKey(bytes(range(32)))
    sealed = key.seal("someone@example.net", "P1")
    assert "someone" not in sealed and sealed.startswith("v1.")
    assert sealed != key.seal("someone@example.net", "P1")  # a fresh nonce each time
    assert key.open(sealed, "P1") == "someone@example.net"
    with pytest.raises(SealError):
        key.open(sealed, "P2")
    with pytest.raises(SealError):
        AddressKey(bytes(32)).open(sealed, "P1")
    # Flip a bit of the sealed bytes themselves: changing a base64 character could touch
    # only its unused padding bits and leave the bytes (and the test) unchanged.
    raw = base64.urlsafe_b64decode(sealed.removeprefix("v1."))
    tampered = "v1." + base64.urlsafe_b64encode(raw[:-1] + bytes([raw[-1] ^ 1])).decode()
    with pytest.raises(SealError):
        key.open(tampered, "P1")
    with pytest.raises(SealError):
        key.open("plain@example.net", "P1")
