"""Every threshold and every rule in the core knowledge, and edited copies of it.

A *knob* is one thing in the knowledge whose change alters behaviour: a number a condition
compares an answer with (``pain.back gte 7``), the N of ``at_least N of``, a pattern's
cut-offs, an instrument band or missing-item limit, a red-flag rule's level, and each rule,
recommendation, contradiction, cap and pathway criterion as a whole. Each knob has
*mutations*: the threshold one unit either side, the N one either side, the level one step
lower (one higher for the lowest), the rule removed. :func:`branch_knobs` adds each warning
sign of a red-flag rule (a part of an ``any`` or ``at_least ... of``), dropped;
:func:`outcome_knobs` and :func:`explanation_knobs` the outcome rules' thresholds and the
numbers from which an answer is shown as a warning sign found.

The test suite (tests/core/test_boundaries.py) applies every mutation to an in-memory copy of
the knowledge and checks that at least one behavioural case (tests/data/boundaries.yaml and
the vignettes) then fails: a threshold changed by one unit must fail a behavioural test, not
only the fingerprint. Knobs are found by walking the parsed YAML generically, so a threshold
added to any core file is listed without any change here.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

NUMERIC_OPS = ("gt", "gte", "lt", "lte")
"""Comparison operators whose literal is a threshold."""
EQUALITY_OPS = ("is", "is_not")
"""Equality operators; a whole-number literal on a numeric field is a threshold too."""

_LEVEL_DOWN = {"emergency": "urgent", "urgent": "soon", "soon": "urgent"}

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Mutation:
    """One edit of one knob: ``describe`` says in words what changed."""

    knob: str
    describe: str
    path: Path
    value: Any
    remove: bool = False


@dataclass(frozen=True, slots=True)
class Knob:
    """One threshold or rule, named ``<file>/<place>: <what>``, with its mutations."""

    id: str
    kind: str
    where: str
    field: str | None
    mutations: tuple[Mutation, ...]
    hint: str


def _is_number(v: Any) -> bool:
    return type(v) in (int, float)


_CONDITION_KEYS = frozenset(
    {"when", "all", "any", "of", "not", "true_when", "false_when", "applies_when"}
)


def _walk(node: Any, path: Path, where: str) -> Iterator[tuple[Mapping[str, Any], Path, str]]:
    """Every mapping in a parsed file with its path and a readable place name.

    The place is the file and the ids of the items it sits in (``red_flags.yaml/RF-X``,
    ``patterns.yaml/sacroiliac/caps[0]``); the inside of a condition adds nothing.
    """
    if isinstance(node, Mapping):
        yield node, path, where
        for key, value in node.items():
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, Mapping) and isinstance(item.get("id"), str):
                        here = f"{where}/{item['id']}"
                    elif key in _CONDITION_KEYS:
                        here = where
                    else:
                        here = f"{where}/{key}[{i}]"
                    yield from _walk(item, (*path, key, i), here)
            elif isinstance(value, Mapping):
                yield from _walk(value, (*path, key), where)


def _at_past(op: str, value: Any) -> tuple[Any, Any]:
    """The value where a comparison just holds, and the one a unit past where it does not."""
    if op == "gt":
        return value + 1, value
    if op == "lt":
        return value - 1, value
    if op == "lte":
        return value, value + 1
    return value, (value - 1 if op == "gte" else value + 1)


def _condition_knobs(raw: Mapping[str, Any], numeric: set[str]) -> Iterator[Knob]:
    for name, data in raw.items():
        if name == "manifest.yaml":
            continue
        for node, path, where in _walk(data, (name,), name):
            field = node.get("field")
            if isinstance(field, str):
                for op in (*NUMERIC_OPS, *EQUALITY_OPS):
                    value: Any = node.get(op)
                    if op not in node or not _is_number(value):
                        continue
                    if op in EQUALITY_OPS and field not in numeric:
                        continue
                    what = f"{field} {op} {value}"
                    kid = f"{where}: {what}"
                    muts = tuple(
                        Mutation(kid, f"{field} {op} {value + d}", (*path, op), value + d)
                        for d in (1, -1)
                    )
                    at, past = _at_past(op, value)
                    yield Knob(
                        kid,
                        "threshold",
                        where,
                        field,
                        muts,
                        f"a pair with `field: {field}, at: {at}, past: {past}` whose "
                        f"at_expect shows this test holding and past_expect shows it not",
                    )
            if set(node) == {"at_least", "of"} and type(node["at_least"]) is int:
                n, total = node["at_least"], len(node["of"])
                kid = f"{where}: at_least {n} of {total}"
                muts = tuple(
                    Mutation(kid, f"at_least {n + d} of {total}", (*path, "at_least"), n + d)
                    for d in (1, -1)
                    if 1 <= n + d <= total
                )
                yield Knob(
                    kid,
                    "count",
                    where,
                    None,
                    muts,
                    f"a pair of cases with exactly {n} of the listed features (it holds) and "
                    f"{n - 1} (it does not)",
                )


def _cut_off_hint(pattern: str, attr: str, value: int) -> str:
    if attr == "min_answered":
        return (
            f"two cases for {pattern}: exactly {value} features answered (a fit) and "
            f"{value - 1} (expect: {{fit: {{{pattern}: unknown}}}})"
        )
    fits = ("possible", "unlikely") if attr == "possible_at" else ("strong", "possible")
    return (
        f"a pair for {pattern} scoring exactly {value} (expect: {{fit: {{{pattern}: {fits[0]}}}}}) "
        f"and {value - 1} ({fits[1]})"
    )


def _attribute_knobs(raw: Mapping[str, Any]) -> Iterator[Knob]:
    pats = (raw.get("patterns.yaml") or {}).get("patterns", [])
    for i, p in enumerate(pats):
        for attr in ("min_answered", "possible_at", "strong_at"):
            value = p.get(attr)
            kid = f"patterns.yaml/{p['id']}: {attr} {value}"
            path: Path = ("patterns.yaml", "patterns", i, attr)
            yield Knob(
                kid,
                "cut-off",
                f"patterns.yaml/{p['id']}",
                None,
                tuple(Mutation(kid, f"{attr} {value + d}", path, value + d) for d in (1, -1)),
                _cut_off_hint(p["id"], attr, value),
            )
    insts = (raw.get("instruments.yaml") or {}).get("instruments", [])
    for i, inst in enumerate(insts):
        bands = inst.get("bands", [])
        for j, band in enumerate(bands[:-1]):  # the last band is the scale's maximum
            value = band["up_to"]
            kid = f"instruments.yaml/{inst['id']}/bands/{band['id']}: up_to {value}"
            path = ("instruments.yaml", "instruments", i, "bands", j, "up_to")
            yield Knob(
                kid,
                "band",
                f"instruments.yaml/{inst['id']}",
                None,
                tuple(Mutation(kid, f"up_to {value + d}", path, value + d) for d in (1, -1)),
                f"a pair of {inst['id']} cases scoring at {value} and just above",
            )
        if "max_missing" in inst:
            value = inst["max_missing"]
            kid = f"instruments.yaml/{inst['id']}: max_missing {value}"
            path = ("instruments.yaml", "instruments", i, "max_missing")
            yield Knob(
                kid,
                "cut-off",
                f"instruments.yaml/{inst['id']}",
                None,
                tuple(
                    Mutation(kid, f"max_missing {value + d}", path, value + d)
                    for d in (1, -1)
                    if value + d >= 0
                ),
                f"a pair of {inst['id']} cases with {value} and {value + 1} items unanswered",
            )


def _removal(kid: str, kind: str, where: str, path: Path, hint: str) -> Knob:
    return Knob(kid, kind, where, None, (Mutation(kid, "removed", path, None, remove=True),), hint)


def _listed(rec: Mapping[str, Any]) -> str:
    return "not_recommended" if rec.get("kind") == "do_not_offer" else "recommended"


def _rule_knobs(raw: Mapping[str, Any]) -> Iterator[Knob]:
    for i, r in enumerate((raw.get("red_flags.yaml") or {}).get("rules", [])):
        where = f"red_flags.yaml/{r['id']}"
        path: Path = ("red_flags.yaml", "rules", i)
        yield _removal(
            f"{where}: rule",
            "rule",
            where,
            path,
            f"a case or vignette where {r['id']} fires (expect: {{fired: [{r['id']}]}})",
        )
        lower = _LEVEL_DOWN[r["level"]]
        kid = f"{where}: level {r['level']}"
        yield Knob(
            kid,
            "level",
            where,
            None,
            (Mutation(kid, f"level {lower}", (*path, "level"), lower),),
            f"a case where {r['id']} alone sets the level (expect: {{level: {r['level']}}})",
        )
    for i, c in enumerate((raw.get("contradictions.yaml") or {}).get("contradictions", [])):
        where = f"contradictions.yaml/{c['id']}"
        yield _removal(
            f"{where}: rule",
            "contradiction",
            where,
            ("contradictions.yaml", "contradictions", i),
            f"a case where {c['id']} applies (expect: {{has_warnings: [{c['id']}]}})",
        )
    mg = raw.get("management.yaml") or {}
    for i, rec in enumerate(mg.get("recommendations", [])):
        where = f"management.yaml/{rec['id']}"
        yield _removal(
            f"{where}: rule",
            "recommendation",
            where,
            ("management.yaml", "recommendations", i),
            f"a case listing {rec['id']} (expect: {{{_listed(rec)}: [{rec['id']}]}})",
        )
    for i, pw in enumerate(mg.get("pathways", [])):
        for j, cr in enumerate(pw.get("criteria", [])):
            where = f"management.yaml/{pw['id']}/{cr['id']}"
            yield _removal(
                f"{where}: criterion",
                "criterion",
                where,
                ("management.yaml", "pathways", i, "criteria", j),
                f"a case where only criterion {cr['id']} is not met (expect: {{pathway: "
                f"{{{pw['id']}: not_indicated}}, criteria: {{{pw['id']}/{cr['id']}: false}}}})",
            )
    for i, p in enumerate((raw.get("patterns.yaml") or {}).get("patterns", [])):
        for j, _cap in enumerate(p.get("caps", [])):
            where = f"patterns.yaml/{p['id']}/caps[{j}]"
            yield _removal(
                f"{where}: cap",
                "cap",
                where,
                ("patterns.yaml", "patterns", i, "caps", j),
                f"a case where this cap holds and the score alone would give a higher fit "
                f"(expect: {{fit: {{{p['id']}: <the capped fit>}}}})",
            )


def knobs(raw: Mapping[str, Any], numeric_fields: set[str]) -> list[Knob]:
    """Every threshold and rule in the parsed core files (see :func:`loader.read_core_files`).

    ``numeric_fields`` are the int and number fields (contract and derived): an ``is`` test
    on one of them with a number is a threshold (``exam.sij_tests_done is 6``).
    """
    out = [
        *_condition_knobs(raw, numeric_fields),
        *_attribute_knobs(raw),
        *_rule_knobs(raw),
    ]
    seen: dict[str, int] = {}
    unique: list[Knob] = []
    for k in out:
        n = seen.get(k.id, 0) + 1
        seen[k.id] = n
        if n > 1:  # the same test twice in one place: number the second
            kid = f"{k.id} #{n}"
            muts = tuple(Mutation(kid, m.describe, m.path, m.value, m.remove) for m in k.mutations)
            k = Knob(kid, k.kind, k.where, k.field, muts, k.hint)
        unique.append(k)
    return unique


def mutate(raw: Mapping[str, Any], mutation: Mutation) -> dict[str, Any]:
    """A deep copy of the parsed files with one mutation applied."""
    out = copy.deepcopy(dict(raw))
    node: Any = out
    for key in mutation.path[:-1]:
        node = node[key]
    last = mutation.path[-1]
    if mutation.remove:
        del node[last]
    else:
        node[last] = mutation.value
    return out


_OUTCOME_NUMBERS = {
    "absolute": 1,
    "relative": 0.01,
    "improvement_evaluable_from": 1,
    "at_most": 1,
    "after_days": 1,
}
"""The outcome rules' thresholds and the unit each is moved by (a share moves by 1%)."""


def outcome_knobs(raw: Mapping[str, Any], name: str = "outcomes.yaml") -> list[Knob]:
    """Every threshold in the parsed outcome rules (``raw`` is the file's content).

    Mutation paths start with ``name``, so :func:`mutate` applies them to ``{name: raw}``.
    """
    out: list[Knob] = []
    for node, path, where in _walk(raw, (name,), name):
        for key, unit in _OUTCOME_NUMBERS.items():
            value: Any = node.get(key)
            if not _is_number(value):
                continue
            if isinstance(node.get("measure"), str):
                place = f"{name}/recovery/{node['measure']}"
            elif key == "after_days":
                place = f"{name}/reassess"
            else:
                place = where
            kid = f"{place}: {key} {value}"
            muts = tuple(
                Mutation(kid, f"{key} {round(value + d, 6)}", (*path, key), round(value + d, 6))
                for d in (unit, -unit)
            )
            out.append(
                Knob(
                    kid,
                    "outcome",
                    place,
                    None,
                    muts,
                    f"an outcome pair under `outcomes:` with the value at {value} and one unit "
                    "past it",
                )
            )
    return out


def explanation_knobs(raw: Mapping[str, Any], name: str = "explanations.yaml") -> list[Knob]:
    """Every number that decides whether an answer is shown as a warning sign found.

    ``raw`` is the parsed explanations file; its ``answers`` entries may give ``found`` words
    for answers at least ``min`` or at most ``max``.
    """
    out: list[Knob] = []
    for i, entry in enumerate(raw.get("answers") or []):
        for j, found in enumerate(entry.get("found") or []):
            for key in ("min", "max"):
                value: Any = found.get(key)
                if not _is_number(value):
                    continue
                field = entry["field"]
                kid = f"{name}/answers/{field}: {key} {value}"
                path: Path = (name, "answers", i, "found", j, key)
                muts = tuple(Mutation(kid, f"{key} {value + d}", path, value + d) for d in (1, -1))
                at, past = (value, value - 1) if key == "min" else (value, value + 1)
                out.append(
                    Knob(
                        kid,
                        "wording",
                        f"{name}/answers/{field}",
                        field,
                        muts,
                        f"a pair under `explanations:` with `field: {field}, at: {at}, "
                        f"past: {past}` (the words are shown at, not past)",
                    )
                )
    return out


def _short(part: Any) -> str:
    """A condition part in a few words, for a knob's name."""
    if isinstance(part, Mapping):
        if "fact" in part:
            return f"fact {part['fact']}"
        if "field" in part:
            ops = [k for k in part if k not in ("field", "unknown")]
            return " ".join([part["field"], *(f"{op} {part[op]}" for op in ops)])
        key = next(iter(part))
        inner = part[key]
        if isinstance(inner, list):
            return f"{key} ({', '.join(_short(p) for p in inner)})"
        return f"{key} ({_short(inner)})"
    return str(part)


def _facts_used_by(raw: Mapping[str, Any], conditions: list[Any]) -> set[str]:
    facts = {f["id"]: f for f in (raw.get("facts.yaml") or {}).get("facts", [])}
    seen: set[str] = set()
    todo = list(conditions)
    while todo:
        for node, _path, _where in _walk(todo.pop(), (), ""):
            name = node.get("fact")
            if isinstance(name, str) and name in facts and name not in seen:
                seen.add(name)
                todo.extend(facts[name].get(k) for k in ("when", "true_when", "false_when"))
    return seen


def branch_knobs(raw: Mapping[str, Any]) -> list[Knob]:
    """Every way a rule can be met: each part of an ``any`` or ``at_least ... of``.

    Dropping one part narrows the rule (a warning sign that no longer counts, a sign of nerve
    root pain that no longer makes pain radicular), so each part needs a case where it alone
    makes the rule hold. Covers the red-flag rules, the classification, the recommendations
    and pathways, and the facts they use (pattern features are weighed by points instead).
    """
    rules = (raw.get("red_flags.yaml") or {}).get("rules", [])
    cats = (raw.get("classification.yaml") or {}).get("precedence", [])
    mg = raw.get("management.yaml") or {}
    recs = mg.get("recommendations", [])
    pws = mg.get("pathways", [])
    roots: list[tuple[Any, Path, str]] = [
        (r, ("red_flags.yaml", "rules", i), f"red_flags.yaml/{r['id']}")
        for i, r in enumerate(rules)
    ]
    roots += [
        (c, ("classification.yaml", "precedence", i), f"classification.yaml/{c['id']}")
        for i, c in enumerate(cats)
        if c.get("when") is not None
    ]
    roots += [
        (r, ("management.yaml", "recommendations", i), f"management.yaml/{r['id']}")
        for i, r in enumerate(recs)
    ]
    roots += [
        (p, ("management.yaml", "pathways", i), f"management.yaml/{p['id']}")
        for i, p in enumerate(pws)
    ]
    used = _facts_used_by(raw, [root for root, _, _ in roots])
    for i, f in enumerate((raw.get("facts.yaml") or {}).get("facts", [])):
        if f.get("id") in used:
            roots.append((f, ("facts.yaml", "facts", i), f"facts.yaml/{f['id']}"))
    out: list[Knob] = []
    for root, base, where in roots:
        for node, path, _ in _walk(root, base, where):
            for key in ("any", "of"):
                parts = node.get(key)
                if not isinstance(parts, list) or len(parts) < 2:
                    continue
                if key == "of" and len(parts) - 1 < node.get("at_least", 1):
                    continue
                for j, part in enumerate(parts):
                    kid = f"{where}: {key}[{j}] {_short(part)}"
                    out.append(
                        Knob(
                            kid,
                            "branch",
                            where,
                            None,
                            (Mutation(kid, "dropped", (*path, key, j), None, remove=True),),
                            f"a case where `{_short(part)}` is what makes the rule fire "
                            "(the other parts not met), expecting it to fire",
                        )
                    )
    return out
