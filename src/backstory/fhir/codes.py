"""The FHIR table (``knowledge/data/fhir.yaml``), validated against the contract and knowledge.

Every label, disclosure rule and code mapping the FHIR adapter uses lives in that reviewable
file; the codes themselves (system, display, status, sources) are defined once, in the shared
code table ``knowledge/data/codes.yaml``, and ``fhir.yaml`` names them by id. Loading checks
that the table still fits the contract, the knowledge and the code table (every group
labelled, every disclosure question real, every named code defined and, where it is emitted,
verified), so a change that the forms have not caught up with fails loudly instead of emitting
a wrong form or code.
"""

from __future__ import annotations

from functools import cache
from importlib.resources.abc import Traversable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backstory.contract.spec import Contract, FieldSpec
from backstory.knowledge.codes import (
    CODES_FILE,
    CodeEntry,
    CodeTable,
    load_code_table,
    load_code_table_from,
)
from backstory.knowledge.files import KnowledgeError, data_root, read_yaml, validate
from backstory.knowledge.loader import KnowledgeBase, load_knowledge, load_knowledge_from

DATA_FILE = "fhir.yaml"

#: Codes the export's fixed elements use (``bundle.py``): Observation.category,
#: Condition.clinicalStatus, .verificationStatus and .category, Provenance.agent.type.
FIXED_CODES = (
    "category-survey",
    "condition-active",
    "condition-provisional",
    "condition-encounter-diagnosis",
    "agent-performer",
)

Operator = Literal["exists", "=", "!=", ">", "<", ">=", "<="]


class FhirTableError(KnowledgeError):
    """The FHIR table is broken or no longer fits the contract, knowledge or code table; the
    message says where."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Systems(_Model):
    instruments: str
    answers: str
    knowledge: str
    rules: str
    classification: str
    contradictions: str


class EnableWhen(_Model):
    question: str
    operator: Operator
    answer: bool | int


class Disclosure(_Model):
    field: str
    behavior: Literal["all", "any"]
    when: tuple[EnableWhen, ...] = Field(min_length=1)
    reason: str
    citations: tuple[str, ...] = ()


class Code(_Model):
    """A ``codes.yaml`` entry in FHIR form: ``system`` is the code system's URI."""

    id: str
    system: str
    code: str
    display: str | None
    status: Literal["verified", "secondary", "unverified"]
    note: str
    citations: tuple[str, ...] = ()

    @classmethod
    def from_entry(cls, entry: CodeEntry, codes: CodeTable) -> Code:
        """The FHIR form of one code-table entry."""
        return cls(
            id=entry.id,
            system=codes.system(entry.system).uri,
            code=entry.code,
            display=entry.display,
            status=entry.status,
            note=entry.note,
            citations=entry.citations,
        )

    @property
    def emittable(self) -> bool:
        """Only verified codes ever leave Backstory."""
        return self.status == "verified"

    def coding(self) -> dict[str, Any]:
        out: dict[str, Any] = {"system": self.system, "code": self.code}
        if self.display:
            out["display"] = self.display
        return out


class ProjectCode(_Model):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    display: str


class ObservationDef(_Model):
    id: str
    score: str
    text: str
    code: str | None = None
    project_code: str | None = None
    body_site: str | None = None
    unit: str | None = None

    @model_validator(mode="after")
    def _one_code(self) -> ObservationDef:
        if (self.code is None) == (self.project_code is None):
            raise ValueError("give exactly one of code and project_code")
        return self


class FhirFile(_Model):
    """What ``fhir.yaml`` holds: FHIR structure only, naming codes by their codes.yaml id."""

    canonical: str
    systems: Systems
    group_labels: dict[str, str]
    disclosure: tuple[Disclosure, ...]
    project_codes: tuple[ProjectCode, ...]
    observations: tuple[ObservationDef, ...]
    risk_groups: dict[str, str]
    risk_outcome: str
    suspected: dict[str, str | None]
    conditions: dict[str, str | None]
    bindings: dict[str, tuple[str, ...]]


class FhirTable(FhirFile):
    """The whole table: ``fhir.yaml`` with every code of ``codes.yaml`` in FHIR form."""

    codes: tuple[Code, ...]

    def code(self, code_id: str) -> Code:
        """The code with this id (the table is checked at load, so it exists)."""
        for c in self.codes:
            if c.id == code_id:
                return c
        raise KeyError(code_id)

    def project_coding(self, code: str) -> dict[str, Any]:
        """A Coding from Backstory's own instruments code system."""
        for c in self.project_codes:
            if c.code == code:
                return {"system": self.systems.instruments, "code": c.code, "display": c.display}
        raise KeyError(code)


def _check(table: FhirTable, contract: Contract, kb: KnowledgeBase) -> None:
    """Cross-check the table against the contract and the knowledge."""
    if set(table.group_labels) != set(contract.groups):
        raise FhirTableError(
            f"must name exactly the contract groups {sorted(contract.groups)}",
            file=DATA_FILE,
            path="group_labels",
        )
    project = {c.code for c in table.project_codes}
    for cid in FIXED_CODES:
        _code_ref(table, cid, "backstory.fhir.codes.FIXED_CODES", verified=True)
    seen: set[str] = set()
    for d in table.disclosure:
        where = f"{DATA_FILE}/disclosure/{d.field}"
        if d.field in seen:
            raise FhirTableError(f"{where}: given twice")
        seen.add(d.field)
        if d.field not in contract.fields or d.field in contract.top:
            raise FhirTableError(f"{where}: not a grouped contract field")
        for cid in d.citations:
            if cid not in kb.sources:
                raise FhirTableError(f"{where}: cites unknown source {cid!r}")
        for w in d.when:
            _check_enable_when(w, contract.fields.get(w.question), where)
    scores = {"pain.back", "pain.leg"}
    scores |= {p.removeprefix("scores.") for p in kb.derived if p.startswith("scores.")}
    for o in table.observations:
        if o.score not in scores:
            raise FhirTableError(f"{DATA_FILE}/observations/{o.id}: unknown score {o.score!r}")
        if o.code is not None:
            _code_ref(table, o.code, f"{DATA_FILE}/observations/{o.id}/code", verified=True)
        if o.unit is not None:
            _code_ref(table, o.unit, f"{DATA_FILE}/observations/{o.id}/unit", verified=True)
        if o.project_code is not None and o.project_code not in project:
            raise FhirTableError(
                f"{DATA_FILE}/observations/{o.id}: unknown project code {o.project_code!r}"
            )
    startback = next(i for i in kb.instruments.instruments if i.id == "startback")
    groups = {g["value"] for g in startback.groups}
    if set(table.risk_groups) != groups:
        raise FhirTableError(
            f"must map exactly {sorted(groups)}", file=DATA_FILE, path="risk_groups"
        )
    for group, cid in table.risk_groups.items():
        _code_ref(table, cid, f"{DATA_FILE}/risk_groups/{group}", verified=True)
    conditions = {c.id for c in kb.red_flags.conditions}
    if set(table.suspected) != conditions:
        raise FhirTableError(
            f"must map exactly {sorted(conditions)}", file=DATA_FILE, path="suspected"
        )
    categories = {c.id for c in kb.classification.precedence}
    if set(table.conditions) != categories:
        raise FhirTableError(
            f"must map exactly {sorted(categories)}", file=DATA_FILE, path="conditions"
        )
    for section, mapping in (("suspected", table.suspected), ("conditions", table.conditions)):
        for key, mapped in mapping.items():
            if mapped is not None:
                _code_ref(table, mapped, f"{DATA_FILE}/{section}/{key}", verified=False)


def _code_ref(table: FhirTable, code_id: str, where: str, *, verified: bool) -> None:
    """A code named by id must be defined in codes.yaml (and verified where it is emitted)."""
    code = next((c for c in table.codes if c.id == code_id), None)
    if code is None:
        raise FhirTableError(
            f"{where}: names unknown code {code_id!r}; every code is defined in {CODES_FILE}"
        )
    if verified and not code.emittable:
        raise FhirTableError(f"{where}: {code_id!r} is not a verified code ({code.status})")


def _check_enable_when(w: EnableWhen, spec: FieldSpec | None, where: str) -> None:
    if spec is None:
        raise FhirTableError(f"{where}: {w.question!r} is not a contract field")
    if w.operator == "exists":
        ok = type(w.answer) is bool
    elif spec.type == "bool":
        ok = type(w.answer) is bool and w.operator in ("=", "!=")
    elif spec.type == "int":
        ok = type(w.answer) is int
    else:
        ok = False
    if not ok:
        raise FhirTableError(
            f"{where}: {w.operator} {w.answer!r} does not fit {w.question} "
            f"({spec.describe_allowed()})"
        )


def build_table(raw: Any, codes: CodeTable) -> FhirTable:
    """``fhir.yaml`` data, validated, with the code table's codes added in FHIR form.

    Not yet cross-checked against the contract and knowledge (``_check`` does that).
    """
    file = validate(FhirFile, raw, DATA_FILE, error=FhirTableError)
    fields = {name: getattr(file, name) for name in FhirFile.model_fields}
    return FhirTable(**fields, codes=tuple(Code.from_entry(c, codes) for c in codes.codes))


def _read(root: Traversable) -> Any:
    return read_yaml(root, DATA_FILE, FhirTableError)


def load_table_from(root: Traversable) -> FhirTable:
    """Load and cross-check ``fhir.yaml`` and ``codes.yaml`` in ``root`` (a knowledge folder).

    Raises:
        FhirTableError: naming the place of the first problem (an unknown code id included).
        CodeTableError: when ``codes.yaml`` itself is broken.
    """
    table = build_table(_read(root), load_code_table_from(root))
    kb = load_knowledge_from(root)
    _check(table, kb.contract, kb)
    return table


@cache
def load_table() -> FhirTable:
    """The bundled FHIR table, loaded and cross-checked once per process.

    Raises:
        FhirTableError: naming the place of the first problem (an unknown code id included).
        CodeTableError: when ``codes.yaml`` itself is broken.
    """
    table = build_table(_read(data_root()), load_code_table())
    kb = load_knowledge()
    _check(table, kb.contract, kb)
    return table
