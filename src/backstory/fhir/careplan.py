"""A self-management programme's current week as a FHIR R4 CarePlan (JSON dict).

The CarePlan carries what the patient is asked to do this week: the education session, each
exercise with its dose, and the walking goal, as activities with their own descriptions; the
flare-up plan and its safety net as notes. A programme stopped by a warning sign in a
check-in is exported ``on-hold`` with a note that says why. The resource is validated with
the R4B models like every other resource Backstory emits.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

from backstory.fhir.r4b import validate
from backstory.programme.generate import Programme

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://backstory.invalid/fhir/CarePlan")
_UNIDENTIFIED = "Patient not identified (export without a linked record)"


def _activity(code_text: str, description: str, scheduled: str | None = None) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "code": {"text": code_text},
        "status": "scheduled",
        "description": description,
    }
    if scheduled is not None:
        detail["scheduledString"] = scheduled
    return {"detail": detail}


def programme_careplan(
    programme: Programme,
    *,
    subject: Mapping[str, Any] | None = None,
    created: str | None = None,
) -> dict[str, Any]:
    """The programme's current week as a CarePlan; the same programme gives the same id.

    ``subject`` is a FHIR Reference (default: display only, saying no patient was linked);
    ``created`` an ISO date or date-time for ``CarePlan.created``.
    """
    week = programme.current
    activities = [
        _activity(
            f"Education: {week.session.title}",
            " ".join(week.session.text.split()),
            f"Week {week.number}",
        )
    ]
    for ex in week.exercises:
        activities.append(
            _activity(
                f"Exercise: {ex.name}",
                f"{ex.instructions} Ease off: {ex.ease_off} Build up: {ex.progress}",
                f"{ex.sets} set{'s' if ex.sets != 1 else ''} of {ex.reps}, daily",
            )
        )
    activities.append(_activity("Walking", week.activity_text, week.activity_text))
    notes = [{"text": line} for line in programme.flare_plan.lines]
    if week.adaptation is not None:
        notes.insert(0, {"text": week.adaptation.sentence})
    if programme.override_reason:
        notes.insert(0, {"text": f"Built by clinician override: {programme.override_reason}"})
    if programme.stopped:
        asked = ", ".join(programme.stop_fields)
        notes.insert(
            0,
            {
                "text": "Stopped: a warning sign was reported in a weekly check-in "
                f"({asked}); the person was told to act now."
            },
        )
    content = programme.to_dict()
    digest = hashlib.sha256(
        json.dumps([content, dict(subject or {})], sort_keys=True).encode("utf-8")
    ).hexdigest()
    plan: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": str(uuid.uuid5(_NAMESPACE, digest)),
        "status": "on-hold" if programme.stopped else "active",
        "intent": "plan",
        "category": [{"text": "Self-management programme for low back pain"}],
        "title": f"Back pain self-management programme, week {week.number}"
        f" of {programme.weeks_total}",
        "description": (
            "A week-by-week plan of education, exercise and walking, adapted to weekly"
            f" check-ins (knowledge version {programme.knowledge_version})."
        ),
        "subject": dict(subject) if subject is not None else {"display": _UNIDENTIFIED},
        "activity": activities,
        "note": notes,
    }
    if created is not None:
        plan["created"] = created
    validate(plan)
    return plan
