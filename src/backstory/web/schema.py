"""The assessment contract as a JSON Schema, for the API's OpenAPI document.

Generated from the contract data (never written by hand), so the documented request body and
the validator cannot disagree. The validator stays the authority: it also checks what a
schema cannot say plainly (duplicate keys, cross-field limits, the reason for an age under 16).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from backstory.contract import FieldSpec, load_contract


def _field(spec: FieldSpec) -> dict[str, Any]:
    out: dict[str, Any]
    if spec.type == "bool":
        out = {"type": "boolean"}
    elif spec.type in ("int", "number"):
        out = {"type": "integer" if spec.type == "int" else "number"}
        if spec.minimum is not None:
            out["minimum"] = spec.minimum
        if spec.maximum is not None:
            out["maximum"] = spec.maximum
    elif spec.type == "enum":
        out = {"type": "string", "enum": list(spec.values)}
    elif spec.type == "date":
        out = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
    else:
        out = {"type": "string"}
    if spec.meaning:
        out["description"] = spec.meaning
    return out


@cache
def assessment_schema() -> dict[str, Any]:
    """The JSON Schema of one assessment (backstory/assessment@1)."""
    c = load_contract()
    props: dict[str, Any] = {k: _field(v) for k, v in c.top.items()}
    props["schema"] = {"type": "string", "enum": [c.schema], "description": "contract identifier"}
    for group, fields in c.groups.items():
        props[group] = {
            "type": "object",
            "additionalProperties": False,
            "properties": {k: _field(v) for k, v in fields.items()},
        }
    for name, inst in c.instruments.items():
        items = []
        for spec in inst.items:
            item = _field(spec)
            if not inst.required_all:
                item = {"anyOf": [item, {"type": "null"}]}
            items.append(item)
        props[name] = {
            "type": "array",
            "description": inst.meaning,
            "minItems": inst.length,
            "maxItems": inst.length,
            "prefixItems": items,
            "items": False,
        }
    required = [k for k, v in c.top.items() if v.required]
    return {
        "title": "Assessment",
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": props,
    }
