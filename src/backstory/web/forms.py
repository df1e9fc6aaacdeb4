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

from backstory.contract import Contract, FieldSpec, Issue
from backstory.contract.spec import InstrumentSpec
from backstory.knowledge.loader import KnowledgeBase, load_knowledge
from backstory.knowledge.schema import Instrument

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


def _instrument(spec: InstrumentSpec, inst: Instrument) -> FormSection:
    """One instrument's fieldset, its items and answers as instruments.yaml words them."""
    fields = []
    for i, item in enumerate(spec.items, start=1):
        name = f"{spec.name}.{i}"
        if item.type == "enum":
            order = {v: n for n, v in enumerate(item.values)}
            answers = sorted(inst.options(i), key=lambda a: order[str(a.value)])
            opts = tuple(Choice(str(a.value), a.label) for a in answers)
        else:
            answers = sorted(inst.options(i), key=lambda a: -int(a.value))
            opts = tuple(Choice(str(a.value), f"{a.label} ({a.value})") for a in answers)
        fields.append(FormField(name, inst.item_text(i), "select", opts, type=str(item.type)))
    every = "all items are needed" if spec.required_all else "unanswered items may be left out"
    intro = f"Leave every item unanswered if it was not used; otherwise {every}."
    return FormSection(
        f"s-{spec.name}", f"{inst.name} ({inst.short})", intro, tuple(fields), True, spec.name
    )


def assessment_form(kb: KnowledgeBase | None = None) -> tuple[FormSection, ...]:
    """Every section of the form, warning signs first (built once per knowledge base)."""
    return _assessment_form(kb or load_knowledge())


@cache
def _assessment_form(kb: KnowledgeBase) -> tuple[FormSection, ...]:
    contract = kb.contract
    essential = [q.field for q in kb.screening.essential]
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
    instruments = {inst.id: inst for inst in kb.instruments.instruments}
    sections += [
        _instrument(spec, instruments[name]) for name, spec in contract.instruments.items()
    ]
    return tuple(sections)


def form_fields(kb: KnowledgeBase | None = None) -> dict[str, FormField]:
    return {f.name: f for s in assessment_form(kb) for f in s.fields}


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
    form: Mapping[str, str], contract: Contract | None = None, kb: KnowledgeBase | None = None
) -> tuple[dict[str, Any], list[Issue]]:
    """The contract JSON for submitted form values, and the problems found on the way.

    A required warning-sign question left without any choice is a problem: skipping one
    has to be the explicit choice "not asked".
    """
    c = contract or (kb or load_knowledge()).contract
    issues: list[Issue] = []
    data: dict[str, Any] = {}
    instruments: dict[str, list[Any]] = {}
    for section in assessment_form(kb):
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
