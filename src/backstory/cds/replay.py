"""Replay synthetic patients' hook calls against a running CDS service, for integrators.

Standard library HTTP only, so the tool works wherever Backstory is installed.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

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
    return list(yaml.safe_load(text)["cases"])


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


def post(base_url: str, call: Call, token: str | None, timeout: float = 10.0) -> tuple[int, Any]:
    """Send one call; returns (HTTP status, parsed JSON body or error text)."""
    url = f"{base_url.rstrip('/')}/cds-services/{call.service}"
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
