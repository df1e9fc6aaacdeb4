"""The instrument parts of the patient questionnaire, generated from instruments.yaml.

Each instrument becomes one part of the questionnaire with one question per item. By default
the questions are the items' short labels in Backstory's own words, with the answers' own-words
labels (STarT Back, ODI and RMDQ; only for an instrument whose entry has a ``patient_intro``
and topics: an instrument without them is asked only in official wording). Own words are not
the validated wording, so a score from them is approximate (HZ-161). A clinic that holds a
licence for an instrument's official wording can load it from a file named by
``BACKSTORY_INSTRUMENT_WORDING`` (YAML or JSON), checked when the app starts; licensed wording
wins over own words, and each part says which wording it shows.

The file maps an instrument id to its wording::

    startback:
      source: Keele STarT Back Screening Tool, copyright Keele University, used under licence
      intro: ...                 # optional
      items:
        - text: ...              # one per item, in the tool's order
          answers: {0: ..., 1: ...}   # optional: the official text of each answer
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backstory import yamlio
from backstory.contract import Issue
from backstory.errors import ConfigError
from backstory.knowledge.loader import KnowledgeBase
from backstory.knowledge.schema import NOT_SURE, Instrument
from backstory.web.question import Part, Question

ENV = "BACKSTORY_INSTRUMENT_WORDING"
INSTRUMENT_WORDING = "instrument_wording"
"""The key of the loaded wording in the web app's state (``WebState.extra``)."""


class WordingError(ConfigError):
    """The licensed wording file cannot be used; the message says where."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ItemWording(_Model):
    text: str = Field(min_length=1)
    answers: dict[str, str] = {}


class InstrumentWording(_Model):
    source: str = Field(min_length=1)
    intro: str = ""
    items: tuple[ItemWording, ...]


Wording = Mapping[str, InstrumentWording]


def load_wording(path: str | Path, kb: KnowledgeBase) -> Wording:
    """Read and check a licensed wording file against the knowledge's instruments.

    Raises:
        WordingError: the file cannot be read, or does not fit an instrument (named).
    """
    try:
        raw = yamlio.safe_load(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise WordingError(f"{ENV}: cannot read {path}: {exc}") from None
    if not isinstance(raw, Mapping):
        raise WordingError(f"{ENV}: {path} must map instrument ids to their wording")
    instruments = {i.id: i for i in kb.instruments.instruments}
    out: dict[str, InstrumentWording] = {}
    for name, entry in raw.items():
        inst = instruments.get(str(name))
        if inst is None:
            raise WordingError(f"{ENV}: {name!r} is not an instrument ({sorted(instruments)})")
        if isinstance(entry, Mapping):  # YAML reads answer keys 0, 1 as numbers
            entry = {
                **entry,
                "items": [
                    {**it, "answers": {str(k): v for k, v in it.get("answers", {}).items()}}
                    if isinstance(it, Mapping)
                    else it
                    for it in entry.get("items", [])
                ],
            }
        try:
            wording = InstrumentWording.model_validate(entry)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise WordingError(f"{ENV}: {name}.{where}: {first['msg']}") from None
        if len(wording.items) != inst.length:
            raise WordingError(f"{ENV}: {name} needs {inst.length} items, has {len(wording.items)}")
        for i, item in enumerate(wording.items, start=1):
            values = {str(a.value) for a in inst.options(i)}
            if set(item.answers) - values:
                raise WordingError(
                    f"{ENV}: {name} item {i}: answers {sorted(set(item.answers) - values)} "
                    f"are not answers of this item ({sorted(values)})"
                )
        out[inst.id] = wording
    return out


def wording_of(path: str | None, kb: KnowledgeBase) -> Wording:
    """The licensed wording in ``path`` (the setting ``BACKSTORY_INSTRUMENT_WORDING``; none
    when unset)."""
    return load_wording(path, kb) if path else {}


def _own_words(inst: Instrument) -> bool:
    return bool(inst.patient_intro and inst.topics)


def _part(inst: Instrument, kb: KnowledgeBase, wording: InstrumentWording | None) -> Part:
    notes = kb.instruments.wording
    questions = []
    for i in range(1, inst.length + 1):
        official = wording.items[i - 1] if wording is not None else None
        text = official.text if official is not None else inst.topics[i - 1].capitalize()
        options = tuple(
            (str(a.value), official.answers.get(str(a.value)) or a.label)
            if official is not None
            else (str(a.value), own)
            for a, own in inst.patient_options(i)
        )
        questions.append(Question(f"{inst.id}.{i}", text, "choice", options, unsure=False))
    if wording is not None:
        intro = " ".join(
            t for t in (notes.licensed.replace("{source}", wording.source), wording.intro) if t
        )
    else:
        intro = f"{notes.own_words} {inst.patient_intro}"
    return Part(f"p-{inst.id}", inst.name, intro, tuple(questions))


def instrument_parts(kb: KnowledgeBase, wording: Wording | None = None) -> tuple[Part, ...]:
    """One questionnaire part per instrument that can be asked: in licensed wording when the
    clinic loaded it, else in Backstory's own words where the knowledge gives them."""
    given = wording or {}
    return tuple(
        _part(inst, kb, given.get(inst.id))
        for inst in kb.instruments.instruments
        if inst.id in given or _own_words(inst)
    )


def own_words_note(kb: KnowledgeBase, wording: Wording | None, answers: Mapping[str, Any]) -> str:
    """For a clinician's report of a patient questionnaire: which of its answered instruments
    the questionnaire asks in own words with the clinic's wording set-up (empty when none)."""
    given = wording or {}
    names = [
        inst.short
        for inst in kb.instruments.instruments
        if answers.get(inst.id) and inst.id not in given and _own_words(inst)
    ]
    if not names or not kb.instruments.wording.report:
        return ""
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return kb.instruments.wording.report.replace("{instruments}", listed)


def instrument_answers(
    form: Mapping[str, str], parts: tuple[Part, ...], kb: KnowledgeBase
) -> tuple[dict[str, Any], list[Issue]]:
    """The instruments' answer arrays from the patient's answers ("not sure" and blanks are
    unanswered items); an instrument with no answer at all is left out. An instrument that
    needs every item answered asks for the rest rather than sending a part of it."""
    instruments = {i.id: i for i in kb.instruments.instruments}
    data: dict[str, Any] = {}
    issues: list[Issue] = []
    for part in parts:
        inst = instruments[part.id.removeprefix("p-")]
        values: list[Any] = []
        wrong: set[str] = set()
        for i, q in enumerate(part.questions, start=1):
            raw = (form.get(q.field) or "").strip()
            allowed = {str(a.value): a.value for a in inst.options(i)}
            if raw in ("", NOT_SURE):
                values.append(None)
            elif raw in allowed:
                values.append(allowed[raw])
            else:
                issues.append(Issue(q.field, "please choose one of the answers"))
                wrong.add(q.field)
                values.append(None)
        if all(v is None for v in values):
            continue
        if inst.required_all:
            for q, v in zip(part.questions, values, strict=True):
                if v is None and q.field not in wrong:
                    issues.append(
                        Issue(q.field, "please answer every question in this part, or none")
                    )
        data[inst.id] = values
    return data, issues
