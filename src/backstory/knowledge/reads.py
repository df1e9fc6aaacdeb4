"""Which answers the knowledge reads, and the answers deliberately left unread, with reasons.

No answer may be silently ignored: every contract field must be read by a rule, a pattern, a
score, a recommendation or an explanation, or be listed in ``unread_answers.yaml`` with a
written reason. The test suite (tests/knowledge/test_field_reads.py) puts this together with
the explanation texts, the outcome measures and the Python that reads answers by name.
"""

from __future__ import annotations

from collections import defaultdict
from importlib.resources.abc import Traversable

from pydantic import Field

from backstory.knowledge.conditions import Condition
from backstory.knowledge.files import read_yaml, validate
from backstory.knowledge.loader import KnowledgeBase, KnowledgeError, data_root
from backstory.knowledge.schema import Model

UNREAD_FILE = "unread_answers.yaml"


class UnreadAnswer(Model):
    """One contract field no rule reads, and why that is right."""

    field: str
    reason: str = Field(min_length=20)


class UnreadAnswers(Model):
    unread: list[UnreadAnswer]


def knowledge_reads(kb: KnowledgeBase) -> dict[str, set[str]]:
    """Every field the core knowledge reads, with the places that read it.

    Facts count where they are used (a fact no rule uses reads nothing). Instruments count as
    read by their scoring table; their items count where a pattern reads them. A
    recommendation's cautions count as reads of that recommendation.
    """
    out: dict[str, set[str]] = defaultdict(set)

    def add(cond: Condition, where: str) -> None:
        for f in kb.fields_of(cond):
            out[f].add(where)

    for c in kb.contradictions:
        add(c.when, f"contradictions.yaml/{c.id}")
    for r in kb.red_flags.rules:
        add(r.when, f"red_flags.yaml/{r.id}")
    for cat in kb.classification.precedence:
        if cat.when is not None:
            add(cat.when, f"classification.yaml/{cat.id}")
    for p in kb.patterns.patterns:
        for feat in p.features:
            where = f"patterns.yaml/{p.id}/{feat.id}"
            if feat.when is not None:
                add(feat.when, where)
            elif feat.field is not None:
                out[feat.field].add(where)
        for i, cap in enumerate(p.caps):
            add(cap.when, f"patterns.yaml/{p.id}/caps[{i}]")
    for inst in kb.instruments.instruments:
        out[inst.id].add(f"instruments.yaml/{inst.id}")
    for rec in kb.management.recommendations:
        add(rec.when, f"management.yaml/{rec.id}")
        for caution in rec.cautions:
            add(caution.when, f"management.yaml/{rec.id}/{caution.id}")
    for pw in kb.management.pathways:
        add(pw.applies_when, f"management.yaml/{pw.id}")
        for cr in pw.criteria:
            add(cr.when, f"management.yaml/{pw.id}/{cr.id}")
    return dict(out)


def load_unread_answers(root: Traversable | None = None) -> dict[str, str]:
    """The answers deliberately left unread (field -> reason), from ``unread_answers.yaml``.

    Raises:
        KnowledgeError: when the file is malformed or lists a field twice.
    """
    base = root or data_root()
    data = validate(UnreadAnswers, read_yaml(base, UNREAD_FILE), UNREAD_FILE)
    out: dict[str, str] = {}
    for entry in data.unread:
        if entry.field in out:
            raise KnowledgeError(f"{UNREAD_FILE}: {entry.field} is listed twice")
        out[entry.field] = " ".join(entry.reason.split())
    return out
