"""Read the bundled questions knowledge and bibliography (the only file access in this package).

Loading is cached: the files ship inside the package and never change while it runs.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from backstory.ask.models import QuestionsKnowledge, Source

#: The C loader is much faster; fall back to the pure-Python one where libyaml is missing.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

QUESTIONS_FILE = "questions.yaml"
BIBLIOGRAPHY_FILE = "questions.yaml"

#: Sources the answers cite but that other bibliography files define (one namespace, so
#: defining them here too would be a duplicate).
SHARED_SOURCE_IDS = frozenset(
    {"nice-ng59", "brinjikji-2015", "girft-ces-2023", "menezes-costa-2012"}
)


_M = TypeVar("_M", bound=BaseModel)


class QuestionsKnowledgeError(ValueError):
    """The questions data failed validation; the message names the file."""


def data_root() -> Traversable:
    """The folder that holds the bundled knowledge files."""
    return resources.files("backstory").joinpath("knowledge", "data")


def _read_yaml(path: Traversable) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)


def _validate(model: type[_M], raw: Any, where: str) -> _M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise QuestionsKnowledgeError(f"{where}: {exc}") from exc


def parse_questions_knowledge(text: str, where: str = "<text>") -> QuestionsKnowledge:
    """Validate questions YAML given as text (lets tests check broken data without files)."""
    return _validate(QuestionsKnowledge, yaml.load(text, Loader=_LOADER), where)


@cache
def load_questions_knowledge() -> QuestionsKnowledge:
    """The bundled, validated questions knowledge."""
    path = data_root().joinpath(QUESTIONS_FILE)
    return _validate(QuestionsKnowledge, _read_yaml(path), f"knowledge/data/{QUESTIONS_FILE}")


@cache
def load_question_sources() -> tuple[Source, ...]:
    """The sources defined in this feature's own bibliography file, validated strictly."""
    path = data_root().joinpath("bibliography", BIBLIOGRAPHY_FILE)
    where = f"knowledge/data/bibliography/{BIBLIOGRAPHY_FILE}"
    raw = _read_yaml(path)
    if not isinstance(raw, list):
        raise QuestionsKnowledgeError(f"{where}: must be a list of sources")
    return tuple(_validate(Source, item, f"{where}[{i}]") for i, item in enumerate(raw))


@cache
def source_short_names() -> dict[str, str]:
    """Short names of every source in every bibliography file, for display.

    Other files belong to other parts of the project and are read leniently (only ``id`` and
    ``short``): showing a citation must not fail because a neighbouring file is mid-edit.
    """
    names: dict[str, str] = {}
    folder = data_root().joinpath("bibliography")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml") or entry.name == BIBLIOGRAPHY_FILE:
            continue
        try:
            raw = _read_yaml(entry)
        except yaml.YAMLError:
            continue
        for item in raw if isinstance(raw, list) else []:
            if isinstance(item, dict):
                sid, short = item.get("id"), item.get("short")
                if isinstance(sid, str) and isinstance(short, str):
                    names[sid] = short
    names.update({s.id: s.short for s in load_question_sources()})
    return names
