"""Trusting CDS clients (CDS Hooks 2.0): EHR-signed JWTs checked against configured keys.

An operator lists the EHRs Backstory trusts in a YAML or JSON file (``BACKSTORY_CDS_CLIENTS``):
each client's issuer (``iss``), its public keys as a JWK Set (inline, or a local file - never
fetched: the ``jku`` header is only compared with the URLs configured for that issuer), the
clinic it acts for, and optionally the ``sub`` values it may send. :func:`verify` checks one
``Authorization: Bearer`` JWT against that list:

- the algorithm is ES384 or RS384 and must match the key the ``kid`` names (an EC P-384 key
  verifies ES384 only, an RSA key RS384 only), so ``none``, HMAC (``HS256`` with a public key
  as the secret) and every other algorithm are refused before any signature is computed;
- ``iss`` names a configured client, ``kid`` one of its keys, ``jku`` (when sent) one of its
  configured URLs;
- ``aud`` (a string or a list) contains the full URL of the endpoint called;
- ``exp``, ``iat`` and ``jti`` are present, ``exp`` is at most five minutes after ``iat``, the
  token has not expired and was not issued in the future (both with ``LEEWAY_SECONDS`` of
  clock skew), and the ``jti`` was not seen before within its lifetime (a :class:`ReplayStore`:
  the web app's is the database, shared by all its processes; :class:`ReplayCache` keeps them
  in one process's memory, for tools and tests).

Nothing here does network I/O, and a refusal's message never quotes a key or a claim.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import jwt
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backstory import yamlio
from backstory.errors import AccessError, ConfigError, validation_problems

ALGORITHMS = ("ES384", "RS384")
"""The only signing algorithms accepted (CDS Hooks 2.0 recommends exactly these)."""
LEEWAY_SECONDS = 60
"""Clock skew allowed between the EHR and Backstory."""
MAX_LIFETIME_SECONDS = 300
"""``exp`` may be at most this long after ``iat``."""
MAX_TOKEN_LENGTH = 8192
MAX_JTI_LENGTH = 256
MIN_RSA_BITS = 2048
CLIENT_NAME = re.compile(r"^[A-Za-z0-9._-]{1,40}$")
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")

Alg = Literal["ES384", "RS384"]
ReplayAnswer = Literal["new", "seen", "full"]


class TrustConfigError(ConfigError):
    """A trusted-clients file that cannot be used (the message says what to fix)."""


class Refused(AccessError):
    """A JWT that is not accepted: ``reason`` is a short code for the audit log."""

    def __init__(self, reason: str, message: str, client: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.client = client


# -- configuration ------------------------------------------------------------------------------


class _ClientEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(pattern=CLIENT_NAME.pattern)
    iss: str = Field(min_length=1, max_length=500)
    clinic: str = Field(min_length=1, max_length=200)
    jwks: dict[str, Any] | None = None
    jwks_file: str | None = None
    jku: list[str] = []
    sub: list[str] | None = None


class _ClientsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    clients: list[_ClientEntry]


@dataclass(frozen=True)
class PublicKey:
    """One verification key: its ``kid``, the one algorithm it verifies, the key itself."""

    kid: str
    alg: Alg
    key: Any = field(repr=False)


@dataclass(frozen=True)
class TrustedClient:
    """One EHR (CDS client) Backstory trusts, and the clinic whose CDS rights it gets."""

    name: str
    iss: str
    clinic: str
    keys: Mapping[str, PublicKey] = field(repr=False)
    jku: frozenset[str] = frozenset()
    subs: frozenset[str] | None = None


def _public_key(jwk: Any, where: str) -> PublicKey:
    if not isinstance(jwk, Mapping):
        raise TrustConfigError(f"{where}: each key must be a JSON object (a JWK)")
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TrustConfigError(f"{where}: every key needs a 'kid'")
    where = f"{where} (kid {kid!r})"
    if any(m in jwk for m in _PRIVATE_MEMBERS):
        raise TrustConfigError(
            f"{where}: this is a private or secret key; give the EHR's public key only"
        )
    use = jwk.get("use")
    if use is not None and use != "sig":
        raise TrustConfigError(f"{where}: 'use' must be 'sig'")
    kty = jwk.get("kty")
    alg: Alg
    key: Any
    try:
        if kty == "EC":
            if jwk.get("crv") != "P-384":
                raise TrustConfigError(f"{where}: an EC key must be on curve P-384 (ES384)")
            alg, key = "ES384", ECAlgorithm.from_jwk(dict(jwk))
        elif kty == "RSA":
            alg, key = "RS384", RSAAlgorithm.from_jwk(dict(jwk))
            if key.key_size < MIN_RSA_BITS:
                raise TrustConfigError(f"{where}: an RSA key needs at least {MIN_RSA_BITS} bits")
        else:
            raise TrustConfigError(f"{where}: 'kty' must be EC (ES384) or RSA (RS384)")
    except jwt.InvalidKeyError as exc:
        raise TrustConfigError(f"{where}: not a valid key ({exc})") from None
    except (KeyError, ValueError, TypeError) as exc:
        if isinstance(exc, TrustConfigError):
            raise
        raise TrustConfigError(f"{where}: not a valid key ({type(exc).__name__})") from None
    declared = jwk.get("alg")
    if declared is not None and declared != alg:
        raise TrustConfigError(f"{where}: a {kty} key verifies {alg} only, not {declared!r}")
    return PublicKey(kid, alg, key)


def _jwks(entry: _ClientEntry, folder: Path) -> Mapping[str, Any]:
    where = f"client {entry.name!r}"
    if (entry.jwks is None) == (entry.jwks_file is None):
        raise TrustConfigError(f"{where}: give exactly one of 'jwks' or 'jwks_file'")
    if entry.jwks is not None:
        return entry.jwks
    assert entry.jwks_file is not None
    path = Path(entry.jwks_file).expanduser()
    if not path.is_absolute():
        path = folder / path
    try:
        data = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise TrustConfigError(f"{where}: cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise TrustConfigError(f"{where}: {path} is not valid JSON") from None
    if not isinstance(data, Mapping):
        raise TrustConfigError(f"{where}: {path} must hold a JWK Set object")
    return data


def _client(entry: _ClientEntry, folder: Path) -> TrustedClient:
    where = f"client {entry.name!r}"
    jwks = _jwks(entry, folder)
    raw_keys = jwks.get("keys")
    if not isinstance(raw_keys, list) or not raw_keys:
        raise TrustConfigError(f"{where}: the JWK Set needs a non-empty 'keys' list")
    keys: dict[str, PublicKey] = {}
    for jwk in raw_keys:
        key = _public_key(jwk, where)
        if key.kid in keys:
            raise TrustConfigError(f"{where}: two keys have kid {key.kid!r}")
        keys[key.kid] = key
    for url in entry.jku:
        if not url.startswith("https://"):
            raise TrustConfigError(f"{where}: a jku must be an https:// URL")
    if entry.sub is not None and not entry.sub:
        raise TrustConfigError(f"{where}: 'sub' must list at least one value (or be left out)")
    return TrustedClient(
        name=entry.name,
        iss=entry.iss,
        clinic=entry.clinic,
        keys=keys,
        jku=frozenset(entry.jku),
        subs=frozenset(entry.sub) if entry.sub is not None else None,
    )


@dataclass(frozen=True)
class TrustedClients:
    """Every trusted CDS client, by issuer."""

    clients: Mapping[str, TrustedClient]

    def by_iss(self, iss: str) -> TrustedClient | None:
        return self.clients.get(iss)

    def __len__(self) -> int:
        return len(self.clients)


def trusted_clients(data: Any, folder: Path | None = None) -> TrustedClients:
    """Trusted clients from parsed file content (``jwks_file`` paths relative to ``folder``).

    Raises:
        TrustConfigError: anything missing, unknown or unsafe, in plain words.
    """
    try:
        parsed = _ClientsFile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{loc or 'file'}: {msg}" for loc, msg in validation_problems(exc, exc.error_count())
        )
        raise TrustConfigError(f"trusted CDS clients: {problems}") from None
    by_iss: dict[str, TrustedClient] = {}
    names: set[str] = set()
    for entry in parsed.clients:
        client = _client(entry, folder or Path.cwd())
        if client.iss in by_iss:
            raise TrustConfigError(f"trusted CDS clients: two clients have iss {client.iss!r}")
        if client.name in names:
            raise TrustConfigError(f"trusted CDS clients: two clients are named {client.name!r}")
        by_iss[client.iss] = client
        names.add(client.name)
    return TrustedClients(by_iss)


def load_trusted_clients(path: str | Path) -> TrustedClients:
    """Read a trusted-clients file (YAML or JSON).

    Raises:
        TrustConfigError: the file cannot be read or is not a valid list of clients.
    """
    p = Path(path).expanduser()
    try:
        text = p.read_text("utf-8")
    except OSError as exc:
        raise TrustConfigError(
            f"cannot read the trusted CDS clients file {p}: {exc.strerror}"
        ) from None
    try:
        data = yamlio.safe_load(text)
    except yamlio.YAMLError:
        raise TrustConfigError(f"{p} is not valid YAML or JSON") from None
    try:
        return trusted_clients(data, p.parent)
    except TrustConfigError as exc:
        raise TrustConfigError(f"{p}: {exc}") from None


# -- replay protection --------------------------------------------------------------------------


class ReplayStore(Protocol):
    """Where the ``jti`` values seen are kept until their tokens expire."""

    def add(self, client: str, jti: str, until: float, now: float) -> ReplayAnswer:
        """Record ``jti`` of ``client`` until ``until`` (epoch seconds): ``new`` when it was
        not recorded (or its record had expired at ``now``), ``seen`` for a replay, ``full``
        when it cannot be recorded (refused rather than forgotten)."""
        ...


class ReplayCache:
    """The ``jti`` values seen, each kept until its token has expired (this process only:
    for tools and tests; the web app uses the database, ``backstory.web.cds_replay``).

    Bounded: when ``limit`` live entries are held, :meth:`add` refuses rather than forgets,
    so a replay can never slip through because the cache was full.
    """

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def add(
        self, client: str, jti: str, until: float, now: float
    ) -> Literal["new", "seen", "full"]:
        """Record ``jti`` of ``client`` until ``until``; says whether it was new."""
        key = (client, jti)
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and seen >= now:
                return "seen"
            if len(self._seen) >= self.limit:
                self._seen = {k: t for k, t in self._seen.items() if t >= now}
                if len(self._seen) >= self.limit:
                    return "full"
            self._seen[key] = until
            return "new"

    def __len__(self) -> int:
        return len(self._seen)


# -- verification -------------------------------------------------------------------------------


def looks_like_jwt(value: str) -> bool:
    """True for a compact JWS (three dot-separated parts); an API token never has a dot."""
    return value.count(".") == 2


@dataclass(frozen=True)
class Verified:
    """An accepted JWT: the client it proves, and the claims worth keeping."""

    client: TrustedClient
    jti: str
    sub: str | None
    expires: float


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    if len(token) > MAX_TOKEN_LENGTH:
        raise Refused("malformed", "the JWT is too long")
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        raise Refused("malformed", "the bearer value is not a well-formed JWT") from None
    return header, claims


def verify(
    token: str,
    clients: TrustedClients | None,
    audience: str,
    now: float,
    replay: ReplayStore,
) -> Verified:
    """Check one CDS client JWT for a call to ``audience`` (the endpoint's full URL).

    Raises:
        Refused: why the JWT is not accepted (``client`` is set once the issuer is known).
    """
    header, unverified = _unverified(token)
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise Refused("algorithm", "the JWT must be signed with ES384 or RS384")
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.upper() != "JWT"):
        raise Refused("malformed", "the JWT header 'typ' must be JWT")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise Refused("kid", "the JWT header must name its key ('kid')")
    iss = unverified.get("iss")
    if not isinstance(iss, str) or not iss:
        raise Refused("issuer", "the JWT has no issuer ('iss')")
    client = clients.by_iss(iss) if clients is not None else None
    if client is None:
        raise Refused("issuer", "the JWT's issuer is not a trusted CDS client")
    name = client.name
    jku = header.get("jku")
    if jku is not None and (not isinstance(jku, str) or jku not in client.jku):
        raise Refused(
            "jku",
            "the JWT names a key set URL ('jku') not configured for its issuer",
            name,
        )
    key = client.keys.get(kid)
    if key is None:
        raise Refused("kid", "the JWT's key ('kid') is not configured for its issuer", name)
    if alg != key.alg:
        raise Refused("algorithm", f"the JWT's key verifies {key.alg} only", name)
    try:
        claims = jwt.decode(
            token,
            key.key,
            algorithms=[key.alg],
            audience=audience,
            issuer=client.iss,
            options={
                "verify_exp": False,  # checked below against Backstory's clock
                "verify_iat": False,
                "verify_nbf": False,
                "require": ["iss", "aud", "exp", "iat", "jti"],
            },
        )
    except jwt.InvalidSignatureError:
        raise Refused("signature", "the JWT's signature does not verify", name) from None
    except jwt.MissingRequiredClaimError as exc:
        raise Refused(f"missing-{exc.claim}", f"the JWT has no '{exc.claim}' claim", name) from None
    except jwt.InvalidAudienceError:
        raise Refused("audience", f"the JWT's audience ('aud') must be {audience}", name) from None
    except jwt.InvalidTokenError:
        raise Refused("malformed", "the JWT's claims are not valid", name) from None
    exp, iat, nbf = claims["exp"], claims["iat"], claims.get("nbf")
    if not _number(exp) or not _number(iat) or (nbf is not None and not _number(nbf)):
        raise Refused("malformed", "'exp', 'iat' and 'nbf' must be numbers", name)
    if now > exp + LEEWAY_SECONDS:
        raise Refused("expired", "the JWT has expired", name)
    if iat > now + LEEWAY_SECONDS or (nbf is not None and nbf > now + LEEWAY_SECONDS):
        raise Refused("not-yet-valid", "the JWT was issued in the future", name)
    if exp - iat > MAX_LIFETIME_SECONDS:
        raise Refused(
            "lifetime",
            f"the JWT's 'exp' must be at most {MAX_LIFETIME_SECONDS} seconds after 'iat'",
            name,
        )
    jti = claims["jti"]
    if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH:
        raise Refused("missing-jti", "the JWT's 'jti' must be a short unique string", name)
    sub = claims.get("sub")
    if client.subs is not None and (not isinstance(sub, str) or sub not in client.subs):
        raise Refused("sub", "the JWT's subject ('sub') is not allowed for its issuer", name)
    seen = replay.add(name, jti, float(exp) + LEEWAY_SECONDS, now)
    if seen == "seen":
        raise Refused("replayed", "this JWT ('jti') has been used already", name)
    if seen == "full":
        raise Refused("busy", "too many recent JWTs to check for replay; try again", name)
    return Verified(client, jti, sub if isinstance(sub, str) else None, float(exp))
