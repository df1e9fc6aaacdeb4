"""View data shared by pages and the API: progress over an episode, and a report's documents.

Pure functions over stored records, so the pages and the JSON API say the same thing.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from backstory.core.report import Report
from backstory.explain import Document, explain_report
from backstory.outcomes import Progress, progress, render_chart, visits_of
from backstory.outcomes.chart import STATUS_WORDS, describe
from backstory.outcomes.progress import fmt
from backstory.outcomes.rules import load_outcome_rules
from backstory.storage.records import AssessmentRecord, EpisodeRecord
from backstory.storage.repository import Store


@dataclass(frozen=True)
class EpisodeProgress:
    """What the patient page shows for one episode."""

    record: EpisodeRecord
    result: Progress | None
    rows: list[dict[str, str]]
    chart_alt: str
    notes: tuple[str, ...] = ()
    """Why a measure's improvement cannot be judged (a baseline below its floor)."""

    @property
    def reassess(self) -> tuple[str, ...]:
        return self.result.reassess if self.result else ()


def episode_progress(record: EpisodeRecord, today: dt.date) -> EpisodeProgress:
    visits = visits_of(record)
    if not visits:
        return EpisodeProgress(record, None, [], "")
    result = progress(visits, load_outcome_rules(), today)
    rows = []
    for t in result.trajectories:
        rows.append(
            {
                "measure": t.measure.label,
                "baseline": f"{fmt(t.baseline.value)} ({t.baseline.on.isoformat()})",
                "latest": f"{fmt(t.latest.value)} ({t.latest.on.isoformat()})"
                if t.has_follow_up
                else "-",
                "change": _signed(fmt(t.latest.change)) if t.has_follow_up else "-",
                "important": fmt(t.important_amount)
                + ("" if t.improvement_evaluable else " (a rise only)"),
                "status": STATUS_WORDS[t.status] if t.status else "no follow-up yet",
            }
        )
    alt = " ".join(describe(t) for t in result.trajectories)
    return EpisodeProgress(record, result, rows, alt, result.notes)


def chart_svg(record: EpisodeRecord, today: dt.date) -> str | None:
    visits = visits_of(record)
    if not visits:
        return None
    result = progress(visits, load_outcome_rules(), today)
    if not result.trajectories:
        return None
    return render_chart(result, f"Progress, episode {record.episode.id}")


def progress_data(record: EpisodeRecord, today: dt.date) -> dict[str, Any]:
    """The JSON form of an episode's progress (the API's progress resource)."""
    view = episode_progress(record, today)
    result = view.result
    data: dict[str, Any] = {
        "episode_id": record.episode.id,
        "started_on": record.episode.started_on.isoformat(),
        "closed_on": record.episode.closed_on.isoformat() if record.episode.closed_on else None,
        "visits": [],
        "measures": [],
        "risk": None,
        "recovered": None,
        "days_followed": 0,
        "reassess": [],
        "stale_days": None,
    }
    if result is None:
        return data
    data["visits"] = [
        {"assessment_id": v.assessment_id, "on": v.on.isoformat()} for v in result.visits
    ]
    data["measures"] = [
        {
            "measure": t.measure.id,
            "label": t.measure.label,
            "baseline": float(t.baseline.value),
            "baseline_on": t.baseline.on.isoformat(),
            "latest": float(t.latest.value),
            "latest_on": t.latest.on.isoformat(),
            "change": float(t.latest.change),
            "important_change": float(t.important_amount),
            "improvement_evaluable_from": float(floor)
            if (floor := t.measure.improvement_evaluable_from) is not None
            else None,
            "status": t.status,
        }
        for t in result.trajectories
    ]
    if result.risk is not None:
        data["risk"] = {
            "baseline": result.risk.baseline,
            "latest": result.risk.latest,
            "move": result.risk.move,
        }
    data["recovered"] = result.recovered
    data["days_followed"] = result.days_followed
    data["reassess"] = list(result.reassess)
    data["stale_days"] = result.stale_days
    return data


def _signed(text: str) -> str:
    return text if text.startswith("-") or text == "0" else f"+{text}"


@dataclass(frozen=True)
class ReportView:
    """A stored assessment's report and both documents made from it."""

    report: Report
    answers: dict[str, Any]
    patient_doc: Document
    clinician_doc: Document
    stored_version: str | None

    @property
    def knowledge_changed(self) -> bool:
        return (
            self.stored_version is not None and self.stored_version != self.report.knowledge_version
        )


def report_view(store: Store, record: AssessmentRecord) -> ReportView:
    """Explain a stored assessment. The documents are composed from a report made afresh
    under the current knowledge (identical to the stored one under the same version)."""
    done = store.reason(record.assessment.source_json)
    answers = dict(done.assessment.answers)
    latest = record.latest_report
    return ReportView(
        report=done.report,
        answers=answers,
        patient_doc=explain_report(done.report, answers, "patient"),
        clinician_doc=explain_report(done.report, answers, "clinician"),
        stored_version=latest.knowledge_version if latest else None,
    )


def summary_of(record: AssessmentRecord) -> dict[str, Any]:
    """Triage level and category of an assessment's latest stored report."""
    latest = record.latest_report
    if latest is None:
        return {"triage": None, "category": None, "report_id": None}
    data = json.loads(latest.report_json)
    return {
        "triage": data.get("triage", {}).get("level"),
        "category": data.get("category"),
        "report_id": latest.id,
    }
