"""What the top of the report page shows before the documents: the triage banner (with the
unanswered and "not sure" warning-sign questions named in plain words, and the review
state), and the pre-filled new assessment that records the missing answers in one click.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from backstory.storage import worklist
from backstory.storage.records import AssessmentRecord
from backstory.storage.repository import Store
from backstory.web.labels import readable_document
from backstory.web.views import ReportView


def report_extras(store: Store, record: AssessmentRecord, view: ReportView) -> dict[str, Any]:
    """The worklist's facts about the report's assessment (its view is audited by the page
    as ``report.view``) and the clinician summary in plain labels."""
    flags = store.run(
        lambda conn, user: worklist.assessment_flags(conn, user, record.assessment.id)
    )
    return {"flags": flags, "clinician_doc": readable_document(view.clinician_doc)}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def prefill(source_json: str, today: dt.date) -> dict[str, str]:
    """Form values holding an assessment's answers, dated today: the clinician only adds
    the answers that were missing (unanswered warning-sign questions stay unchosen)."""
    data = json.loads(source_json)
    values: dict[str, str] = {}
    for key, value in data.items():
        if key == "schema":
            continue
        if isinstance(value, dict):
            for sub, inner in value.items():
                text = _text(inner)
                if text is not None:
                    values[f"{key}.{sub}"] = text
        elif isinstance(value, list):
            for i, inner in enumerate(value, start=1):
                text = _text(inner)
                if text is not None:
                    values[f"{key}.{i}"] = text
        else:
            text = _text(value)
            if text is not None:
                values[key] = text
    values["assessed_on"] = today.isoformat()
    return values
