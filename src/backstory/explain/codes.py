"""Clinical codes for the clinician summary: verified codes only, traps never. Pure.

A wrong code lands in a patient's record (HZ-06), so the rule is narrow: only table entries
with status ``verified`` are output, with exactly the table's display; only the working
classification is coded (never a suspected condition, never a pain pattern); and nothing on
the ``never_use`` list is output, whatever the table says. Entries that would apply but are
not verified are counted, not shown, so that nobody copies an unchecked code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from backstory.core.report import Report
from backstory.explain.knowledge import matches
from backstory.explain.select import known_answers
from backstory.knowledge.codes import CodeEntry, CodeTable, load_code_table


@dataclass(frozen=True, slots=True)
class EmittedCode:
    """A code fit to record: system, code and the display exactly as verified."""

    entry: str
    system: str
    system_uri: str
    code: str
    display: str
    citations: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "system_uri": self.system_uri,
            "code": self.code,
            "display": self.display,
            "citations": list(self.citations),
        }


@dataclass(frozen=True, slots=True)
class CodeResult:
    """The codes output for a report, and how many candidates were held back unverified."""

    codes: tuple[EmittedCode, ...]
    held_back: int
    conditions: Mapping[str, str]


def _yes_no(value: Any) -> str:
    return "yes" if value is True else "no" if value is False else "unknown"


def code_conditions(report: Report, known: Mapping[str, Any]) -> dict[str, str]:
    """The facts the code table tests: category, back pain, and where the leg pain runs."""
    back = report.pain.get("back")
    side = known.get("pain.leg_side")
    return {
        "category": report.category,
        "back_pain": "unknown" if back is None else ("present" if back >= 1 else "absent"),
        "leg_side": side if side in ("left", "right", "both") else "unknown",
        "below_knee": _yes_no(known.get("pain.below_knee")),
        "femoral": _yes_no(known.get("exam.femoral_stretch_positive")),
    }


def _applies(entry: CodeEntry, cond: Mapping[str, str]) -> bool:
    """An entry without ``when`` is never in the summary (the FHIR export names it by id)."""
    return bool(entry.when) and matches(entry.when, cond)


def codes_for(
    report: Report,
    answers: Mapping[str, Any] | None = None,
    table: CodeTable | None = None,
) -> CodeResult:
    """The verified codes for this report's working classification."""
    t = table or load_code_table()
    cond = code_conditions(report, known_answers(report, answers))
    out: list[EmittedCode] = []
    held = 0
    for entry in t.codes:
        if not _applies(entry, cond):
            continue
        if entry.status != "verified" or t.is_never_use(entry.system, entry.code):
            held += 1
            continue
        out.append(
            EmittedCode(
                entry=entry.id,
                system=entry.system,
                system_uri=t.system(entry.system).uri,
                code=entry.code,
                display=entry.display or "",  # the table requires it for entries with `when`
                citations=entry.citations,
            )
        )
    return CodeResult(tuple(out), held, cond)
