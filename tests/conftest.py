"""Shared fixtures and the test profiles (fast for CI, thorough on demand)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from backstory.contract import parse_assessment
from backstory.core.engine import assess
from backstory.core.report import Report
from backstory.knowledge.loader import KnowledgeBase, load_knowledge

settings.register_profile(
    "fast", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

DATA = Path(__file__).parent / "data"
SHARED_SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--thorough", action="store_true", help="run the thorough property-test profile"
    )


def pytest_configure(config: pytest.Config) -> None:
    thorough = config.getoption("--thorough") or os.environ.get("BACKSTORY_TEST_PROFILE") == (
        "thorough"
    )
    settings.load_profile("thorough" if thorough else "fast")


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge()


@pytest.fixture(scope="session")
def run(kb: KnowledgeBase) -> Callable[[dict[str, Any]], Report]:
    """Validate and assess a dict with the bundled knowledge."""

    def _run(data: dict[str, Any]) -> Report:
        return assess(parse_assessment(data), kb)

    return _run


class MailBox:
    """What a real local SMTP server (aiosmtpd, in a thread) received, parsed."""

    def __init__(self) -> None:
        import email
        import email.policy
        from email.message import EmailMessage

        self._parse = lambda raw: email.message_from_bytes(raw, policy=email.policy.default)
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.refuse = False

    async def handle_RCPT(  # aiosmtpd's hook names
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse:
            return "550 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(self._parse(envelope.original_content or envelope.content))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted"

    def text(self, index: int = -1) -> str:
        body = self.messages[index].get_body(("plain",))
        assert body is not None
        return str(body.get_content())


@pytest.fixture
def smtp_server() -> Any:
    """A real SMTP server on 127.0.0.1 (no TLS, no sign-in); yields (host, port, MailBox)."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = MailBox()
    controller = Controller(box, hostname="127.0.0.1", port=port, ready_timeout=30)
    controller.start()
    try:
        yield "127.0.0.1", port, box
    finally:
        controller.stop()
