"""The shipped knowledge validates, and broken knowledge is refused with a located message."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from backstory.knowledge.checks import check_knowledge
from backstory.knowledge.codes import CodeTableError, load_code_table_from
from backstory.knowledge.conditions import ConditionError, compile_condition, parse_condition
from backstory.knowledge.loader import KnowledgeBase, KnowledgeError, data_root, load_knowledge_from


def test_shipped_knowledge_passes_the_check() -> None:
    """Every citation resolves and every source is cited (across all knowledge files)."""
    result = check_knowledge()
    assert result.sources > 20 and result.citations > result.sources


def test_every_rule_cites_and_sources_resolve(kb: KnowledgeBase) -> None:
    for rule in kb.red_flags.rules:
        assert rule.citations and all(c in kb.sources for c in rule.citations)


def test_knowledge_is_versioned(kb: KnowledgeBase) -> None:
    assert kb.version.count(".") == 2


@pytest.fixture
def copy_root(tmp_path: Path) -> Path:
    src = Path(str(data_root()))
    dst = tmp_path / "data"
    shutil.copytree(src, dst)
    return dst


def break_file(root: Path, name: str, old: str, new: str) -> None:
    path = root / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("name", "old", "new", "message"),
    [
        (
            "red_flags.yaml",
            "{field: red_flags.fever, is: true}",
            "{field: red_flags.fevr, is: true}",
            "unknown field 'red_flags.fevr'",
        ),
        (
            "red_flags.yaml",
            "{field: history.trauma, is: major}",
            "{field: history.trauma, is: huge}",
            "'huge' is not a possible value",
        ),
        (
            "red_flags.yaml",
            "citations: [downie-2013]",
            "citations: [no-such-source]",
            "unknown source 'no-such-source'",
        ),
        ("red_flags.yaml", "{fact: cancer_history}", "{fact: no_such_fact}", "unknown fact"),
        (
            "red_flags.yaml",
            "    escalates: alone\n",
            "    escalates: alone\n    extra: 1\n",
            "extra",
        ),
        (
            "red_flags.yaml",
            "{field: age, gte: 70}",
            "{field: category, is: radicular}",
            "not available at this stage",
        ),
        ("patterns.yaml", "points: {worse: 1}", "points: {worst: 1}", "is not a value"),
        (
            "bibliography/fhir.yaml",
            "url: https://loinc.org",
            "url: https://github.com/kamillamagna/ICD-10-CSV",
            "source 'fhir-loinc' has the URL of 'ex-cms-icd10cm-2018'",
        ),
        (
            "bibliography/imaging.yaml",
            "doi: 10.3174/ajnr.A4173",
            "doi: 10.1136/BMJ.f7095",
            "source 'brinjikji-2015' has the DOI of 'downie-2013'",
        ),
    ],
)
def test_broken_knowledge_is_refused(
    copy_root: Path, name: str, old: str, new: str, message: str
) -> None:
    break_file(copy_root, name, old, new)
    with pytest.raises(KnowledgeError) as exc:
        load_knowledge_from(copy_root)  # type: ignore[arg-type]
    assert message in str(exc.value)


def test_kleene_logic() -> None:
    env = {"a": True, "b": False}
    c = lambda raw: compile_condition(parse_condition(raw), {})(env)  # noqa: E731
    assert c({"all": [{"field": "a", "is": True}, {"field": "x", "is": True}]}) is None
    assert c({"all": [{"field": "b", "is": True}, {"field": "x", "is": True}]}) is False
    assert c({"any": [{"field": "a", "is": True}, {"field": "x", "is": True}]}) is True
    assert c({"any": [{"field": "b", "is": True}, {"field": "x", "is": True}]}) is None
    assert c({"not": {"field": "x", "is": True}}) is None
    assert c({"field": "x", "is": True, "unknown": False}) is False
    assert (
        c(
            {
                "at_least": 2,
                "of": [
                    {"field": "a", "is": True},
                    {"field": "x", "is": True},
                    {"field": "b", "is": True},
                ],
            }
        )
        is None
    )
    assert (
        c(
            {
                "at_least": 2,
                "of": [
                    {"field": "a", "is": True},
                    {"field": "b", "is": True},
                    {"field": "b", "is": True},
                ],
            }
        )
        is False
    )
    assert c({"field": "x", "known": True}) is False


@pytest.mark.parametrize(
    "raw",
    [
        {"all": []},
        {"field": "a"},
        {"field": "a", "is": 1, "gt": 2},
        {"at_least": 3, "of": [{"fact": "x"}]},
        {"eval": "1+1"},
        "a == b",
        {"field": "a", "lambda": 1},
    ],
)
def test_malformed_conditions_are_refused(raw: object) -> None:
    with pytest.raises(ConditionError):
        parse_condition(raw)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "citations: [ex-cms-icd10cm-2018]",
            "citations: [fhir-cms-icd10cm-2018]",
            "cites unknown source 'fhir-cms-icd10cm-2018'",
        ),
        ("    system: LOINC\n", "    system: LOINC-2\n", "system 'LOINC-2' is not in systems"),
        ("    code: G83.4\n", "    code: M47.816\n", "is listed in never_use"),
    ],
)
def test_broken_code_table_is_refused(copy_root: Path, old: str, new: str, message: str) -> None:
    """codes.yaml is knowledge too: checked at load (and by `knowledge check`)."""
    break_file(copy_root, "codes.yaml", old, new)
    with pytest.raises(CodeTableError) as exc:
        load_code_table_from(copy_root)  # type: ignore[arg-type]
    assert message in str(exc.value)
