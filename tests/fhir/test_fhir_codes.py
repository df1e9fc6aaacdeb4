"""The FHIR code table: loads, fits the contract and knowledge, and refuses broken edits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from backstory.fhir.codes import DATA_FILE, FhirTable, FhirTableError, _check, load_table
from backstory.knowledge.loader import KnowledgeBase, data_root


def raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(Path(str(data_root()), DATA_FILE).read_text())
    return data


def check(data: dict[str, Any], kb: KnowledgeBase) -> None:
    _check(FhirTable.model_validate(data), kb.contract, kb)


def test_shipped_table_loads(kb: KnowledgeBase) -> None:
    table = load_table()
    check(raw(), kb)
    assert table.canonical == "https://backstory.example/fhir"
    assert table.systems.instruments == "https://backstory.example/fhir/CodeSystem/instruments"


def test_only_verified_loinc_codes_and_no_invented_ones() -> None:
    table = load_table()
    loinc = {c.code: c.status for c in table.codes if c.system == "http://loinc.org"}
    assert loinc == {"72514-3": "verified", "97909-6": "verified", "97908-8": "unverified"}
    for c in table.project_codes:  # own codes never look like LOINC (digits-dash-digit)
        assert not c.code[:1].isdigit()


def test_every_verified_code_cites_its_evidence(kb: KnowledgeBase) -> None:
    for c in load_table().codes:
        fhir_own = c.system.startswith("http://terminology.hl7.org/")
        if c.emittable and not fhir_own and c.system != "http://unitsofmeasure.org":
            assert c.citations and all(s in kb.sources for s in c.citations), c.id


def test_risk_mapping_is_the_documented_one() -> None:
    table = load_table()
    assert {k: table.code(v).code for k, v in table.risk_groups.items()} == {
        "low": "low",
        "medium": "moderate",
        "high": "high",
    }


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        (("group_labels", "pain"), None, "group_labels must name exactly"),
        (("disclosure", 0, "field"), "pain.legg", "not a grouped contract field"),
        (("disclosure", 0, "when", 0, "question"), "pain.nope", "not a contract field"),
        (("disclosure", 2, "when", 0, "answer"), True, "does not fit exam.sij_tests_done"),
        (("observations", 4, "code"), "loinc-odi-panel", "is not a verified code"),
        (("codes", 0, "citations"), ["no-such-source"], "cites unknown source"),
        (("suspected", "malignancy"), "no-such-code", "names unknown code"),
        (("risk_groups", "medium"), "loinc-odi-panel", "is not a verified code"),
        (("instruments", "odi", "topics"), ["one"], "needs 10 topics"),
    ],
)
def test_broken_tables_are_refused(
    kb: KnowledgeBase, path: tuple[Any, ...], value: Any, words: str
) -> None:
    data = raw()
    node = data
    for key in path[:-1]:
        node = node[key]
    if value is None:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    with pytest.raises(FhirTableError, match=words):
        check(data, kb)
