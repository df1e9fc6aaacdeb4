"""RFC 9457 problem details for the JSON API: one shape for every error a client can get.

Each problem has a ``type`` (a stable URI naming the kind of problem), a ``title``, the HTTP
``status``, a ``detail`` in plain words and, for invalid input, an ``errors`` list of
``{field, message}`` pairs - the contract's own messages for an assessment.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from backstory.contract import Issue
from backstory.errors import (
    AccessError,
    BackstoryError,
    ConfigError,
    InputError,
    IntegrityError,
    KnowledgeError,
)

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://backstory.example/problems/"
TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    422: "Invalid input",
    500: "Internal error",
    429: "Too many requests",
    503: "Service unavailable",
}
SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "too-large",
    422: "invalid-input",
    500: "internal-error",
    429: "too-many-requests",
    503: "unavailable",
}


class FieldError(BaseModel):
    """One problem with one field of the input."""

    model_config = ConfigDict(extra="forbid")
    field: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    model_config = ConfigDict(extra="forbid")
    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] = []


class ProblemResponse(JSONResponse):
    media_type = MEDIA_TYPE


def problem(
    status: int,
    detail: str,
    errors: Iterable[Issue] = (),
    headers: dict[str, str] | None = None,
) -> ProblemResponse:
    body = Problem(
        type=TYPE_BASE + SLUGS.get(status, "error"),
        title=TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        errors=[FieldError(field=i.field, message=i.message) for i in errors],
    )
    return ProblemResponse(body.model_dump(), status_code=status, headers=headers)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of the problems an operation can answer with."""
    return {
        s: {
            "model": Problem,
            "description": TITLES[s],
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for s in statuses
    }


#: What a person is told for an error whose own message is not for them (it names files or
#: Backstory's internals): the detail goes to the log, never to the page.
HIDDEN = {
    KnowledgeError: "The clinical knowledge could not be loaded, so nothing was done.",
    ConfigError: "The service is not configured correctly, so nothing was done.",
    IntegrityError: "Backstory stopped because a check failed, so nothing was kept.",
}


def error_status(exc: BackstoryError) -> tuple[int, str]:
    """The web layer's one mapping of the error family: (HTTP status, message to show).

    Input errors are the person's to fix (422, their own words); access errors are 403;
    broken knowledge is 503 (nothing can be assessed until it is fixed); configuration and
    integrity errors are 500. Anything else in the family is a 400 with its message.
    """
    for kind, message in HIDDEN.items():
        if isinstance(exc, kind):
            return (503 if kind is KnowledgeError else 500), message
    if isinstance(exc, InputError):
        return 422, exc.one_line()
    if isinstance(exc, AccessError):
        return 403, exc.one_line()
    return 400, exc.one_line()
