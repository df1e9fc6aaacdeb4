"""The assessment contract: field definitions (as data) and strict validation."""

from backstory.contract.spec import Contract, FieldSpec, load_contract
from backstory.contract.validate import (
    Assessment,
    AssessmentError,
    Issue,
    parse_assessment,
    parse_assessment_json,
)

__all__ = [
    "Assessment",
    "AssessmentError",
    "Contract",
    "FieldSpec",
    "Issue",
    "load_contract",
    "parse_assessment",
    "parse_assessment_json",
]
