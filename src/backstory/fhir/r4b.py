"""Offline structural validation of FHIR JSON with the fhir.resources R4B models.

R4B (4.3.0) is used because fhir.resources has no pydantic-2 R4 package and the top-level
package is R5; the resources Backstory emits are defined identically in R4 and R4B. The
models check structure, cardinality and primitive formats but not code bindings, which the
tests check against ``bindings`` in fhir.yaml. Imported lazily so the CLI starts quickly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backstory.errors import InputError, validation_problems


class FhirValidationError(InputError):
    """JSON that the R4B models reject; ``problems`` lists each in plain words."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def validate(resource: Mapping[str, Any]) -> None:
    """Check one resource (of any type, Bundles included) against the R4B models.

    Raises:
        FhirValidationError: listing where and what is wrong (at most 20 problems).
    """
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    kind = resource.get("resourceType")
    if not isinstance(kind, str):
        raise FhirValidationError(["resourceType: missing; this is not a FHIR resource"])
    try:
        model = get_fhir_model_class(kind)
    except ValueError:
        raise FhirValidationError([f"resourceType: {kind!r} is not a FHIR resource"]) from None
    try:
        model.model_validate(dict(resource))
    except ValidationError as exc:
        problems = [
            f"{kind}{'.' + loc if loc else ''}: {msg}" for loc, msg in validation_problems(exc)
        ]
        raise FhirValidationError(problems) from None
