"""TLS to the mail server is verified: a server with an untrusted certificate gets nothing.

A real local SMTP server (aiosmtpd) offers STARTTLS, or TLS from the start, with a
self-signed certificate made here; Backstory's default verification refuses it in both
modes, so no link crosses an unverified connection.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from backstory.delivery import MailError, MailSettings, send_link_email

from ..conftest import MailBox


def _self_signed(tmp: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    (tmp / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")
    return ctx


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(params=["starttls", "ssl"])
def tls_server(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, int, MailBox]]:
    from aiosmtpd.controller import Controller

    ctx = _self_signed(tmp_path)
    box = MailBox()
    port = _port()
    extra: dict[str, Any] = (
        {"tls_context": ctx} if request.param == "starttls" else {"ssl_context": ctx}
    )
    controller = Controller(box, hostname="127.0.0.1", port=port, ready_timeout=30, **extra)
    controller.start()
    try:
        yield request.param, port, box
    finally:
        controller.stop()


def test_an_untrusted_certificate_is_refused(tls_server: tuple[str, int, MailBox]) -> None:
    mode, port, box = tls_server
    settings = MailSettings("localhost", port, "clinic@example.org", mode, timeout=5.0)  # type: ignore[arg-type]
    with pytest.raises(MailError, match="nothing was sent") as caught:
        send_link_email(
            settings,
            "someone@example.net",
            kind="questionnaire",
            url="https://backstory.example.org/p/t",
            clinic_name="C",
            expires_at=dt.datetime(2026, 12, 9, 23, 30, tzinfo=dt.UTC),
        )
    step = "start TLS with" if mode == "starttls" else "connect to"
    assert f"could not {step} the mail server (SSLCertVerificationError)" in str(caught.value)
    assert box.messages == []
