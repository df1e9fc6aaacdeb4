"""The pre-visit questionnaire (``questionnaire.yaml``): loaded and checked against the knowledge.

The web app's patient link shows it (``backstory.web.questionnaire`` turns it into page
objects) and the catalogue prints it; the checks live here, next to the core knowledge they
are checked against, so ``backstory knowledge check`` validates it with everything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib.resources.abc import Traversable

from backstory.knowledge.field_check import FieldChecker, value_ok
from backstory.knowledge.files import KnowledgeError, data_root, read_yaml, validate
from backstory.knowledge.loader import (
    KnowledgeBase,
    load_knowledge,
    load_knowledge_from,
)
from backstory.knowledge.schema import Questionnaire

QUESTIONNAIRE_FILE = "questionnaire.yaml"
CAUDA_EQUINA = "cauda_equina_syndrome"
_KIND_TYPES: Mapping[str, tuple[str, ...]] = {
    "yesno": ("bool",),
    "choice": ("enum",),
    "number": ("int", "number"),
    "scale": ("int",),
}


def load_questionnaire_from(root: Traversable, kb: KnowledgeBase | None = None) -> Questionnaire:
    """Load and check ``questionnaire.yaml`` against the contract and the knowledge in ``root``.

    Every question must answer a contract field of a type its kind can give (yesno: true or
    false; choice: an enum, with options the contract allows; number: a number; scale: a 0 to
    10 whole number). A cauda equina (``ces``) question must be a ``red_flags`` field that a
    cauda equina rule reads, and a "yes" to it alone must make such a rule fire at the
    emergency level, because a "yes" shows the emergency banner; every cauda equina screening
    question must be asked as one. Every citation must resolve.

    Raises:
        KnowledgeError: naming the file and the place of the first problem.
    """
    kb = kb if kb is not None else load_knowledge_from(root)
    q = validate(Questionnaire, read_yaml(root, QUESTIONNAIRE_FILE), QUESTIONNAIRE_FILE)
    chk = FieldChecker(kb.contract.fields, kb.facts)
    ces_rules = [r for r in kb.red_flags.rules if CAUDA_EQUINA in r.suspected]
    ces_reads = {f for r in ces_rules for f in kb.fields_of(r.when)}
    emergency = [kb.compile(r.when) for r in ces_rules if r.level == "emergency"]

    def cited(ids: list[str], where: str) -> None:
        for cid in ids:
            if cid not in kb.sources:
                raise KnowledgeError(f"{where}: cites unknown source {cid!r}")

    for part in q.parts:
        cited(part.citations, f"{QUESTIONNAIRE_FILE}/{part.id}")
        for question in part.questions:
            field_ = question.field
            where = f"{QUESTIONNAIRE_FILE}/{part.id}/{field_}"
            spec = chk.spec(field_, where)
            if spec.type not in _KIND_TYPES[question.kind]:
                raise KnowledgeError(
                    f"{where}: a {question.kind} question cannot answer {field_}, which takes "
                    f"{spec.describe_allowed()}"
                )
            if question.kind == "scale" and (spec.minimum, spec.maximum) != (0, 10):
                raise KnowledgeError(
                    f"{where}: a scale question needs a field from 0 to 10, {field_} takes "
                    f"{spec.describe_allowed()}"
                )
            for option in question.options:
                if not value_ok(spec, option.value):
                    raise KnowledgeError(
                        f"{where}: option {option.value!r} is not a possible value of {field_} "
                        f"({spec.describe_allowed()})"
                    )
            if question.ces:
                if not field_.startswith("red_flags.") or field_ not in ces_reads:
                    raise KnowledgeError(
                        f"{where}: marked ces, but {field_} is not a red_flags question that a "
                        f"cauda equina rule reads ({', '.join(r.id for r in ces_rules)})"
                    )
                if not any(rule({field_: True}) is True for rule in emergency):
                    raise KnowledgeError(
                        f"{where}: marked ces, but a yes to {field_} alone makes no cauda "
                        "equina rule fire at the emergency level"
                    )
            cited(question.citations, where)
    cited(q.emergency_banner.citations, f"{QUESTIONNAIRE_FILE}/emergency_banner")
    cited(q.unsure_banner.citations, f"{QUESTIONNAIRE_FILE}/unsure_banner")
    for country in q.countries:
        cited(country.citations, f"{QUESTIONNAIRE_FILE}/countries/{country.code}")

    asked = {question.field for question in q.questions() if question.ces}
    missing = [
        e.field
        for e in kb.screening.essential
        if e.group == "cauda_equina" and e.field not in asked
    ]
    if missing:
        raise KnowledgeError(
            f"{QUESTIONNAIRE_FILE}: every cauda equina screening question must be asked as a "
            f"ces question; missing: {', '.join(missing)}"
        )
    return q


@cache
def load_questionnaire() -> Questionnaire:
    """The bundled pre-visit questionnaire, loaded and checked once per process."""
    return load_questionnaire_from(data_root(), load_knowledge())
