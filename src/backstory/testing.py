"""Test helpers for Backstory and its adapters: Hypothesis strategies for valid assessments.

Needs the ``test`` extra (hypothesis). Generated data is synthetic by construction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from backstory.contract.spec import Contract, FieldSpec, load_contract
from backstory.contract.validate import text_problem


def value_strategy(spec: FieldSpec) -> st.SearchStrategy[Any]:
    """Valid values for one contract field."""
    if spec.type == "bool":
        return st.booleans()
    if spec.type == "enum":
        return st.sampled_from(spec.values)
    if spec.type == "int":
        lo = int(spec.minimum if spec.minimum is not None else 0)
        hi = int(spec.maximum if spec.maximum is not None else 100)
        return st.integers(lo, hi)
    if spec.type == "number":
        flo = float(spec.minimum if spec.minimum is not None else 0)
        fhi = min(float(spec.maximum if spec.maximum is not None else 100), 520.0)
        return st.one_of(
            st.integers(int(flo), int(fhi)),
            st.floats(flo, fhi, allow_nan=False, allow_infinity=False),
        )
    if spec.type == "date":
        # within the contract's range whatever day the test runs (no later than 2025)
        first = dt.date.fromisoformat(spec.earliest) if spec.earliest else dt.date(1, 1, 1)
        return st.dates(first, dt.date(2025, 12, 31)).map(lambda d: d.isoformat())
    printable = st.characters(
        codec="utf-8", exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
    )
    return st.text(printable, min_size=1, max_size=12).filter(
        lambda s: text_problem(s, spec.max_length) is None
    )


@st.composite
def assessments(draw: st.DrawFn, contract: Contract | None = None, density: float = 0.5) -> Any:
    """A random assessment that satisfies the contract (as a JSON-like dict).

    Each optional answer is present with probability about ``density``; red flags are
    mostly false so that the interesting combinations still occur.
    """
    c = contract or load_contract()
    data: dict[str, Any] = {"age": draw(st.integers(16, 110))}
    if draw(st.booleans()):
        data["id"] = draw(st.from_regex(r"[a-z]{1,3}[0-9]{1,4}", fullmatch=True))
    if draw(st.booleans()):
        data["sex"] = draw(st.sampled_from(c.top["sex"].values))
    if draw(st.booleans()):
        data["assessed_on"] = draw(value_strategy(c.top["assessed_on"]))
    for gname, fields in c.groups.items():
        group: dict[str, Any] = {}
        for key, spec in fields.items():
            if draw(st.floats(0, 1)) >= density:
                continue
            if gname == "red_flags" and spec.type == "bool":
                group[key] = draw(st.sampled_from([False, False, False, True]))
            else:
                group[key] = draw(value_strategy(spec))
        if group:
            data[gname] = group
    hist = data.get("history", {})
    if "age_at_first_onset" in hist:
        hist["age_at_first_onset"] = min(hist["age_at_first_onset"], data["age"])
    exam = data.get("exam", {})
    if "sij_provocation_positive" in exam and "sij_tests_done" in exam:
        exam["sij_provocation_positive"] = min(
            exam["sij_provocation_positive"], exam["sij_tests_done"]
        )
    for name, inst in c.instruments.items():
        if not draw(st.booleans()):
            continue
        items = [draw(value_strategy(spec)) for spec in inst.items]
        if not inst.required_all:
            items = [None if draw(st.floats(0, 1)) < 0.05 else v for v in items]
        data[name] = items
    return data
