"""Web settings, read from the environment by a factory (never at import time).

Secrets come from the environment; outside development a missing or default secret is
refused, because a guessable secret lets anyone forge a session or a patient link.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from backstory.delivery import (
    AddressKey,
    MailConfigError,
    MailSettings,
    key_from_env,
    mail_from_env,
)
from backstory.errors import ConfigError

DEFAULT_SECRET = "development-only-secret-change-me"


class SettingsError(ConfigError):
    """Settings that would make the service unsafe to run."""


@dataclass(frozen=True)
class Settings:
    """Everything the web app needs to know about its deployment."""

    environment: str = "development"
    secret_key: str = DEFAULT_SECRET
    database_url: str | None = None
    session_minutes: int = 30
    """Idle timeout: a session unused this long ends."""
    session_max_hours: int = 12
    """Absolute lifetime: a session ends this long after sign-in, however busy."""
    link_hours: int = 72
    secure_cookies: bool = False
    trusted_proxy: bool = False
    login_attempts: int = 5
    """Failed sign-ins of one user name from one place before each try waits (back-off)."""
    login_window_seconds: int = 3600
    """How long a failed sign-in is remembered."""
    login_max_delay_seconds: int = 900
    """The longest wait the back-off imposes."""
    public_url: str | None = None
    """The address people use (behind a proxy), for links printed in the terminal."""
    cds_clients_file: str | None = None
    """The trusted CDS clients (EHRs whose signed JWTs are accepted): a YAML or JSON file."""
    cds_fhir_servers: tuple[str, ...] = ()
    """FHIR server base URLs a CDS hook call may make Backstory fetch the assessment from
    (canonical form, :mod:`backstory.cds.servers`); empty: Backstory never fetches."""
    instrument_wording_file: str | None = None
    """Official instrument wording the clinic holds a licence for (YAML or JSON, checked at
    start-up: :mod:`backstory.web.instrument_parts`); unset: Backstory's own-words labels."""
    followup_weeks: tuple[int, ...] = (2, 6, 12)
    """Weeks after an episode's first assessment that follow-up questionnaires fall due
    (``BACKSTORY_FOLLOWUP_WEEKS``; the default is expert opinion, see docs/deployment.md)."""
    mail: MailSettings | None = None
    """The clinic's SMTP server (``BACKSTORY_MAIL_*``); None: e-mail is off and no page
    offers it."""
    address_key: AddressKey | None = field(default=None, repr=False)
    """Seals the addresses kept for reminders (``BACKSTORY_MAIL_KEY``); None: none are kept."""

    @property
    def production(self) -> bool:
        return self.environment != "development"


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def settings_from_env(env: Mapping[str, str] | None = None, *, demo: bool = False) -> Settings:
    """Build settings from ``BACKSTORY_*`` environment variables.

    Raises:
        SettingsError: a production deployment without a strong secret key.
    """
    e = os.environ if env is None else env
    environment = e.get("BACKSTORY_ENV", "development").strip().lower() or "development"
    secret = e.get("BACKSTORY_SECRET_KEY", "")
    if environment != "development":
        if not secret or secret == DEFAULT_SECRET or len(secret) < 32:
            raise SettingsError(
                "BACKSTORY_SECRET_KEY must be set to a random value of at least 32 characters "
                "outside development (for example: python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))')"
            )
    elif not secret:
        # development: a fresh random secret per process is safer than a fixed default
        secret = secrets.token_urlsafe(48)
    secure = _flag(e.get("BACKSTORY_SECURE_COOKIES"), environment != "development")
    public_url = (e.get("BACKSTORY_PUBLIC_URL") or "").rstrip("/") or None
    cds_clients = (e.get("BACKSTORY_CDS_CLIENTS") or "").strip() or None
    if cds_clients is not None:
        _check_cds_clients(cds_clients, public_url, environment)
    fhir_servers = _fhir_servers(e.get("BACKSTORY_CDS_FHIR_SERVERS") or "", environment)
    found = Settings(
        environment=environment,
        secret_key=secret,
        database_url=e.get("BACKSTORY_DATABASE_URL") or None,
        session_minutes=_int(e, "BACKSTORY_SESSION_MINUTES", 30, 5, 24 * 60),
        session_max_hours=_int(e, "BACKSTORY_SESSION_MAX_HOURS", 12, 1, 24 * 7),
        link_hours=_int(e, "BACKSTORY_LINK_HOURS", 72, 1, 24 * 14),
        secure_cookies=secure,
        trusted_proxy=_flag(e.get("BACKSTORY_TRUSTED_PROXY"), False),
        login_attempts=_int(e, "BACKSTORY_LOGIN_ATTEMPTS", 5, 1, 100),
        login_window_seconds=_int(e, "BACKSTORY_LOGIN_WINDOW_SECONDS", 3600, 10, 86400),
        login_max_delay_seconds=_int(e, "BACKSTORY_LOGIN_MAX_DELAY_SECONDS", 900, 1, 86400),
        public_url=public_url,
        cds_clients_file=cds_clients,
        cds_fhir_servers=fhir_servers,
        followup_weeks=_followup_weeks(e.get("BACKSTORY_FOLLOWUP_WEEKS") or ""),
        instrument_wording_file=(e.get("BACKSTORY_INSTRUMENT_WORDING") or "").strip() or None,
    )
    mail, key = _mail(e, environment != "development")
    return dataclasses.replace(found, mail=mail, address_key=key)


def _mail(
    env: Mapping[str, str], production: bool
) -> tuple[MailSettings | None, AddressKey | None]:
    """E-mail delivery (off unless BACKSTORY_MAIL_HOST), refused at start-up when unusable."""
    try:
        mail = mail_from_env(env, production=production)
        key = key_from_env(env)
    except MailConfigError as exc:
        raise SettingsError(str(exc)) from None
    if key is not None and mail is None:
        raise SettingsError(
            "BACKSTORY_MAIL_KEY is set but e-mail is off: set BACKSTORY_MAIL_HOST too, or "
            "remove the key"
        )
    return mail, key


def _followup_weeks(raw: str) -> tuple[int, ...]:
    from backstory.storage.errors import InvalidRequest
    from backstory.storage.followups import DEFAULT_WEEKS, parse_weeks

    if not raw.strip():
        return DEFAULT_WEEKS
    try:
        return parse_weeks(raw)
    except InvalidRequest as exc:
        raise SettingsError(f"BACKSTORY_FOLLOWUP_WEEKS: {exc}") from None


def _fhir_servers(raw: str, environment: str) -> tuple[str, ...]:
    """The FHIR servers CDS hooks may fetch from: https only outside development."""
    from backstory.cds.servers import ServerListError, parse_server_list

    try:
        return parse_server_list(raw, development=environment == "development")
    except ServerListError as exc:
        raise SettingsError(f"BACKSTORY_CDS_FHIR_SERVERS: {exc}") from None


def _check_cds_clients(path: str, public_url: str | None, environment: str) -> None:
    """The trusted CDS clients file must load, and outside development the JWT audience
    must come from the configured public address (never from the caller's Host header)."""
    from backstory.cds.trust import TrustConfigError, load_trusted_clients

    try:
        load_trusted_clients(path)
    except TrustConfigError as exc:
        raise SettingsError(f"BACKSTORY_CDS_CLIENTS: {exc}") from None
    if environment != "development" and public_url is None:
        raise SettingsError(
            "BACKSTORY_CDS_CLIENTS needs BACKSTORY_PUBLIC_URL outside development: a CDS "
            "client's JWT names the endpoint's public URL as its audience"
        )
