"""What the `backstory reminders send` tests share: the mail settings, the command runner and
a sealed reminder address (follow-up and check-in reminders alike)."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from backstory.cli.main import cli
from backstory.delivery import AddressKey
from backstory.storage import Store, contacts

EXAMPLES = Path(__file__).parents[1] / "data" / "examples"
KEY = bytes(range(32))
SECRET = "reminder-secret-" + "x" * 40
PUBLIC = "https://clinic.example.org"


def mail_env(smtp_server: Any) -> dict[str, str]:
    """The environment of a run that mails through the test SMTP server."""
    host, port, _box = smtp_server
    return {
        "BACKSTORY_MAIL_HOST": host,
        "BACKSTORY_MAIL_PORT": str(port),
        "BACKSTORY_MAIL_FROM": "clinic@example.org",
        "BACKSTORY_MAIL_TLS": "none",
        "BACKSTORY_MAIL_TIMEOUT": "5",
        "BACKSTORY_MAIL_KEY": base64.urlsafe_b64encode(KEY).decode(),
        "BACKSTORY_SECRET_KEY": SECRET,
        "BACKSTORY_PUBLIC_URL": PUBLIC,
    }


def send_runner(url: str, env: dict[str, str]) -> Callable[..., Result]:
    """`backstory reminders send ARGS` as alice (``extra_env``: settings to add or unset)."""

    def invoke(*args: str, extra_env: dict[str, str | None] | None = None) -> Result:
        result = CliRunner().invoke(
            cli,
            ["reminders", "send", *args, "--database", url, "--user", "alice"],
            env={**env, **(extra_env or {})},
        )
        assert "Traceback" not in (result.stderr or "")
        return result

    return invoke


def seal_address(store: Store, patient_id: str, address: str, at: dt.datetime) -> None:
    """Keep the patient's reminder address, sealed as the web keeps it."""
    key = AddressKey(KEY)
    store.run(
        lambda conn, u: contacts.set_address(
            conn, u, patient_id, lambda pid: key.seal(address, pid), at
        )
    )
