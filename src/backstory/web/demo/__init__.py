"""Synthetic demo patients for ``backstory serve --demo`` (all data here is made up).

The assessments are the project's synthetic test examples, copied into the package because
``examples/`` is not installed. Follow-up visits change pain and disability scores so the
patient pages show improvement, a reassessment prompt, an out-of-date assessment and an
emergency triage. Loaded once per clinic: a clinic that has patients already is left alone.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from importlib import resources
from typing import Any

from backstory.storage import Connection, Database, Store
from backstory.storage import accounts as acc
from backstory.storage.users import User, clinic_id

DEMO_CLINIC = "Demo clinic"
ACTOR = "system:demo"


def _example(name: str) -> dict[str, Any]:
    text = resources.files("backstory.web.demo").joinpath(f"{name}.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    data.pop("id", None)
    return data


def _visit(name: str, on: dt.date, **pain: int) -> dict[str, Any]:
    data = _example(name)
    data["assessed_on"] = on.isoformat()
    if pain:
        data.setdefault("pain", {}).update(pain)
    return data


def demo_patients(today: dt.date) -> list[tuple[str, list[dict[str, Any]]]]:
    """(reference, assessments) for each demo patient, dated relative to ``today``."""
    day = dt.timedelta(days=1)
    later_odi = _visit("p07-high-risk-with-odi", today - 50 * day)
    return [
        (
            "demo-facet-01",
            [
                _visit("p02-facet-pattern", today - 35 * day),
                _visit("p02-facet-pattern", today - 21 * day, back=4),
                _visit("p02-facet-pattern", today - 7 * day, back=2),
            ],
        ),
        (
            "demo-sciatica-02",
            [
                _visit("p03-sciatica", today - 30 * day),
                _visit("p03-sciatica", today - 3 * day, back=5, leg=9),
            ],
        ),
        ("demo-high-risk-03", [later_odi]),
        ("demo-urgent-04", [_visit("p01-cauda-equina", today)]),
    ]


def _system_user(clinic_id: str) -> Callable[[Connection, str], User]:
    def resolve(conn: Connection, actor: str) -> User:
        return User("system", clinic_id, acc.clinic_name(conn, clinic_id), actor, "clinician", True)

    return resolve


def load_demo(db: Database, clinic_id: str, today: dt.date | None = None) -> int:
    """Add the demo patients to a clinic that has none yet; returns how many were added."""
    has = db.transaction(lambda conn: acc.clinic_patient_count(conn, clinic_id))
    if has:
        return 0
    store = Store(db, ACTOR, resolve=_system_user(clinic_id))
    on = today or dt.date.today()
    added = 0
    for reference, visits in demo_patients(on):
        p = store.add_patient(reference, birth_year=on.year - 50)
        for data in visits:
            store.save_assessment(p.id, json.dumps(data, indent=2))
        added += 1
    return added


def demo_clinic(db: Database) -> str:
    """The clinic demo patients go to: the first operator's, else a new "Demo clinic"."""

    def work(conn: Connection) -> str:
        found = acc.first_operator_clinic(conn)
        if found is not None:
            return found
        return clinic_id(conn, DEMO_CLINIC, create=True)

    return db.transaction(work)
