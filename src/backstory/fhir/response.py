"""Assessment <-> FHIR QuestionnaireResponse, with the contract's own validation on the way in.

Import builds the contract's assessment JSON from the answers and runs ``parse_assessment``
on it, so a QuestionnaireResponse is held to exactly the rules a JSON assessment is: the same
types, ranges and cross-field checks, and unknown linkIds are errors with suggestions - a
misspelt red flag must never vanish on its way in from another system.

Items are matched by linkId alone (linkIds are unique across every Backstory form), so a
response may nest them in their groups or not. Calculated score items are accepted and
ignored: Backstory always recomputes scores. Answers to questions the form would have hidden
(enableWhen) are kept, never dropped.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from backstory.contract import Assessment, AssessmentError, Issue, parse_assessment, safejson
from backstory.contract.suggest import did_you_mean, suggest
from backstory.core.report import Report
from backstory.fhir.questionnaire import (
    FORMS,
    Catalogue,
    Question,
    catalogue,
    questionnaire_url,
)
from backstory.fhir.r4b import FhirValidationError, validate
from backstory.knowledge.loader import KnowledgeBase

_VALUE_KEY = {
    "boolean": "valueBoolean",
    "integer": "valueInteger",
    "decimal": "valueDecimal",
    "date": "valueDate",
    "string": "valueString",
    "choice": "valueCoding",
}
_MISSING = object()


def _answer(cat: Catalogue, q: Question, value: Any) -> dict[str, Any]:
    if q.fhir_type == "choice":
        opt = q.option_for_value(value)
        if opt is None:  # cannot happen for a validated assessment
            raise ValueError(f"{q.link_id}: no answer option for {value!r}")
        coding = {"system": cat.table.systems.answers, "code": opt.code, "display": opt.display}
        return {"valueCoding": coding}
    return {_VALUE_KEY[q.fhir_type]: value}


def _qr_item(cat: Catalogue, link_id: str, answer: dict[str, Any]) -> dict[str, Any]:
    text = cat.questions[link_id].text if link_id in cat.questions else cat.calculated[link_id].text
    return {"linkId": link_id, "text": text, "answer": [answer]}


def assessment_to_response(
    assessment: Assessment | Mapping[str, Any],
    *,
    report: Report | None = None,
    knowledge: KnowledgeBase | None = None,
    subject: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The assessment as a completed QuestionnaireResponse to the ``assessment`` Questionnaire.

    Every given answer is carried over; unanswered questions have no item (so an instrument
    given with every item unanswered comes back from import as not given). With ``report``,
    the calculated score items carry Backstory's scores too (as a form filler would show
    them). Raises :class:`AssessmentError` when a mapping breaks the contract.
    """
    cat = catalogue(knowledge)
    if not isinstance(assessment, Assessment):
        assessment = parse_assessment(assessment, cat.contract)
    answers = assessment.answers
    items: list[dict[str, Any]] = []
    for link_id in cat.top:
        if link_id in answers:
            q = cat.questions[link_id]
            items.append(_qr_item(cat, link_id, _answer(cat, q, answers[link_id])))
    for group, members in cat.groups.items():
        children: list[dict[str, Any]] = []
        if group in cat.instruments:
            values = answers.get(group)
            if values is None:
                continue
            asked = [m for m in members if m in cat.questions]
            for link_id, value in zip(asked, values, strict=True):
                if value is not None:
                    q = cat.questions[link_id]
                    children.append(_qr_item(cat, link_id, _answer(cat, q, value)))
            scores = report.scores.get(group) if report is not None else None
            for link_id in (m for m in members if m in cat.calculated):
                calc = cat.calculated[link_id]
                if scores is not None and scores.get(calc.key) is not None:
                    key = "valueInteger" if calc.fhir_type == "integer" else "valueDecimal"
                    children.append(_qr_item(cat, link_id, {key: scores[calc.key]}))
        else:
            for link_id in members:
                if link_id in answers:
                    q = cat.questions[link_id]
                    children.append(_qr_item(cat, link_id, _answer(cat, q, answers[link_id])))
        if children:
            items.append({"linkId": group, "text": cat.group_text[group], "item": children})
    qr: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{questionnaire_url('assessment', cat.table)}|{cat.version}",
        "status": "completed",
    }
    if subject is not None:
        qr["subject"] = dict(subject)
    if "assessed_on" in answers:
        qr["authored"] = answers["assessed_on"]
    qr["item"] = items
    return qr


def _near_link_ids(cat: Catalogue, link_id: str, parent: str | None) -> list[str]:
    """Suggestions from the same group first, compared on the key after the group name.

    A bare key (``fevr``) is also compared with every group's keys, so a question given
    without its group still finds it (``red_flags.fever``).
    """
    head, _, tail = link_id.partition(".")
    group = head if head in cat.groups and tail else parent
    if group in cat.groups:
        short = {m.partition(".")[2]: m for m in cat.groups[group]}
        near = suggest(tail if head == group else link_id, list(short))
        if near:
            return [short[n] for n in near]
    everything = [*cat.top, *cat.groups, *(m for ms in cat.groups.values() for m in ms)]
    keys: dict[str, list[str]] = {}
    for full in everything:
        keys.setdefault(full.partition(".")[2] or full, []).append(full)
    by_key = [full for k in suggest(link_id, list(keys)) for full in keys[k]]
    by_path = suggest(link_id, everything)
    ordered = by_path + by_key if "." in link_id else by_key + by_path
    return list(dict.fromkeys(ordered))[:3]


def _value(cat: Catalogue, q: Question, answer: Mapping[str, Any], issues: list[Issue]) -> Any:
    keys = [k for k in answer if k.startswith("value")]
    if len(keys) != 1:
        issues.append(Issue(q.link_id, "an answer needs exactly one value"))
        return _MISSING
    key = keys[0]
    raw = answer[key]
    if key != "valueCoding":
        # Types and ranges are the contract's to judge, with its own plain messages.
        return raw
    if not q.options:
        issues.append(
            Issue(
                q.link_id,
                f"a coded answer is not allowed; expected {_VALUE_KEY[q.fhir_type]}"
                f" ({q.spec.describe_allowed()})",
            )
        )
        return _MISSING
    system, code = raw.get("system"), raw.get("code")
    if system is not None and system != cat.table.systems.answers:
        issues.append(
            Issue(
                q.link_id, f"answer codes must come from {cat.table.systems.answers}, not {system}"
            )
        )
        return _MISSING
    opt = q.option_for_code(code) if isinstance(code, str) else None
    if opt is None:
        codes = [o.code for o in q.options]
        msg = f"{_quoted(code)} is not an answer to this question; expected one of " + ", ".join(
            f'"{c}"' for c in codes
        )
        near = suggest(code, codes, limit=1) if isinstance(code, str) else []
        if near:
            msg += f' (did you mean "{near[0]}"?)'
        issues.append(Issue(q.link_id, msg))
        return _MISSING
    return opt.value


def _quoted(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


_INSTRUMENT_FIELD = re.compile(r"^([a-z_]+)\[(\d+)\]$")


def _link_id_of(field: str) -> str:
    """Name a contract issue by linkId: ``startback[3]`` becomes ``startback.3``."""
    m = _INSTRUMENT_FIELD.match(field)
    return f"{m.group(1)}.{m.group(2)}" if m else field


def response_to_assessment(
    resource: Any, knowledge: KnowledgeBase | None = None, *, today: dt.date | None = None
) -> dict[str, Any]:
    """The assessment JSON held in a QuestionnaireResponse, validated by the contract.

    ``resource`` is the parsed resource, or its JSON text (str or bytes), which is then
    read by :mod:`backstory.contract.safejson` (size, depth, big-integer and surrogate
    limits). ``today`` is the importer's date, for the contract's latest date.

    Raises:
        AssessmentError: listing every problem (unknown linkIds with suggestions, bad answers,
            contract violations); nothing partial is returned.
    """
    if isinstance(resource, (str, bytes)):
        try:
            resource = safejson.loads(resource)
        except safejson.UnsafeJson as exc:
            raise AssessmentError([Issue("", str(exc))]) from None
    if not isinstance(resource, Mapping) or resource.get("resourceType") != (
        "QuestionnaireResponse"
    ):
        raise AssessmentError(
            [Issue("", "expected a FHIR QuestionnaireResponse (one JSON object)")]
        )
    try:
        validate(resource)
    except FhirValidationError as exc:
        raise AssessmentError(
            [Issue("", f"not a valid FHIR QuestionnaireResponse: {p}") for p in exc.problems]
        ) from None
    cat = catalogue(knowledge)
    issues: list[Issue] = []
    canonical = resource.get("questionnaire")
    if isinstance(canonical, str):
        ours = [questionnaire_url(n, cat.table) for n in (*FORMS, *cat.instruments)]
        if canonical.partition("|")[0] not in ours:
            issues.append(
                Issue(
                    "questionnaire",
                    f"{canonical} is not a Backstory questionnaire; expected "
                    "one of " + ", ".join(ours),
                )
            )
    found: dict[str, Any] = {}
    seen: set[str] = set()

    def walk(items: list[Mapping[str, Any]], parent: str | None) -> None:
        for item in items:
            link_id = str(item.get("linkId"))
            if link_id in seen:
                issues.append(Issue(link_id, "given more than once; give each answer once"))
                continue
            seen.add(link_id)
            if link_id in cat.groups:
                if item.get("answer"):
                    issues.append(Issue(link_id, "a group takes no answers of its own"))
                walk(item.get("item") or [], link_id)
                continue
            if link_id in cat.calculated:
                continue
            q = cat.questions.get(link_id)
            if q is None:
                near = did_you_mean(_near_link_ids(cat, link_id, parent))
                issues.append(
                    Issue(link_id, f"unknown question.{near} Unknown answers are never ignored.")
                )
                continue
            answers = item.get("answer") or []
            if item.get("item") or any(a.get("item") for a in answers):
                issues.append(Issue(link_id, "nested items are not expected under a question"))
                continue
            if len(answers) > 1:
                issues.append(Issue(link_id, f"{len(answers)} answers given; give one"))
                continue
            if answers:
                value = _value(cat, q, answers[0], issues)
                if value is not _MISSING:
                    found[link_id] = value

    walk(resource.get("item") or [], None)
    data = _assessment_dict(cat, found)
    try:
        parse_assessment(data, cat.contract, today=today)
    except AssessmentError as exc:
        issues += [Issue(_link_id_of(i.field), i.message) for i in exc.issues]
    if issues:
        raise AssessmentError(issues)
    return data


def _assessment_dict(cat: Catalogue, found: Mapping[str, Any]) -> dict[str, Any]:
    """Answers by linkId into the contract's JSON shape, in contract order."""
    data: dict[str, Any] = {t: found[t] for t in cat.top if t in found}
    for group, members in cat.groups.items():
        if group in cat.instruments:
            values = [found.get(m) for m in members if m in cat.questions]
            if any(v is not None for v in values):
                data[group] = values
        else:
            answered = {m.partition(".")[2]: found[m] for m in members if m in found}
            if answered:
                data[group] = answered
    return data
