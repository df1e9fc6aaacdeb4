"""Replay synthetic patients' hook calls against a running CDS service, for integrators.

Standard library HTTP only, so the tool works wherever Backstory is installed.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

from backstory import yamlio
from backstory.fhir.response import assessment_to_response

LUMBAR_MRI = {
    "resourceType": "ServiceRequest",
    "id": "replay-lumbar-mri",
    "status": "draft",
    "intent": "order",
    "code": {"text": "MRI lumbar spine"},
}


@dataclass(frozen=True)
class Call:
    """One hook call: which service, for which synthetic case, and the request body."""

    case: str
    service: str
    body: dict[str, Any]


def cases() -> list[dict[str, Any]]:
    """The bundled synthetic cases."""
    text = resources.files("backstory.cds").joinpath("replay_cases.yaml").read_text("utf-8")
    return list(yamlio.safe_load(text)["cases"])


def calls(services: tuple[str, ...] = ("patient-view", "order-select")) -> Iterator[Call]:
    """The hook requests for every synthetic case and service (with prefetch filled in)."""
    for case in cases():
        patient = case["patient_id"]
        qr = assessment_to_response(case["assessment"], subject={"reference": f"Patient/{patient}"})
        context: dict[str, Any] = {"userId": "Practitioner/replay", "patientId": patient}
        if "patient-view" in services:
            yield Call(
                case["name"],
                "backstory-patient-view",
                {
                    "hook": "patient-view",
                    "hookInstance": str(uuid.uuid4()),
                    "context": context,
                    "prefetch": {"assessment": qr},
                },
            )
        if "order-select" in services:
            order = {**LUMBAR_MRI, "subject": {"reference": f"Patient/{patient}"}}
            yield Call(
                case["name"],
                "backstory-order-select",
                {
                    "hook": "order-select",
                    "hookInstance": str(uuid.uuid4()),
                    "context": {
                        **context,
                        "selections": [f"ServiceRequest/{order['id']}"],
                        "draftOrders": {
                            "resourceType": "Bundle",
                            "type": "collection",
                            "entry": [{"resource": order}],
                        },
                    },
                    "prefetch": {"assessment": qr},
                },
            )


def service_url(base_url: str, service: str) -> str:
    """The full URL of a CDS service endpoint (also the JWT audience for a call to it)."""
    return f"{base_url.rstrip('/')}/cds-services/{service}"


@dataclass(frozen=True)
class Signer:
    """Signs a fresh JWT for every call, as an EHR does (CDS Hooks "Trusting CDS Clients").

    ``key_pem`` is the EHR's private key (EC P-384 for ES384, RSA for RS384); ``iss`` and
    ``kid`` must match the service's trusted-clients file.
    """

    key_pem: bytes
    iss: str
    kid: str
    sub: str | None = None
    lifetime: int = 300

    def token(self, audience: str, now: float | None = None) -> str:
        import jwt
        from cryptography.hazmat.primitives.asymmetric import ec, rsa
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        key = load_pem_private_key(self.key_pem, password=None)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            alg = "ES384"
        elif isinstance(key, rsa.RSAPrivateKey):
            alg = "RS384"
        else:
            raise ValueError("the key must be an EC (P-384) or RSA private key in PEM form")
        issued = int(time.time() if now is None else now)
        claims: dict[str, Any] = {
            "iss": self.iss,
            "aud": audience,
            "iat": issued,
            "exp": issued + self.lifetime,
            "jti": str(uuid.uuid4()),
        }
        if self.sub:
            claims["sub"] = self.sub
        return jwt.encode(claims, key, algorithm=alg, headers={"kid": self.kid, "typ": "JWT"})


def post(
    base_url: str,
    call: Call,
    token: str | None,
    timeout: float = 10.0,
    signer: Signer | None = None,
) -> tuple[int, Any]:
    """Send one call; returns (HTTP status, parsed JSON body or error text).

    With a ``signer`` the call carries a freshly signed JWT instead of ``token``.
    """
    url = service_url(base_url, call.service)
    if signer is not None:
        token = signer.token(url)
    req = urllib.request.Request(
        url,
        data=json.dumps(call.body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        body = exc.read().decode("utf-8", "replace")
        return exc.code, body
