"""Reading knowledge files: one YAML reader, one error formatter, one ``Source``, one bibliography.

Every knowledge loader (core, explanations, imaging, questions, outcomes, codes, FHIR, CDS
Hooks, the pre-visit questionnaire) reads its file with :func:`read_yaml`, validates it with
:func:`validate` and resolves its citations against :func:`load_bibliography`, so every
knowledge problem is a :class:`~backstory.errors.KnowledgeError` that names the file, the
place inside it and what is wrong, in the same words whichever file it is.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    ValidationError,
    model_validator,
)

from backstory import yamlio
from backstory.errors import KnowledgeError, split_path, validation_problems

__all__ = [
    "BIBLIOGRAPHY",
    "YAML_LOADER",
    "Bibliography",
    "KnowledgeError",
    "Source",
    "data_root",
    "format_errors",
    "load_bibliography",
    "load_bibliography_from",
    "parse_yaml",
    "read_yaml",
    "validate",
]

#: The one safe YAML loader (``backstory.yamlio``).
YAML_LOADER: Any = yamlio.LOADER

BIBLIOGRAPHY = "bibliography"
"""The folder of bibliography files (one namespace of source ids across all of them)."""

_M = TypeVar("_M", bound=BaseModel)


def data_root() -> Traversable:
    """The folder holding the bundled knowledge files."""
    return resources.files("backstory.knowledge").joinpath("data")


def parse_yaml(text: str, file: str, error: type[KnowledgeError] = KnowledgeError) -> Any:
    """YAML text to data, safely (no tags that build objects).

    Raises:
        KnowledgeError: the text is not valid YAML (the line is named).
    """
    try:
        return yamlio.safe_load(text)
    except yamlio.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"not valid YAML: {problem}", file=file, path=where) from None


def read_yaml(root: Traversable, name: str, error: type[KnowledgeError] = KnowledgeError) -> Any:
    """Read knowledge file ``name`` (``"imaging.yaml"``, ``"bibliography/core.yaml"``).

    Raises:
        KnowledgeError: the file is missing, unreadable or not valid YAML.
    """
    entry = root
    for part in name.split("/"):
        entry = entry.joinpath(part)
    try:
        text = entry.read_text("utf-8")
    except FileNotFoundError:
        raise error("the file is missing", file=name) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"cannot be read ({exc})", file=name) from None
    return parse_yaml(text, name, error)


def format_errors(exc: ValidationError, limit: int = 20) -> list[tuple[str, str]]:
    """Each pydantic problem as (path inside the file, plain message), at most ``limit``.

    A check's own message loses pydantic's "Value error, " prefix: it is written to be read.
    """
    return [
        (place, msg.removeprefix("Value error, ")) for place, msg in validation_problems(exc, limit)
    ]


def validate(
    model: type[_M],
    data: Any,
    file: str,
    path: str = "",
    error: type[KnowledgeError] = KnowledgeError,
) -> _M:
    """``data`` (found at ``path`` in ``file``) validated as ``model``.

    Raises:
        KnowledgeError: (or ``error``, a subclass) at the place of the first problem; the
            message lists up to 20.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = format_errors(exc)
        first = _join(path, problems[0][0]) if problems else path
        if len(problems) == 1:
            message = problems[0][1]
            if not problems[0][0]:  # a check of the whole file: its message names the place
                inner, message = split_path(message)
                first = _join(path, inner)
        else:
            more = exc.error_count() - len(problems)
            message = "; ".join(f"{_join(path, p) or '(top)'}: {m}" for p, m in problems)
            message = f"{exc.error_count()} problems: {message}" + (
                f" (and {more} more)" if more > 0 else ""
            )
        raise error(message, file=file, path=first) from None


def _join(base: str, inner: str) -> str:
    if not base:
        return inner
    if not inner:
        return base
    return f"{base}.{inner}"


NonBlank = Annotated[str, StringConstraints(min_length=1, pattern=r"\S")]


# Sites that copy documents they did not publish (document-sharing sites, article mirrors,
# aggregators). A clinician checking a claim must reach the publisher, NICE, the DOI or
# PubMed, so a source never links to one of these.
MIRROR_HOSTS = frozenset(
    {
        "scribd.com",
        "fdocuments.us",
        "fdocuments.in",
        "doczz.net",
        "studylib.net",
        "studylib.es",
        "docslides.com",
        "coek.info",
        "readkong.com",
        "5dok.org",
        "abcdocz.com",
        "chiro.org",
        "metajournal.com",
        "integrative-archives.com",
        "paperexplained.cn",
        "core.ac.uk",
    }
)


def _host(url: str) -> str:
    host = urlsplit(url.strip()).hostname or ""
    return host.rstrip(".").lower()


def is_mirror(url: str) -> bool:
    """Whether ``url`` points at a copy on a document-sharing or mirror site."""
    host = _host(url)
    return any(host == m or host.endswith("." + m) for m in MIRROR_HOSTS)


class Source(BaseModel):
    """One bibliography entry, the same for every bibliography file.

    ``url`` and ``doi`` must be given (``null`` when there is none), so that leaving one out
    is a decision, not an oversight.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
    short: NonBlank
    title: NonBlank
    authors: NonBlank
    year: StrictInt = Field(ge=1900, le=2100)
    url: str | None
    doi: str | None
    verified: Literal["primary", "secondary"]
    note: str = ""

    @model_validator(mode="after")
    def _links_lead_to_the_source(self) -> Source:
        if self.url is not None and is_mirror(self.url):
            raise ValueError(
                f"url {self.url} is a copy on a document-sharing or mirror site; link the"
                " publisher, NICE, the DOI or PubMed instead (or no link, saying why in note)"
            )
        if self.url is not None and not self.url.startswith("https://"):
            raise ValueError(f"url {self.url} must start with https://")
        return self

    @property
    def link(self) -> str | None:
        """The primary link first: the DOI when there is one, else the page given."""
        return f"https://doi.org/{self.doi}" if self.doi else self.url


@dataclass(frozen=True)
class Bibliography:
    """Every source of every bibliography file, by id, and which file defines each."""

    sources: Mapping[str, Source]
    file_of: Mapping[str, str]

    def defined_in(self, file: str) -> tuple[Source, ...]:
        """The sources bibliography file ``file`` (``"imaging.yaml"``) defines, in its order."""
        return tuple(s for sid, s in self.sources.items() if self.file_of[sid] == file)

    def check_cited(
        self, cited: Mapping[str, str], file: str, error: type[KnowledgeError] = KnowledgeError
    ) -> None:
        """Every citation (id -> place cited) resolves.

        Raises:
            KnowledgeError: (or ``error``) naming ``file`` and the place of the first unknown id.
        """
        for cid, where in cited.items():
            if cid not in self.sources:
                raise error(f"cites unknown source {cid!r}", file=file, path=where)

    def check_all_used(
        self,
        cited: Collection[str],
        file: str,
        bibliography_file: str,
        error: type[KnowledgeError] = KnowledgeError,
    ) -> None:
        """Every source that ``bibliography_file`` defines is among the ids ``file`` cites.

        Raises:
            KnowledgeError: (or ``error``) naming the bibliography file and the unused ids.
        """
        uncited = [s.id for s in self.defined_in(bibliography_file) if s.id not in cited]
        if uncited:
            raise error(
                f"sources never cited in {file}: {uncited}",
                file=f"bibliography/{bibliography_file}",
            )


def citation_places(cited: Iterable[tuple[str, Iterable[str]]]) -> dict[str, list[str]]:
    """Each cited id with every place that cites it, from (place, ids) pairs in order."""
    used: dict[str, list[str]] = {}
    for where, ids in cited:
        for cid in ids:
            used.setdefault(cid, []).append(where)
    return used


def first_places(cited: Iterable[tuple[str, Iterable[str]]]) -> dict[str, str]:
    """Each cited id with the first place that cites it, from (place, ids) pairs in order."""
    places: dict[str, str] = {}
    for where, ids in cited:
        for cid in ids:
            places.setdefault(cid, where)
    return places


def _bibliography_files(root: Traversable) -> Iterator[Traversable]:
    folder = root.joinpath(BIBLIOGRAPHY)
    yield from sorted(
        (e for e in folder.iterdir() if e.name.endswith(".yaml")), key=lambda e: e.name
    )


def load_bibliography_from(root: Traversable) -> Bibliography:
    """Merge every bibliography file; a source defined twice (same id, URL or DOI) is an error.

    One real source has one id, so that every citation of it reads the same and a correction
    to its entry reaches every place that cites it.

    Raises:
        KnowledgeError: naming the file and entry of the first problem.
    """
    sources: dict[str, Source] = {}
    file_of: dict[str, str] = {}
    seen: dict[str, str] = {}
    for entry in _bibliography_files(root):
        name = f"{BIBLIOGRAPHY}/{entry.name}"
        raw = read_yaml(root, name) or []
        if not isinstance(raw, list):
            raise KnowledgeError("must be a list of sources", file=name)
        for i, item in enumerate(raw):
            src = validate(Source, item, name, f"[{i}]")
            if src.id in sources:
                raise KnowledgeError(
                    f"source {src.id!r} defined twice (also in {BIBLIOGRAPHY}/{file_of[src.id]})",
                    file=name,
                    path=f"[{i}]",
                )
            for kind, value in (("URL", src.url), ("DOI", src.doi)):
                if value is None:
                    continue
                key = f"{kind} {value.strip().lower()}"
                if key in seen:
                    raise KnowledgeError(
                        f"source {src.id!r} has the {kind} of {seen[key]!r} ({value}); give "
                        "one source one id",
                        file=name,
                        path=f"[{i}]",
                    )
                seen[key] = src.id
            sources[src.id] = src
            file_of[src.id] = entry.name
    return Bibliography(sources, file_of)


@cache
def load_bibliography() -> Bibliography:
    """The bundled bibliography, loaded and checked once per process."""
    return load_bibliography_from(data_root())


def citations_in(obj: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every (citation id, place) found under any key named ``citations``.

    The place is the path of keys to it, a list entry named by its ``id`` where it has one
    (``/rules/RF-CES-NEW``), else by its index (``/essential[3]``).
    """
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            if key == "citations" and isinstance(value, list):
                for c in value:
                    yield str(c), where
            else:
                yield from citations_in(value, f"{where}/{key}")
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            label = item.get("id", "") if isinstance(item, Mapping) else ""
            yield from citations_in(item, f"{where}/{label}" if label else f"{where}[{i}]")
