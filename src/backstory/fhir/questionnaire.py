"""FHIR R4 Questionnaires and CodeSystems generated from the contract, scoring tables and fhir.yaml.

Nothing here is written by hand: every item comes from a contract field (its linkId is the
contract path, its label the contract's own ``meaning``), every answer weight from
instruments.yaml and every total from :mod:`backstory.fhir.expressions`. The forms therefore
change exactly when the contract or the knowledge does, and the questionnaires' copyrighted
wording is never reproduced - items carry neutral labels and a topic in the project's words.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from backstory.contract.spec import SCHEMA_ID, Contract, FieldSpec
from backstory.fhir.codes import FhirTable, load_table
from backstory.fhir.expressions import calculated_items, instrument_expressions
from backstory.knowledge.loader import KnowledgeBase, load_knowledge
from backstory.knowledge.schema import Instrument

ITEM_WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
CALCULATED = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
HIDDEN = "http://hl7.org/fhir/StructureDefinition/questionnaire-hidden"

FORMS = ("assessment", "intake")
"""``assessment`` is the intake plus every instrument: the form a whole assessment answers;
each instrument of instruments.yaml also has a Questionnaire of its own, named by its id."""

QUESTIONNAIRES = (*FORMS, "startback", "odi", "rmdq")
"""The Questionnaires of the public contract's instruments; :func:`questionnaire_names` gives
every one of a knowledge base (an instrument added to the knowledge included)."""

_FHIR_TYPE = {
    "bool": "boolean",
    "int": "integer",
    "number": "decimal",
    "enum": "choice",
    "date": "date",
    "string": "string",
}


@dataclass(frozen=True, slots=True)
class Option:
    """One answer option: the contract value, its code and display, and its score weight."""

    value: Any
    code: str
    display: str
    weight: int | None = None


@dataclass(frozen=True, slots=True)
class Question:
    """One answerable item: a contract field or an instrument item."""

    link_id: str
    text: str
    spec: FieldSpec
    fhir_type: str
    options: tuple[Option, ...] = ()
    instrument: str | None = None
    index: int | None = None

    def option_for_code(self, code: str) -> Option | None:
        return next((o for o in self.options if o.code == code), None)

    def option_for_value(self, value: Any) -> Option | None:
        return next(
            (o for o in self.options if o.value == value and type(o.value) is type(value)), None
        )


@dataclass(frozen=True, slots=True)
class Calculated:
    """A read-only score item with its FHIRPath expression."""

    link_id: str
    text: str
    instrument: str
    key: str
    fhir_type: str
    expression: str


@dataclass(frozen=True)
class Catalogue:
    """Every item of the Backstory forms, keyed by linkId, with the layout of the groups."""

    version: str
    contract: Contract
    table: FhirTable
    questions: dict[str, Question]
    calculated: dict[str, Calculated]
    top: tuple[str, ...]
    groups: dict[str, tuple[str, ...]]
    group_text: dict[str, str]
    instruments: dict[str, Instrument]

    @property
    def group_ids(self) -> tuple[str, ...]:
        return tuple(self.groups)

    def answer_codes(self) -> dict[str, str]:
        """Every answer code of the answers code system with its display."""
        out: dict[str, str] = {}
        for q in self.questions.values():
            for o in q.options:
                if out.setdefault(o.code, o.display) != o.display:
                    raise ValueError(f"answer code {o.code!r} has two displays")
        return out


def label(meaning: str) -> str:
    """A short item label from the contract's own meaning text (first letter capitalised)."""
    return meaning[:1].upper() + meaning[1:] if meaning else meaning


def _display(value: str) -> str:
    return label(value.replace("_", " "))


def _field_question(spec: FieldSpec) -> Question:
    options: tuple[Option, ...] = ()
    if spec.type == "enum":
        options = tuple(Option(v, v, _display(v)) for v in spec.values)
    return Question(spec.path, label(spec.meaning), spec, _FHIR_TYPE[spec.type], options)


def _instrument_questions(inst: Instrument, contract: Contract) -> tuple[Question, ...]:
    spec = contract.instruments[inst.id]
    out: list[Question] = []
    for i, item in enumerate(spec.items, start=1):
        options = tuple(
            Option(a.value, a.answer_code, a.label, inst.item_score(i, a.value))
            for a in sorted(inst.options(i), key=_answer_order(item))
        )
        out.append(Question(item.path, inst.item_text(i), item, "choice", options, inst.id, i))
    return tuple(out)


def _answer_order(item: FieldSpec) -> Any:
    """Number answers from low to high, text answers in the contract's order."""
    if item.type == "enum":
        return lambda a: item.values.index(str(a.value))
    return lambda a: int(a.value)


_CALC_TEXT = {
    "total": "Total score (calculated)",
    "score": "Total score (calculated, only when every item is answered)",
    "percent": "Percent of the answered maximum (calculated)",
}


@cache
def _catalogue(kb: KnowledgeBase) -> Catalogue:
    contract = kb.contract
    table = load_table()
    questions: dict[str, Question] = {}
    top = tuple(contract.top)
    for spec in contract.top.values():
        questions[spec.path] = _field_question(spec)
    groups: dict[str, tuple[str, ...]] = {}
    group_text: dict[str, str] = {}
    for gname, fields in contract.groups.items():
        groups[gname] = tuple(spec.path for spec in fields.values())
        group_text[gname] = table.group_labels[gname]
        for spec in fields.values():
            questions[spec.path] = _field_question(spec)
    calculated: dict[str, Calculated] = {}
    instruments: dict[str, Instrument] = {i.id: i for i in kb.instruments.instruments}
    for name in contract.instruments:
        inst = instruments[name]
        qs = _instrument_questions(inst, contract)
        weights: dict[str, int] = {}
        for q in qs:
            for o in q.options:
                assert o.weight is not None
                if weights.setdefault(o.code, o.weight) != o.weight:
                    raise ValueError(f"{name}: answer {o.code!r} weighs differently on two items")
        exprs = instrument_expressions(inst, contract.instruments[name], weights)
        calc = [
            Calculated(
                link_id,
                _CALC_TEXT.get(key, f"{label(key)} subscale score (calculated)"),
                name,
                key,
                ftype,
                exprs[link_id],
            )
            for link_id, key, ftype in calculated_items(inst)
        ]
        groups[name] = tuple(q.link_id for q in qs) + tuple(c.link_id for c in calc)
        group_text[name] = inst.name
        questions.update((q.link_id, q) for q in qs)
        calculated.update((c.link_id, c) for c in calc)
    return Catalogue(
        version=kb.version,
        contract=contract,
        table=table,
        questions=questions,
        calculated=calculated,
        top=top,
        groups=groups,
        group_text=group_text,
        instruments=instruments,
    )


def catalogue(kb: KnowledgeBase | None = None) -> Catalogue:
    """The item catalogue for the given (or bundled) knowledge."""
    return _catalogue(kb or load_knowledge())


def questionnaire_url(name: str, table: FhirTable | None = None) -> str:
    """The canonical URL of one Backstory Questionnaire."""
    return f"{(table or load_table()).canonical}/Questionnaire/{name}"


def _min_max(spec: FieldSpec) -> list[dict[str, Any]]:
    if spec.type not in ("int", "number"):
        return []
    key = "valueInteger" if spec.type == "int" else "valueDecimal"
    out = []
    for url, bound in ((MIN_VALUE, spec.minimum), (MAX_VALUE, spec.maximum)):
        if bound is not None:
            out.append({"url": url, key: int(bound) if spec.type == "int" else bound})
    return out


def _option(o: Option, system: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if o.weight is not None:
        # itemWeight is the current extension; ordinalValue is its older name, which R4-era
        # form fillers (and fhirpath.js's weight()) still read.
        out["extension"] = [
            {"url": ITEM_WEIGHT, "valueDecimal": o.weight},
            {"url": ORDINAL_VALUE, "valueDecimal": o.weight},
        ]
    out["valueCoding"] = {"system": system, "code": o.code, "display": o.display}
    return out


def _enable_when(cat: Catalogue, link_id: str) -> dict[str, Any]:
    rule = next((d for d in cat.table.disclosure if d.field == link_id), None)
    if rule is None:
        return {}
    conds = []
    for w in rule.when:
        key = "answerBoolean" if type(w.answer) is bool else "answerInteger"
        conds.append({"question": w.question, "operator": w.operator, key: w.answer})
    out: dict[str, Any] = {"enableWhen": conds}
    if len(conds) > 1:
        out["enableBehavior"] = rule.behavior
    return out


def _question_item(cat: Catalogue, q: Question) -> dict[str, Any]:
    item: dict[str, Any] = {"linkId": q.link_id, "text": q.text, "type": q.fhir_type}
    ext = _min_max(q.spec) if q.fhir_type in ("integer", "decimal") else []
    if q.link_id == "schema":
        ext.append({"url": HIDDEN, "valueBoolean": True})
    if ext:
        item["extension"] = ext
    item.update(_enable_when(cat, q.link_id))
    if q.spec.required or (q.instrument and cat.contract.instruments[q.instrument].required_all):
        item["required"] = True
    if q.link_id == "schema":
        item["readOnly"] = True
        item["initial"] = [{"valueString": SCHEMA_ID}]
    if q.options:
        item["answerOption"] = [_option(o, cat.table.systems.answers) for o in q.options]
    return item


def _score_code(cat: Catalogue, link_id: str) -> list[dict[str, Any]]:
    for o in cat.table.observations:
        if o.score == link_id:
            if o.code is not None:
                return [cat.table.code(o.code).coding()]
            assert o.project_code is not None
            return [cat.table.project_coding(o.project_code)]
    return []


def _calculated_item(cat: Catalogue, c: Calculated) -> dict[str, Any]:
    item: dict[str, Any] = {
        "extension": [
            {
                "url": CALCULATED,
                "valueExpression": {"language": "text/fhirpath", "expression": c.expression},
            }
        ],
        "linkId": c.link_id,
    }
    code = _score_code(cat, c.link_id)
    if code:
        item["code"] = code
    item.update({"text": c.text, "type": c.fhir_type, "readOnly": True})
    return item


def _group_item(cat: Catalogue, group: str) -> dict[str, Any]:
    items = []
    for link_id in cat.groups[group]:
        if link_id in cat.questions:
            items.append(_question_item(cat, cat.questions[link_id]))
        else:
            items.append(_calculated_item(cat, cat.calculated[link_id]))
    return {"linkId": group, "text": cat.group_text[group], "type": "group", "item": items}


_TITLES = {
    "assessment": "Backstory low back pain assessment (intake and instruments)",
    "intake": "Backstory low back pain intake",
}


def questionnaire_names(kb: KnowledgeBase | None = None) -> tuple[str, ...]:
    """Every Questionnaire's name: the two forms, then one per instrument."""
    return (*FORMS, *catalogue(kb).instruments)


def questionnaire(name: str, kb: KnowledgeBase | None = None) -> dict[str, Any]:
    """One Backstory Questionnaire as FHIR R4 JSON (a dict).

    ``name`` is one of :func:`questionnaire_names`. Raises ``KeyError`` for any other name.
    """
    cat = catalogue(kb)
    if name not in FORMS and name not in cat.instruments:
        raise KeyError(name)
    contract_groups = [g for g in cat.groups if g not in cat.instruments]
    instruments = [g for g in cat.groups if g in cat.instruments]
    items: list[dict[str, Any]] = []
    if name in ("assessment", "intake"):
        items += [_question_item(cat, cat.questions[t]) for t in cat.top]
        items += [_group_item(cat, g) for g in contract_groups]
    shown = instruments if name == "assessment" else [name] if name in cat.instruments else []
    items += [_group_item(cat, g) for g in shown]
    title = _TITLES.get(name) or cat.instruments[name].name
    notes = (
        [
            "Questions, labels and topics are Backstory's own words (Apache-2.0); no questionnaire "
            "wording is reproduced."
        ]
        if name in ("assessment", "intake")
        else []
    )
    notes += [f"{cat.instruments[i].name}: {cat.instruments[i].licence}" for i in shown]
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": name,  # so that the canonical URL is also a valid [base]/Questionnaire/[id]
        "url": questionnaire_url(name, cat.table),
        "version": cat.version,
        "name": "Backstory" + name.capitalize(),
        "title": title,
        "status": "draft",
        "subjectType": ["Patient"],
        "publisher": "Backstory",
        "description": (
            "Generated from the Backstory assessment contract and knowledge "
            f"{cat.version}; item linkIds are contract paths."
        ),
        "copyright": "\n\n".join(notes),
        "item": items,
    }
    return resource


def code_systems(kb: KnowledgeBase | None = None) -> list[dict[str, Any]]:
    """Backstory's own CodeSystems: instrument scores, and answer codes of the forms."""
    cat = catalogue(kb)
    systems = cat.table.systems
    instruments = [{"code": c.code, "display": c.display} for c in cat.table.project_codes]
    answers = [{"code": k, "display": v} for k, v in cat.answer_codes().items()]
    defs = (
        (
            systems.instruments,
            "Backstory instrument scores without a verified LOINC code",
            instruments,
        ),
        (systems.answers, "Answer codes of the Backstory forms", answers),
    )
    out = []
    for url, title, concepts in defs:
        ident = url.rsplit("/", 1)[1]  # the canonical URL doubles as [base]/CodeSystem/[id]
        out.append(
            {
                "resourceType": "CodeSystem",
                "id": ident,
                "url": url,
                "version": cat.version,
                "name": "Backstory" + ident.capitalize(),
                "title": title,
                "status": "draft",
                "publisher": "Backstory",
                "caseSensitive": True,
                "content": "complete",
                "count": len(concepts),
                "concept": concepts,
            }
        )
    return out


def forms_bundle(kb: KnowledgeBase | None = None) -> dict[str, Any]:
    """Every Questionnaire and CodeSystem in one collection Bundle, e.g. to load a form server."""
    resources = [questionnaire(n, kb) for n in questionnaire_names(kb)] + code_systems(kb)
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": r["url"], "resource": r} for r in resources],
    }
