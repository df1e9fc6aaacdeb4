"""The clinician's assessment form, generated from the contract so it can never drift from it.

Warning signs come first and can never be skipped silently: each is a required choice of
yes, no or *not asked*, and "not asked" leaves the answer out (unknown is never "no"). The
rest of the contract follows in collapsible sections, instruments as fieldsets. Submitted
values are turned back into contract JSON here and validated by the contract itself, whose
problems are shown next to the fields they concern.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from backstory.contract import Contract, FieldSpec, Issue, load_contract
from backstory.contract.spec import InstrumentSpec
from backstory.knowledge.loader import load_knowledge

NOT_ASKED = "not_asked"
Kind = Literal["radio", "select", "number", "date", "text"]

GROUP_TITLES = {
    "history": "This episode and earlier back pain",
    "pain": "Where it hurts and how much",
    "movement": "What makes the pain better or worse",
    "neuro": "Leg nerve symptoms",
    "red_flags": "Warning signs",
    "inflammatory": "Inflammatory features",
    "exam": "Examination findings",
    "treatment": "Treatment so far",
    "beliefs": "Beliefs, confidence and work",
}
"""Section headings in the project's own words (a test checks every group has one)."""

INSTRUMENT_TITLES = {
    "startback": "STarT Back (Keele) answers",
    "odi": "Oswestry Disability Index (ODI) section scores",
    "rmdq": "Roland-Morris Disability Questionnaire (RMDQ) answers",
}
INSTRUMENT_INTROS = {
    "startback": "Items 1 to 8 are agree or disagree; item 9 is how bothersome the pain was.",
    "odi": "Each of the ten sections is scored from 0 to 5.",
    "rmdq": "Each of the 24 statements applies or does not apply today.",
}
"""What each instrument's items hold, in the project's own words (never the wording of the
questionnaire; the contract's ``meaning`` is for developers)."""
INSTRUMENT_CHOICES: dict[str, tuple[tuple[str, str], ...]] = {
    "startback": (("1", "Agree (1)"), ("0", "Disagree (0)")),
    "rmdq": (("1", "Applies (1)"), ("0", "Does not apply (0)")),
}


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class FormField:
    """One input: its name is the contract path (``pain.back``) or ``instrument.N``."""

    name: str
    label: str
    kind: Kind
    choices: tuple[Choice, ...] = ()
    required: bool = False
    minimum: str | None = None
    maximum: str | None = None
    step: str | None = None
    hint: str = ""
    """What the field accepts, in words (never its key), or nothing."""
    type: str = "string"

    @property
    def id(self) -> str:
        return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.name)


@dataclass(frozen=True, slots=True)
class FormSection:
    id: str
    title: str
    intro: str
    fields: tuple[FormField, ...]
    collapsible: bool
    instrument: str | None = None


def _label(spec: FieldSpec) -> str:
    text = spec.meaning or spec.path
    return text[:1].upper() + text[1:]


def _num(x: float | None) -> str | None:
    if x is None:
        return None
    return str(int(x)) if float(x).is_integer() else str(x)


def _words(value: str) -> str:
    return value.replace("_", " ")


def _field(spec: FieldSpec, *, warning: bool) -> FormField:
    hint = ""
    if spec.type == "bool":
        choices = (Choice("yes", "Yes"), Choice("no", "No"), Choice(NOT_ASKED, "Not asked"))
        return FormField(spec.path, _label(spec), "radio", choices, warning, hint=hint, type="bool")
    if spec.type == "enum":
        opts = tuple(Choice(v, _words(v)) for v in spec.values)
        if warning:
            return FormField(
                spec.path,
                _label(spec),
                "radio",
                (*opts, Choice(NOT_ASKED, "Not asked")),
                True,
                hint=hint,
                type="enum",
            )
        return FormField(spec.path, _label(spec), "select", opts, hint=hint, type="enum")
    if spec.type in ("int", "number"):
        return FormField(
            spec.path,
            _label(spec),
            "number",
            required=spec.required,
            minimum=_num(spec.minimum),
            maximum=_num(spec.maximum),
            step="1" if spec.type == "int" else "any",
            hint=spec.describe_allowed()[:1].upper() + spec.describe_allowed()[1:],
            type=spec.type,
        )
    if spec.type == "date":
        return FormField(spec.path, _label(spec), "date", hint=hint, type="date")
    return FormField(spec.path, _label(spec), "text", hint=hint, type="string")


def _instrument(inst: InstrumentSpec) -> FormSection:
    fields = []
    for i, spec in enumerate(inst.items, start=1):
        name = f"{inst.name}.{i}"
        label = f"Item {i}"
        if spec.type == "enum":
            opts = tuple(Choice(v, _words(v)) for v in spec.values)
            fields.append(FormField(name, label, "select", opts, type="enum"))
            continue
        low, high = int(spec.minimum or 0), int(spec.maximum or 0)
        pairs = INSTRUMENT_CHOICES.get(inst.name) or tuple(
            (str(v), str(v)) for v in range(low, high + 1)
        )
        opts = tuple(Choice(v, text) for v, text in pairs)
        fields.append(FormField(name, label, "select", opts, type="int"))
    every = "all items are needed" if inst.required_all else "unanswered items may be left out"
    intro = (
        f"{INSTRUMENT_INTROS.get(inst.name, '')} Leave every item unanswered if it was not "
        f"used; otherwise {every}."
    ).strip()
    return FormSection(
        f"s-{inst.name}",
        INSTRUMENT_TITLES.get(inst.name, inst.name),
        intro,
        tuple(fields),
        True,
        inst.name,
    )


@cache
def assessment_form() -> tuple[FormSection, ...]:
    """Every section of the form, warning signs first (built once from the contract)."""
    contract = load_contract()
    essential = [q.field for q in load_knowledge().screening.essential]
    warning_paths = list(contract.groups["red_flags"].values())
    warning_paths += [contract.fields[p] for p in essential if not p.startswith("red_flags.")]
    warned = {s.path for s in warning_paths}
    sections = [
        FormSection(
            "s-warning",
            "Warning signs",
            "Answer every warning-sign question. Choose \u201cnot asked\u201d when a question "
            "was not asked: it is then reported as unknown, never as \u201cno\u201d.",
            tuple(_field(s, warning=True) for s in warning_paths),
            False,
        ),
        FormSection(
            "s-about",
            "About this assessment",
            "Age is required; the date defaults to today.",
            tuple(
                _field(spec, warning=False) for key, spec in contract.top.items() if key != "schema"
            ),
            False,
        ),
    ]
    for group, specs in contract.groups.items():
        rest = [s for s in specs.values() if s.path not in warned]
        if not rest:
            continue
        sections.append(
            FormSection(
                f"s-{group}",
                GROUP_TITLES.get(group, _words(group).capitalize()),
                "",
                tuple(_field(s, warning=False) for s in rest),
                True,
            )
        )
    sections += [_instrument(inst) for inst in contract.instruments.values()]
    return tuple(sections)


def form_fields() -> dict[str, FormField]:
    return {f.name: f for s in assessment_form() for f in s.fields}


def _parse(field: FormField, raw: str, issues: list[Issue]) -> Any:
    """A submitted value as JSON, or None when not given (problems go to ``issues``)."""
    value = raw.strip()
    if value in ("", NOT_ASKED):
        return None
    if field.type == "bool":
        if value in ("yes", "no"):
            return value == "yes"
        issues.append(Issue(field.name, "choose yes, no or not asked"))
        return None
    if field.type == "int":
        if re.fullmatch(r"[+-]?\d{1,9}", value):
            return int(value)
        issues.append(Issue(field.name, "enter a whole number"))
        return None
    if field.type == "number":
        try:
            number = float(value)
        except ValueError:
            issues.append(Issue(field.name, "enter a number"))
            return None
        if number != number or number in (float("inf"), float("-inf")):
            issues.append(Issue(field.name, "enter a number"))
            return None
        return int(number) if number.is_integer() else number
    return value


def form_to_assessment(
    form: Mapping[str, str], contract: Contract | None = None
) -> tuple[dict[str, Any], list[Issue]]:
    """The contract JSON for submitted form values, and the problems found on the way.

    A required warning-sign question left without any choice is a problem: skipping one
    has to be the explicit choice "not asked".
    """
    c = contract or load_contract()
    issues: list[Issue] = []
    data: dict[str, Any] = {}
    instruments: dict[str, list[Any]] = {}
    for section in assessment_form():
        for field in section.fields:
            raw = form.get(field.name)
            if raw is None and field.required and field.kind == "radio":
                issues.append(Issue(field.name, "choose yes, no or not asked"))
                continue
            value = _parse(field, raw or "", issues)
            if section.instrument is not None:
                instruments.setdefault(section.instrument, []).append(value)
                continue
            if value is None:
                continue
            head, _, tail = field.name.partition(".")
            if tail and head in c.groups:
                data.setdefault(head, {})[tail] = value
            else:
                data[field.name] = value
    for name, values in instruments.items():
        if any(v is not None for v in values):
            data[name] = values
    return data, issues


_INDEXED = re.compile(r"^([a-z_]+)\[(\d+)\]$")


def field_of(issue: Issue) -> str:
    """The form field an issue belongs to (``startback[3]`` is ``startback.3``)."""
    m = _INDEXED.match(issue.field)
    return f"{m.group(1)}.{m.group(2)}" if m else issue.field


def issues_by_field(issues: list[Issue]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for issue in issues:
        out.setdefault(field_of(issue), []).append(issue.message)
    return out


def values_of(data: Mapping[str, Any]) -> dict[str, str]:
    """Form values for stored contract JSON (to show a form filled in again)."""
    out: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            for sub, v in value.items():
                out[f"{key}.{sub}"] = _show(v)
        elif isinstance(value, list):
            for i, v in enumerate(value, start=1):
                if v is not None:
                    out[f"{key}.{i}"] = _show(v)
        else:
            out[key] = _show(value)
    return out


def _show(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)
