"""The one code table (``knowledge/data/codes.yaml``): every clinical code Backstory can emit.

Each code is defined once, with its system, exact display, how far it is verified and the
sources that verify it, next to the coding traps (``never_use``) that are never output. The
clinician summary (``backstory.explain``) reads the entries that say ``when`` they apply; the
FHIR export (``backstory.fhir``) names entries by id from ``fhir.yaml``. Both output only
``verified`` entries, with exactly the display below (HZ-06). A bad edit fails at load with
the file and the place named.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib.resources.abc import Traversable
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from backstory.knowledge.files import (
    KnowledgeError,
    citation_places,
    data_root,
    load_bibliography_from,
    read_yaml,
    validate,
)

CODES_FILE = "codes.yaml"

CodeStatus = Literal["verified", "secondary", "unverified"]

#: The facts an entry's ``when`` may test (computed by ``backstory.explain.codes``).
CODE_CONDITIONS: Mapping[str, frozenset[str]] = {
    "category": frozenset({"specific_pathology_suspected", "radicular", "non_specific"}),
    "back_pain": frozenset({"present", "absent", "unknown"}),
    "leg_side": frozenset({"left", "right", "both", "unknown"}),
    "below_knee": frozenset({"yes", "no", "unknown"}),
    "femoral": frozenset({"yes", "no", "unknown"}),
}

KebabId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
SystemId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Conditions = dict[str, tuple[str, ...]]


class CodeTableError(KnowledgeError):
    """The code table is broken; the message names the file and the place."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CodeSystem(_Frozen):
    """A code system the table uses: a short id, its FHIR system URI and a readable name."""

    id: SystemId
    uri: Text
    name: Text
    fhir_spec: bool = False
    """Named by the FHIR R4 specification itself (its own terminology, or UCUM for Quantity):
    its codes are checked against the specification and need no bibliography citation."""


class CodeEntry(_Frozen):
    """One code with its exact display, how far it is verified, and when it applies.

    ``when`` (the clinician summary's conditions) is given only for codes of the working
    classification; an entry without it is never in the clinician summary (the FHIR export
    names it by id, or it is kept so that the decision not to emit it stays reviewable).
    """

    id: KebabId
    system: SystemId
    code: Text
    display: Text | None = None
    status: CodeStatus
    when: Conditions = Field(default_factory=dict)
    note: str = ""
    citations: tuple[KebabId, ...] = ()


class NeverUse(_Frozen):
    """A coding trap: never output, whatever else the table says."""

    system: SystemId
    code: Text
    reason: Text
    citations: tuple[KebabId, ...] = Field(min_length=1)


class CodeTable(_Frozen):
    """The code table and its coding traps."""

    version: str = Field(pattern=r"^\d{4}\.\d{1,2}\.\d+$")
    systems: tuple[CodeSystem, ...] = Field(min_length=1)
    codes: tuple[CodeEntry, ...] = Field(min_length=1)
    never_use: tuple[NeverUse, ...] = Field(min_length=1)

    def system(self, system_id: str) -> CodeSystem:
        """The code system with this id (KeyError if none)."""
        for s in self.systems:
            if s.id == system_id:
                return s
        raise KeyError(system_id)

    def code(self, code_id: str) -> CodeEntry:
        """The entry with this id (KeyError if none)."""
        for c in self.codes:
            if c.id == code_id:
                return c
        raise KeyError(code_id)

    def is_never_use(self, system: str, code: str) -> bool:
        """Whether (system, code) is a listed coding trap."""
        return any(n.system == system and n.code == code for n in self.never_use)

    @model_validator(mode="after")
    def _check(self) -> CodeTable:
        problems: list[str] = []
        system_ids = [s.id for s in self.systems]
        dupes = sorted({i for i in system_ids if system_ids.count(i) > 1})
        if dupes:
            problems.append(f"systems: ids defined twice: {dupes}")
        systems = {s.id: s for s in self.systems}
        ids = [c.id for c in self.codes]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            problems.append(f"codes: ids defined twice: {dupes}")
        pairs = [(c.system, c.code) for c in self.codes]
        twice = sorted({p for p in pairs if pairs.count(p) > 1})
        if twice:
            problems.append(f"codes: a (system, code) pair is listed twice: {twice}")
        for c in self.codes:
            problems += _entry_problems(
                c, systems.get(c.system), self.is_never_use(c.system, c.code)
            )
        for n in self.never_use:
            if n.system not in systems:
                problems.append(f"never_use/{n.system}/{n.code}: system is not in systems")
        problems += self._check_one_per_system()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _check_one_per_system(self) -> list[str]:
        """No two entries of one system may apply to the same report."""
        out: list[str] = []
        applying = [c for c in self.codes if c.when]
        for i, a in enumerate(applying):
            for b in applying[i + 1 :]:
                if a.system != b.system:
                    continue
                overlap = all(
                    set(a.when.get(k, CODE_CONDITIONS[k])) & set(b.when.get(k, CODE_CONDITIONS[k]))
                    for k in CODE_CONDITIONS
                )
                if overlap:
                    out.append(f"codes/{a.id} and codes/{b.id} can apply to the same report")
        return out

    def citations_used(self) -> dict[str, list[str]]:
        """Every cited source id, with the places that cite it."""
        return citation_places(
            [
                *((f"codes/{c.id}", c.citations) for c in self.codes),
                *((f"never_use/{n.system}/{n.code}", n.citations) for n in self.never_use),
            ]
        )


def _entry_problems(c: CodeEntry, system: CodeSystem | None, trap: bool) -> list[str]:
    where = f"codes/{c.id}"
    out: list[str] = []
    if system is None:
        out.append(f"{where}: system {c.system!r} is not in systems")
    if trap:
        out.append(f"{where}: {c.system} {c.code} is listed in never_use")
    if c.status == "verified" and c.display is None:
        out.append(f"{where}: a verified code needs its display")
    if c.status == "verified" and not c.citations and not (system and system.fhir_spec):
        out.append(f"{where}: a verified code must cite the source that verifies it")
    if c.status != "verified" and not c.note:
        out.append(f"{where}: a code that is not verified needs a note saying why")
    if c.when:
        if c.display is None or not c.citations:
            out.append(f"{where}: a code with `when` needs a display and citations")
        for name, values in c.when.items():
            allowed = CODE_CONDITIONS.get(name)
            if allowed is None:
                out.append(f"{where}: unknown condition {name!r}")
            elif not values or not set(values) <= allowed:
                out.append(f"{where}: {name!r} values must be in {sorted(allowed)}")
    return out


def parse_codes(
    raw: Any, where: str = CODES_FILE, sources: Mapping[str, object] | None = None
) -> CodeTable:
    """Validate code-table data; with ``sources``, every citation must name one of them."""
    table = validate(CodeTable, raw, where, error=CodeTableError)
    if sources is not None:
        for cited, places in sorted(table.citations_used().items()):
            if cited not in sources:
                raise CodeTableError(f"cites unknown source {cited!r}", file=where, path=places[0])
    return table


def load_code_table_from(root: Traversable) -> CodeTable:
    """Load and check ``codes.yaml`` in ``root``, citations against its bibliography."""
    raw = read_yaml(root, CODES_FILE, CodeTableError)
    return parse_codes(raw, sources=load_bibliography_from(root).sources)


@cache
def load_code_table() -> CodeTable:
    """The bundled, validated code table (cached: it never changes at run time)."""
    return load_code_table_from(data_root())
