"""Synthetic CDS clients (EHRs) for the tests: fresh keys, a trusted-clients file, signed JWTs.

Keys are made here with ``cryptography`` (EC P-384 for ES384, RSA 2048 for RS384); nothing is
real. ``EHR_A`` acts for clinic A with its keys inline; ``EHR_B`` for clinic B, its keys in a
separate JWKS file and only one ``sub`` allowed; ``EHR_Z`` names a clinic that does not exist.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

EHR_A = "https://ehr-a.example.org/"
EHR_B = "https://ehr-b.example.org/"
EHR_Z = "https://ehr-z.example.org/"
JKU_A = "https://ehr-a.example.org/jwks.json"
SUB_B = "backstory-client-b"


@dataclass(frozen=True)
class Keys:
    """Private keys of the synthetic EHRs, plus one nobody trusts."""

    ec: ec.EllipticCurvePrivateKey
    rsa: rsa.RSAPrivateKey
    ec_b: ec.EllipticCurvePrivateKey
    stranger: ec.EllipticCurvePrivateKey

    def jwk(self, kid: str, private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> Any:
        public = private.public_key()
        if isinstance(public, ec.EllipticCurvePublicKey):
            out = ECAlgorithm.to_jwk(public, as_dict=True)
        else:
            out = RSAAlgorithm.to_jwk(public, as_dict=True)
        return {**out, "kid": kid, "use": "sig"}

    def public_pem(self, private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
        return private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def make_keys() -> Keys:
    return Keys(
        ec=ec.generate_private_key(ec.SECP384R1()),
        rsa=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        ec_b=ec.generate_private_key(ec.SECP384R1()),
        stranger=ec.generate_private_key(ec.SECP384R1()),
    )


def write_clients(folder: Path, keys: Keys) -> Path:
    """The trusted-clients file (YAML) and clinic B's JWKS file; returns the clients file."""
    (folder / "ehr-b-jwks.json").write_text(json.dumps({"keys": [keys.jwk("b-1", keys.ec_b)]}))
    config = {
        "clients": [
            {
                "name": "ehr-a",
                "iss": EHR_A,
                "clinic": "Clinic A",
                "jku": [JKU_A],
                "jwks": {"keys": [keys.jwk("ec-1", keys.ec), keys.jwk("rsa-1", keys.rsa)]},
            },
            {
                "name": "ehr-b",
                "iss": EHR_B,
                "clinic": "Clinic B",
                "sub": [SUB_B],
                "jwks_file": "ehr-b-jwks.json",
            },
            {
                "name": "ehr-z",
                "iss": EHR_Z,
                "clinic": "Clinic Z",
                "jwks": {"keys": [keys.jwk("z-1", keys.stranger)]},
            },
        ]
    }
    path = folder / "cds-clients.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def claims(audience: str | list[str], now: float, **changes: Any) -> dict[str, Any]:
    """Valid claims for ``EHR_A`` calling ``audience`` at ``now``; a change of None drops a
    claim."""
    out: dict[str, Any] = {
        "iss": EHR_A,
        "aud": audience,
        "iat": int(now),
        "exp": int(now) + 240,
        "jti": str(uuid.uuid4()),
    }
    out.update(changes)
    return {k: v for k, v in out.items() if v is not None}


def sign(
    payload: dict[str, Any],
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
    kid: str,
    alg: str = "ES384",
    **header: Any,
) -> str:
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid, **header})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(payload: dict[str, Any], kid: str) -> str:
    """A JWT with ``alg: none`` and no signature (RFC 7519 section 6)."""
    head = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
    return f"{head}.{_b64(json.dumps(payload).encode())}."


def hmac_with_public_key(payload: dict[str, Any], kid: str, public_pem: bytes) -> str:
    """The key-confusion attack: HS256 'signed' with the verifier's public key as the secret."""
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = _b64(json.dumps(payload).encode())
    mac = hmac.new(public_pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"
