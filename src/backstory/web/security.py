"""Security primitives: password hashing, signed tokens, CSRF, keyed digests, headers.

Kept free of any web framework so each piece is unit-tested on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

# argon2id with the library's RFC 9106 low-memory profile defaults
_HASHER = PasswordHasher()

MIN_PASSWORD_LENGTH = 12

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _HASHER.hash(password)


def verify_password(stored: str, password: str) -> bool:
    """True when ``password`` matches the stored hash; never raises on a bad hash."""
    try:
        return _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str | None:
    """A plain reason the password is too weak, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"use at least {MIN_PASSWORD_LENGTH} characters"
    if password.strip() != password:
        return "do not start or end the password with a space"
    if len(set(password)) < 5:
        return "use a less repetitive password"
    return None


def new_token(nbytes: int = 32) -> str:
    """A random URL-safe token."""
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    """What is stored for a token: its SHA-256, so a leaked table reveals no usable token."""
    return hashlib.sha256(token.encode()).hexdigest()


def keyed_digest(secret: str, purpose: str, value: str) -> str:
    """An HMAC-SHA256 of ``value`` under the app's secret, for storing something that must
    be recognised again but never read back (a user name, a client address): unlike a plain
    hash, a leaked table cannot be reversed by hashing every likely name or address."""
    message = f"backstory:{purpose}:{value}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class Signer:
    """Signs small payloads with expiry (sessions, CSRF, patient links)."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self._secret, salt=f"backstory:{purpose}")

    def sign(self, purpose: str, payload: Any) -> str:
        return self._serializer(purpose).dumps(payload)

    def load(self, purpose: str, token: str, max_age_seconds: int) -> Any | None:
        """The payload, or None when the signature is bad or the token has expired."""
        try:
            return self._serializer(purpose).loads(token, max_age=max_age_seconds)
        except (BadSignature, SignatureExpired):
            return None

    def csrf_token(self, session_id: str) -> str:
        """A CSRF token bound to one session."""
        mac = hmac.new(self._secret.encode(), f"csrf:{session_id}".encode(), hashlib.sha256)
        return mac.hexdigest()

    def csrf_ok(self, session_id: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(session_id), token or "")
