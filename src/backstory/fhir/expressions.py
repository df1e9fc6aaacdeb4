"""FHIRPath expressions for instrument totals (SDC ``calculatedExpression``), built from tables.

The expressions are generated from instruments.yaml - the scoring table the engine uses - so a
form's live total cannot drift from Backstory's score. Each instrument is a top-level group of
its Questionnaire (linkId ``startback``, ``odi``, ``rmdq``), so a conforming response nests
its answers there and the expressions go straight to them. They use only plain FHIRPath
(``where``, ``select``, ``iif``, ``count``, ``sum``, ``round``) and read answer codes rather
than the SDC ``weight()`` function, which not every engine implements (fhirpathpy does not);
the weight of each code is written into the expression and also put on the answerOption as
``itemWeight``.

Rounding: FHIRPath ``round(1)`` rounds half up, as the ODI rule does. Engines that round on
binary floats could differ only at an exact tie, and the ODI percent 100*s/(5*n) with n of 9
or 10 never lands on one (n=10 gives whole numbers; 20*s/9 has no terminating decimal
unless it is whole); the tests check every possible (sum, answered) pair.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from backstory.contract.spec import InstrumentSpec
from backstory.knowledge.schema import Instrument

# (linkId of the calculated item, key in the report's score dict, FHIR item type)
CalculatedItem = tuple[str, str, str]


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _set(values: Sequence[str]) -> str:
    return "(" + " | ".join(_quote(v) for v in values) + ")"


def answers_of(group: str, link_ids: Sequence[str]) -> str:
    """The answer values of the given items of one top-level group of the response.

    An ``or`` of equalities rather than ``linkId in ('a' | 'b' ...)``: the union builds a
    de-duplicated collection for every item, which made evaluation 10 times slower.
    """
    match = " or ".join(f"linkId = {_quote(i)}" for i in link_ids)
    return f"%resource.item.where(linkId = {_quote(group)}).item.where({match}).answer.value"


def weight_of(weights: Mapping[str, int]) -> str:
    """A ``select`` argument mapping each answer code to its weight (unknown codes: empty)."""
    by_weight: dict[int, list[str]] = {}
    for code, w in weights.items():
        by_weight.setdefault(w, []).append(code)
    expr = "{}"
    for w in sorted(by_weight):
        expr = f"iif(code in {_set(sorted(by_weight[w]))}, {w}, {expr})"
    return expr


def calculated_items(inst: Instrument) -> tuple[CalculatedItem, ...]:
    """The read-only score items an instrument's form carries, in display order."""
    if inst.method == "count_positive":
        return (
            (f"{inst.id}.total", "total", "integer"),
            *((f"{inst.id}.{name}", name, "integer") for name in inst.subscales),
        )
    if inst.method == "sum":
        return ((f"{inst.id}.score", "score", "integer"),)
    return ((f"{inst.id}.percent", "percent", "decimal"),)


def instrument_expressions(
    inst: Instrument, spec: InstrumentSpec, weights: Mapping[str, int]
) -> dict[str, str]:
    """FHIRPath for each calculated item of one instrument, keyed by the item's linkId.

    ``weights`` maps every answer code of the instrument to its score; a code must weigh the
    same on every item (true of all three instruments), so one mapping serves them all.
    A total is empty, exactly as the Python score is ``None``, when more items are missing
    than the instrument allows.
    """
    items = [s.path for s in spec.items]
    every = answers_of(inst.id, items)
    need = spec.length - inst.max_missing
    enough = f"{every}.count() >= {need}"
    w = weight_of(weights)
    out: dict[str, str] = {}
    for link_id, key, _ in calculated_items(inst):
        if inst.method == "count_positive":
            scope = items if key == "total" else [items[i - 1] for i in inst.subscales[key]]
            body = f"{answers_of(inst.id, scope)}.select({w}).sum()"
        elif inst.method == "sum":
            body = f"{every}.select({w}).sum()"
        else:
            body = (
                f"({every}.select({w}).sum() * 100 / ({inst.max_item} * {every}.count()))"
                f".round({inst.decimals})"
            )
        out[link_id] = f"iif({enough}, {body}, {{}})"
    return out
