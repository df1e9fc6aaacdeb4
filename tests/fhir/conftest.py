"""Shared checks for the FHIR tests: R4B validation plus the code checks the models skip.

fhir.resources validates structure but not bindings (``status: "bogus"`` passes), so every
code element and every Coding Backstory emits is checked here against knowledge/data/fhir.yaml.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.backboneelement import BackboneElement
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.resource import Resource
from fhir_core.fhirabstractmodel import FHIRAbstractModel

from backstory.fhir.codes import FhirTable, load_table
from backstory.fhir.questionnaire import catalogue

# Code elements whose values are defined by Backstory itself, checked another way.
OWN_CODES = {"CodeSystem.concept.code", "Coding.code"}


def _walk(model: FHIRAbstractModel, path: str) -> Iterator[tuple[str, Any]]:
    """Every (element path, value) of code type, and every Coding as ("Coding", model)."""
    if isinstance(model, Coding):
        yield "Coding", model
    for name, field in type(model).model_fields.items():
        value = getattr(model, name, None)
        if value is None:
            continue
        alias = field.alias or name
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, FHIRAbstractModel):
                if isinstance(v, Resource):
                    sub = v.get_resource_type()
                elif type(v) is type(model):
                    sub = path  # nested items are the same element (Questionnaire.item)
                elif isinstance(v, BackboneElement):
                    sub = f"{path}.{alias}"
                else:
                    sub = v.get_resource_type()
                yield from _walk(v, sub)
            elif "Code()" in repr(field.annotation):
                yield f"{path}.{alias}", v


def check_resource(resource: dict[str, Any], table: FhirTable | None = None) -> list[str]:
    """Validate with R4B and check every code; returns the problems (empty when fine)."""
    table = table or load_table()
    model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    cat = catalogue()
    answers = cat.answer_codes()
    project = {c.code: c.display for c in table.project_codes}
    verified = {(c.system, c.code): c for c in table.codes if c.emittable}
    problems = []
    for path, value in _walk(model, resource["resourceType"]):
        if path == "Coding":
            key = (value.system, value.code)
            if value.system == table.systems.answers:
                ok = answers.get(value.code) == value.display
            elif value.system == table.systems.instruments:
                ok = project.get(value.code) == value.display
            else:
                ok = key in verified and verified[key].display == value.display
            if not ok:
                problems.append(f"unverified or mislabelled coding {key} {value.display!r}")
        elif path not in OWN_CODES:
            allowed = table.bindings.get(path)
            if allowed is None:
                problems.append(f"{path} = {value!r}: element missing from the bindings table")
            elif value not in allowed:
                problems.append(f"{path} = {value!r} is not one of {allowed}")
    return problems


@pytest.fixture(scope="session")
def fhir_check() -> Callable[..., list[str]]:
    """Validate one resource with R4B and check its codes; returns the problems found."""
    return check_resource
