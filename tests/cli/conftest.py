"""Fixtures of the `backstory reminders send` tests (follow-up and check-in reminders)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from .reminder_setup import mail_env, send_runner


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A fresh SQLite database for the test."""
    return f"sqlite:///{tmp_path / 'reminders.db'}"


@pytest.fixture
def env(smtp_server: Any) -> dict[str, str]:
    """Mail settings pointing at the test SMTP server, with the address key and secret."""
    return mail_env(smtp_server)


@pytest.fixture
def run(url: str, env: dict[str, str]) -> Callable[..., Result]:
    """`backstory reminders send ARGS` against ``url`` as alice."""
    return send_runner(url, env)
