"""Load the assessment contract from its data file into small typed objects.

The contract is data so that the validator, the batch column list, forms and FHIR
items all derive from one definition and can never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

from backstory import yamlio

FieldType = Literal["bool", "int", "number", "enum", "date", "string"]

SCHEMA_ID = "backstory/assessment@1"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One answer the contract allows: its dotted path, type and allowed values."""

    path: str
    type: FieldType
    meaning: str = ""
    minimum: float | None = None
    maximum: float | None = None
    values: tuple[str, ...] = ()
    required: bool = False
    max_length: int | None = None
    """Text only: the most characters allowed (text is never empty)."""
    earliest: str | None = None
    """Date only: the earliest date allowed (YYYY-MM-DD)."""
    future_days: int | None = None
    """Date only: how many days after the validation date ("today") are still allowed."""

    def describe_allowed(self) -> str:
        """Say in plain words what this field accepts."""
        if self.type == "bool":
            return "true or false"
        if self.type == "enum":
            return "one of " + ", ".join(f'"{v}"' for v in self.values)
        if self.type == "date":
            if self.earliest is None:
                return "a date written YYYY-MM-DD"
            return f"a date written YYYY-MM-DD, from {self.earliest} to today"
        if self.type == "string":
            most = f" of at most {self.max_length} characters" if self.max_length else ""
            return f"printable text{most}"
        kind = "a whole number" if self.type == "int" else "a number"
        lo = _num(self.minimum)
        hi = _num(self.maximum)
        return f"{kind} from {lo} to {hi}"


@dataclass(frozen=True, slots=True)
class InstrumentSpec:
    """An instrument answered as a fixed-length array."""

    name: str
    length: int
    items: tuple[FieldSpec, ...]
    required_all: bool
    meaning: str = ""


@dataclass(frozen=True, slots=True)
class AtMost:
    """A cross-field check: ``field`` may not exceed ``limit`` when both are present."""

    field: str
    limit: str
    message: str


@dataclass(frozen=True)
class Contract:
    """The whole contract: top-level fields, grouped fields and instruments."""

    schema: str
    top: dict[str, FieldSpec]
    groups: dict[str, dict[str, FieldSpec]]
    instruments: dict[str, InstrumentSpec]
    at_most: tuple[AtMost, ...]
    fields: dict[str, FieldSpec] = field(default_factory=dict)

    def __post_init__(self) -> None:
        flat = dict(self.top)
        for group in self.groups.values():
            for spec in group.values():
                flat[spec.path] = spec
        object.__setattr__(self, "fields", flat)

    def flat_columns(self) -> list[str]:
        """The batch (flat) column names in contract order."""
        cols = [name for name in self.top if name != "schema"]
        for gname, group in self.groups.items():
            cols.extend(f"{gname}_{key}" for key in group)
        for iname, inst in self.instruments.items():
            cols.extend(f"{iname}_{i}" for i in range(1, inst.length + 1))
        return cols


def _num(x: float | None) -> str:
    if x is None:
        return "?"
    return str(int(x)) if float(x).is_integer() else str(x)


def _field(path: str, raw: dict[str, Any]) -> FieldSpec:
    return FieldSpec(
        path=path,
        type=raw["type"],
        meaning=str(raw.get("meaning", "")),
        minimum=raw.get("min"),
        maximum=raw.get("max"),
        values=tuple(raw.get("values", ())),
        required=bool(raw.get("required", False)),
        max_length=raw.get("max_length"),
        earliest=str(raw["earliest"]) if "earliest" in raw else None,
        future_days=raw.get("future_days"),
    )


@cache
def load_contract() -> Contract:
    """Read the bundled contract definition (cached: it never changes at run time)."""
    text = resources.files("backstory.contract").joinpath("assessment-v1.yaml").read_text("utf-8")
    raw = yamlio.safe_load(text)
    top = {k: _field(k, v) for k, v in raw["top"].items()}
    groups = {
        g: {k: _field(f"{g}.{k}", v) for k, v in fields.items()}
        for g, fields in raw["groups"].items()
    }
    instruments: dict[str, InstrumentSpec] = {}
    for name, inst in raw["instruments"].items():
        length = int(inst["length"])
        if "items" in inst:
            items = tuple(_field(f"{name}.{i + 1}", it) for i, it in enumerate(inst["items"]))
        else:
            items = tuple(_field(f"{name}.{i + 1}", inst["items_all"]) for i in range(length))
        instruments[name] = InstrumentSpec(
            name=name,
            length=length,
            items=items,
            required_all=bool(inst["required_all"]),
            meaning=str(inst.get("meaning", "")),
        )
    at_most = tuple(AtMost(a["field"], a["limit"], a["message"]) for a in raw.get("at_most", ()))
    return Contract(
        schema=raw["schema"], top=top, groups=groups, instruments=instruments, at_most=at_most
    )
