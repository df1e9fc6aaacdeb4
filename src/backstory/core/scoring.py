"""Instrument scoring driven by the tables in instruments.yaml."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from backstory.knowledge.conditions import Tri
from backstory.knowledge.schema import Instrument


def round_half_up(value: Fraction, decimals: int) -> float:
    """Round a fraction half away from zero (as printed scoring sheets do)."""
    q = Decimal(1).scaleb(-decimals)
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return float(exact.quantize(q, rounding=ROUND_HALF_UP))


def score_instrument(
    inst: Instrument,
    answers: tuple[Any, ...] | None,
    groups: list[tuple[str, Callable[[Mapping[str, Any]], Tri]]],
) -> tuple[dict[str, Any] | None, str | None]:
    """Score one instrument; returns (result, reason it could not be scored)."""
    if answers is None:
        return None, inst.not_given
    missing = sum(1 for a in answers if a is None)
    if missing > inst.max_missing:
        return None, inst.missing_reason
    if inst.method == "count_positive":
        scores = [
            inst.item_scores[i][a] if i in inst.item_scores else int(a)
            for i, a in enumerate(answers, start=1)
        ]
        result: dict[str, Any] = {"total": sum(scores)}
        for name, items in inst.subscales.items():
            result[name] = sum(scores[i - 1] for i in items)
        env = {f"scores.{inst.id}.{k}": v for k, v in result.items()}
        for value, cond in groups:
            if cond(env) is True:
                result["risk"] = value
                break
        return result, None
    answered = [int(a) for a in answers if a is not None]
    if inst.method == "sum":
        return {"score": sum(answered)}, None
    pct = round_half_up(Fraction(sum(answered) * 100, inst.max_item * len(answered)), inst.decimals)
    band = next(b.id for b in inst.bands if pct <= b.up_to)
    return {"percent": pct, "band": band}, None
