"""Strict validation of one assessment against the contract.

Nothing partial escapes: either every answer is valid and an :class:`Assessment` is
returned, or :class:`AssessmentError` lists every problem found, in plain words.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from backstory.contract import safejson
from backstory.contract.spec import SCHEMA_ID, Contract, FieldSpec, load_contract
from backstory.contract.suggest import did_you_mean, suggest
from backstory.errors import InputError

MIN_AGE = 16


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem with an assessment: the field it concerns and what is wrong."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class AssessmentError(InputError):
    """An assessment that breaks the contract; ``issues`` lists every problem."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        super().__init__("; ".join(str(i) for i in issues))


@dataclass(frozen=True)
class Assessment:
    """A validated assessment.

    ``answers`` maps dotted paths (``red_flags.fever``, ``age``) to the values given;
    an absent key means "not asked", which is never the same as ``false``.
    Instruments are tuples under their own names (``startback``, ``odi``, ``rmdq``).
    """

    answers: Mapping[str, Any]
    source: Mapping[str, Any]

    @property
    def id(self) -> str | None:
        value = self.answers.get("id")
        return value if isinstance(value, str) else None

    @property
    def age(self) -> int:
        return int(self.answers["age"])

    def get(self, path: str) -> Any:
        """The answer at ``path``, or ``None`` when it was not given."""
        return self.answers.get(path)


class _Pairs(dict[str, Any]):
    """A JSON object that remembers keys given more than once."""

    duplicates: tuple[str, ...] = ()


def _pairs_hook(pairs: list[tuple[str, Any]]) -> _Pairs:
    obj = _Pairs()
    dups: list[str] = []
    for key, value in pairs:
        if key in obj and key not in dups:
            dups.append(key)
        obj[key] = value
    if dups:
        obj.duplicates = tuple(dups)
    return obj


def parse_assessment_json(
    text: str | bytes, contract: Contract | None = None, *, today: _dt.date | None = None
) -> Assessment:
    """Parse JSON text and validate it; duplicate keys are errors, not last-one-wins.

    The text is read by :mod:`backstory.contract.safejson` (size, depth, big-integer and
    surrogate limits), so no input can fail with anything but :class:`AssessmentError`.
    """
    try:
        data = safejson.loads(text, object_pairs_hook=_pairs_hook)
    except safejson.UnsafeJson as exc:
        raise AssessmentError([Issue("", str(exc))]) from None
    return parse_assessment(data, contract, today=today)


def text_problem(value: str, max_length: int | None = None) -> str | None:
    """Why a text answer is refused, or None: it must be non-empty and printable.

    Printable as Python's ``str.isprintable`` means it: no control characters (tabs and
    line breaks included), no format characters (right-to-left overrides, zero-width
    spaces and joiners, the byte-order mark), no separators but the plain space, and no
    unassigned or private-use code points. Such characters can hide or reorder what a
    reader sees, so an id that shows as one thing could be another.
    """
    if value == "":
        return "empty text is not allowed; leave the answer out instead"
    if max_length is not None and len(value) > max_length:
        return f"{len(value)} characters is too long; at most {max_length} are allowed"
    if not value.isprintable():
        bad = next(ch for ch in value if not ch.isprintable())
        return (
            f"holds U+{ord(bad):04X}, a control or invisible character (such as a tab, a line "
            "break, a right-to-left override or a zero-width space); give printable text only"
        )
    return None


def date_bounds(spec: FieldSpec, today: _dt.date | None) -> tuple[str | None, str | None]:
    """The first and last dates (YYYY-MM-DD) a date field allows; None where unbounded.

    The last is ``today`` plus the contract's margin, and unbounded without a ``today``:
    the core has no clock, so the adapter that reads the input says what day it is.
    """
    last = None
    if today is not None and spec.future_days is not None:
        last = (today + _dt.timedelta(days=spec.future_days)).isoformat()
    return spec.earliest, last


def date_problem(spec: FieldSpec, value: str, today: _dt.date | None) -> str | None:
    """Why a date is refused, or None (a real YYYY-MM-DD date within the allowed range)."""
    if not is_iso_date(value):
        return f"{_show(value)} is not allowed; expected a date written YYYY-MM-DD"
    first, last = date_bounds(spec, today)
    # ISO dates of four-digit years sort as text
    if first is not None and value < first:
        return f"{value} is too early: dates before {first} are not accepted"
    if last is not None and value > last:
        return (
            f"{value} is in the future: the latest date accepted is {last} "
            f"(today, {today}, plus {spec.future_days} day)"
        )
    return None


def _check_value(
    spec: FieldSpec, value: Any, where: str, issues: list[Issue], today: _dt.date | None = None
) -> bool:
    t = spec.type
    ok: bool
    if t == "string" and type(value) is str:
        problem = text_problem(value, spec.max_length)
        if problem is not None:
            issues.append(Issue(where, problem))
        return problem is None
    if t == "date" and type(value) is str:
        problem = date_problem(spec, value, today)
        if problem is not None:
            issues.append(Issue(where, problem))
        return problem is None
    if t == "bool":
        ok = type(value) is bool
    elif t == "int":
        # strict, as the contract says: 5.0 is not a whole number answer (nor is "5")
        ok = type(value) is int
    elif t == "number":
        ok = (
            type(value) in (int, float)
            and value == value
            and value
            not in (
                float("inf"),
                float("-inf"),
            )
        )
    elif t == "enum":
        ok = type(value) is str and value in spec.values
    elif t == "string":
        ok = type(value) is str
    else:  # date
        ok = type(value) is str and is_iso_date(value)
    if (
        ok
        and t in ("int", "number")
        and (
            (spec.minimum is not None and value < spec.minimum)
            or (spec.maximum is not None and value > spec.maximum)
        )
    ):
        ok = False
    if not ok:
        msg = f"{_show(value)} is not allowed; expected {spec.describe_allowed()}"
        if t == "enum" and type(value) is str:
            near = suggest(value, spec.values, limit=1)
            if near:
                msg += f' (did you mean "{near[0]}"?)'
        issues.append(Issue(where, msg))
    return ok


_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def is_iso_date(value: str) -> bool:
    """True for a real calendar date written exactly YYYY-MM-DD (no week or ordinal dates)."""
    if not _DATE.match(value):
        return False
    try:
        _dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        return "an object" if isinstance(value, dict) else "a list"
    if isinstance(value, str) and len(value) > 60:
        return json.dumps(value[:40]) + f" (and {len(value) - 40} more characters)"
    return json.dumps(value)


def _unknown_key(key: str, where: str, known: list[str], issues: list[Issue]) -> None:
    near = suggest(key, known)
    hint = did_you_mean(near)
    issues.append(Issue(where, f"unknown question.{hint} Unknown answers are never ignored."))


def _dups(obj: Any, prefix: str, issues: list[Issue]) -> None:
    for key in getattr(obj, "duplicates", ()):
        issues.append(
            Issue(prefix + key, "given more than once in the same object; give each answer once")
        )


def parse_assessment(
    data: Any, contract: Contract | None = None, *, today: _dt.date | None = None
) -> Assessment:
    """Validate an already-parsed JSON object and return the :class:`Assessment`.

    ``today`` is the date of validation, from the adapter's clock: dates after it (plus the
    contract's margin) are refused. Without it only the earliest date is checked.

    Raises:
        AssessmentError: listing every problem; nothing is returned from an invalid input.
    """
    c = contract or load_contract()
    issues: list[Issue] = []
    answers: dict[str, Any] = {}
    if not isinstance(data, Mapping):
        raise AssessmentError([Issue("", "an assessment must be one JSON object")])
    _dups(data, "", issues)
    known_top = [*c.top, *c.groups, *c.instruments]
    for key, value in data.items():
        if key in c.top:
            spec = c.top[key]
            if _check_value(spec, value, key, issues, today):
                answers[key] = value
        elif key in c.groups:
            _group(c, key, value, answers, issues, today)
        elif key in c.instruments:
            _instrument(c, key, value, answers, issues)
        else:
            _unknown_key(key, key, known_top, issues)
    if "age" not in data:
        issues.append(Issue("age", "required: give the age in years (16 to 110)"))
    elif type(data["age"]) is int and data["age"] < MIN_AGE:
        # replace the generic range message with the reason, which matters more
        issues[:] = [i for i in issues if i.field != "age"]
        issues.append(
            Issue(
                "age",
                f"{data['age']} is under {MIN_AGE}: Backstory is for people aged {MIN_AGE} "
                "or over, because back pain in children and younger teenagers needs a "
                "different assessment",
            )
        )
    schema = answers.get("schema")
    if schema is not None and schema != SCHEMA_ID:
        issues.append(Issue("schema", f'{_show(schema)} is not supported; expected "{SCHEMA_ID}"'))
    for rule in c.at_most:
        a, b = answers.get(rule.field), answers.get(rule.limit)
        if a is not None and b is not None and a > b:
            issues.append(Issue(rule.field, f"{a} is more than {rule.limit} ({b}): {rule.message}"))
    if issues:
        raise AssessmentError(issues)
    return Assessment(answers=answers, source=data)


def _group(
    c: Contract,
    name: str,
    value: Any,
    answers: dict[str, Any],
    issues: list[Issue],
    today: _dt.date | None,
) -> None:
    fields = c.groups[name]
    if not isinstance(value, Mapping):
        issues.append(Issue(name, f"{_show(value)} is not allowed; expected an object of answers"))
        return
    _dups(value, name + ".", issues)
    for key, v in value.items():
        spec = fields.get(key)
        if spec is None:
            _unknown_key(key, f"{name}.{key}", list(fields), issues)
            continue
        if v is None:
            issues.append(
                Issue(spec.path, "null is not allowed; leave the question out when not asked")
            )
            continue
        if _check_value(spec, v, spec.path, issues, today):
            answers[spec.path] = v


def _instrument(
    c: Contract, name: str, value: Any, answers: dict[str, Any], issues: list[Issue]
) -> None:
    inst = c.instruments[name]
    if not isinstance(value, list):
        issues.append(
            Issue(name, f"{_show(value)} is not allowed; expected a list of {inst.length} answers")
        )
        return
    if len(value) != inst.length:
        issues.append(Issue(name, f"expected {inst.length} answers, got {len(value)}"))
        return
    ok = True
    for i, (spec, v) in enumerate(zip(inst.items, value, strict=True), start=1):
        where = f"{name}[{i}]"
        if v is None:
            if inst.required_all:
                issues.append(Issue(where, f"missing: all {inst.length} answers are required"))
                ok = False
            continue
        ok = _check_value(spec, v, where, issues) and ok
    if ok:
        answers[name] = tuple(value)
