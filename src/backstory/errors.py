"""One family of errors: every exception Backstory raises on purpose is a ``BackstoryError``.

The subclasses say what kind of problem it is, and each adapter maps a kind to its own
surface in exactly one place:

============================  ==========================  ===================  ================
kind                          command line                JSON API             web pages
============================  ==========================  ===================  ================
``InputError``                exit 2, one line            422 problem          error page 422
``KnowledgeError``            exit 2, one line            503 problem          error page 503
``ConfigError``               exit 2, one line            500 problem          error page 500
``AccessError``               exit 2, one line            403 problem          error page 403
``IntegrityError``            exit 2, one line            500 problem          error page 500
``StorageError`` (storage)    its own exit code           by kind              by kind
============================  ==========================  ===================  ================

(``backstory.cli.main``, ``backstory.web.app`` and ``backstory.web.problems`` hold the
mappings; ``tests/test_errors.py`` checks every class derives from ``BackstoryError`` and
every adapter's mapping.) Messages are plain words fit to show the person who ran the
command; they never carry patient answers.

This module imports nothing from the project, so every layer may use it.
"""

from __future__ import annotations

import re
from typing import Any


class BackstoryError(Exception):
    """Base class of every error Backstory raises on purpose (never a bug's traceback)."""

    def one_line(self) -> str:
        """The message on one line (problems listed on several lines are joined by '; ')."""
        parts = [p.strip() for p in str(self).splitlines() if p.strip()]
        return "; ".join(parts) if parts else type(self).__name__


class InputError(BackstoryError, ValueError):
    """Input that cannot be used: an assessment, a file, a column, a scan report, an age."""


class ConfigError(BackstoryError, ValueError):
    """Settings or a configuration file that cannot be used safely."""


class AccessError(BackstoryError):
    """The actor may not do this (not signed in, wrong role, a refused token)."""


class IntegrityError(BackstoryError, RuntimeError):
    """Backstory caught itself out (rows lost in a batch, two validators disagreeing)."""


# A location at the start of a message: ``facts.yaml[3]: ...``, ``patterns.yaml/facet/x: ...``,
# ``bibliography/core.yaml[2]: ...``, ``knowledge/data/questions.yaml: ...``.
_LOCATED = re.compile(
    r"^(?:knowledge/data/)?(?P<file>(?:bibliography/)?[A-Za-z0-9_.-]+\.yaml)"
    r"(?P<path>(?:[/\[][^\s:]*)?):\s*(?P<message>.*)$",
    re.DOTALL,
)
# A path at the start of the rest: ``triage_rules/RF-1: ...``, ``codes/x: ...``, ``a.b.c: ...``.
_INNER_PATH = re.compile(
    r"^(?P<path>[A-Za-z0-9_-]+(?:[/.\[][A-Za-z0-9_.\[\]/-]*)?):\s+(?P<rest>.+)$", re.DOTALL
)


class KnowledgeError(BackstoryError, ValueError):
    """Knowledge that fails validation: ``file``, ``path`` (the place inside it) and ``message``.

    Give ``file`` and ``path`` explicitly, or a message that starts with the location
    (``"patterns.yaml/facet/x: unknown field"``), which is then split into the three parts;
    ``str()`` is the whole located message either way (a message given whole is kept as it
    was written).
    """

    def __init__(self, message: str, *, file: str | None = None, path: str = "") -> None:
        text = message
        if file is None:
            file, path, message = split_location(message)
        else:
            text = located(file, path, message)
        self.file = file
        self.path = path
        self.message = message
        super().__init__(text)


def located(file: str, path: str, message: str) -> str:
    """``file/path: message`` (``file[3]`` for a list index, no path: ``file: message``)."""
    if not file:
        return message
    if not path:
        return f"{file}: {message}"
    sep = "" if path.startswith("[") else "/"
    return f"{file}{sep}{path}: {message}"


def split_location(text: str) -> tuple[str, str, str]:
    """(file, path, message) of a message that starts with a knowledge location."""
    m = _LOCATED.match(text)
    if m is None:
        return "", "", text
    file, path, message = m["file"], m["path"].lstrip("/"), m["message"]
    if not path:
        path, message = split_path(message)
    return file, path, message


def split_path(message: str) -> tuple[str, str]:
    """(path, rest) of a message that starts with a place (``"codes/x: no display"``)."""
    inner = _INNER_PATH.match(message)
    if inner is None or len(inner["path"]) > 80:
        return "", message
    return inner["path"], inner["rest"]


def validation_problems(exc: Any, limit: int = 20) -> list[tuple[str, str]]:
    """Each problem of a pydantic ``ValidationError`` as (dotted place, message), at most ``limit``.

    The one formatter of validation problems (knowledge files, FHIR resources, the CDS trust
    file); duck-typed so that this module imports nothing.
    """
    out: list[tuple[str, str]] = []
    for err in exc.errors()[:limit]:
        place = ".".join(str(p) for p in err["loc"] if p != "__root__")
        out.append((place, str(err["msg"])))
    return out
