"""The assessment contract as a JSON Schema, for the API's OpenAPI document.

Generated from the contract data (never written by hand), so the documented request body and
the validator cannot disagree. The validator stays the authority: it also checks what a
schema cannot say plainly (duplicate keys, cross-field limits, the reason for an age under 16).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from backstory.contract import FieldSpec
from backstory.knowledge.loader import load_knowledge


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
        # four digits from 1900 (the contract's earliest); the latest is today plus the
        # margin, which a fixed document cannot state except in words
        out = {"type": "string", "format": "date", "pattern": DATE_PATTERN}
    else:
        out = {"type": "string", "minLength": 1, "pattern": TEXT_PATTERN}
        if spec.max_length is not None:
            out["maxLength"] = spec.max_length
    words = [spec.meaning] if spec.meaning else []
    if spec.type == "int":
        words.append("A whole number written without a fraction (5, not 5.0).")
    if spec.type == "date" and spec.earliest:
        words.append(
            f"From {spec.earliest} to today plus {spec.future_days} day (the server's date)."
        )
    elif spec.type == "string":
        words.append(
            "Printable text: control and invisible characters (tabs, line breaks, "
            "right-to-left overrides, zero-width spaces) are refused."
        )
    if words:
        out["description"] = " ".join(w if w.endswith(".") else w + "." for w in words)
    return out


DATE_PATTERN = r"^(19[0-9]{2}|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}$"
"""YYYY-MM-DD from the year 1900 (the contract's earliest date, 1900-01-01)."""
_HIDDEN = r"\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff"
TEXT_PATTERN = rf"^[^{_HIDDEN}]+$"
"""Text without the usual control and invisible characters (the validator refuses every
non-printable character; a pattern can only list the common ones)."""


@cache
def assessment_schema() -> dict[str, Any]:
    """The JSON Schema of one assessment (backstory/assessment@1)."""
    c = load_knowledge().contract
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
    for rule in c.at_most:
        # a cross-field rule has no JSON Schema keyword: it is stated on both fields
        for path in (rule.field, rule.limit):
            group, _, key = path.rpartition(".")
            target = props[group]["properties"][key] if group else props[key]
            note = (
                f"Not more than {rule.limit} when both are given ({rule.message})."
                if path == rule.field
                else f"At least {rule.field} when both are given ({rule.message})."
            )
            target["description"] = (target.get("description", "") + " " + note).strip()
    required = [k for k, v in c.top.items() if v.required]
    return {
        "title": "Assessment",
        "description": (
            "One assessment (backstory/assessment@1). Types are strict: a whole number is "
            "written 40, never 40.0 (JSON Schema's integer type admits 40.0; the contract "
            'does not) or "40". Rules no JSON Schema keyword states are given in the field '
            "descriptions (whole numbers, the latest date, the cross-field limits) and are "
            "checked by the server, which answers 422 with the contract's own message."
        ),
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": props,
    }
