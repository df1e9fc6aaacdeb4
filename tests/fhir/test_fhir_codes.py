"""The FHIR table: loads, fits the contract, knowledge and code table, refuses broken edits.

Codes are defined once, in codes.yaml (the shared code table); fhir.yaml names them by id.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from backstory.fhir.codes import (
    DATA_FILE,
    FIXED_CODES,
    FhirTableError,
    _check,
    build_table,
    load_table,
    load_table_from,
)
from backstory.knowledge.codes import load_code_table
from backstory.knowledge.loader import KnowledgeBase, data_root


def raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(Path(str(data_root()), DATA_FILE).read_text())
    return data


def check(data: dict[str, Any], kb: KnowledgeBase) -> None:
    _check(build_table(data, load_code_table()), kb.contract, kb)


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
        (("group_labels", "pain"), None, "group_labels: must name exactly"),
        (("disclosure", 0, "field"), "pain.legg", "not a grouped contract field"),
        (("disclosure", 0, "when", 0, "question"), "pain.nope", "not a contract field"),
        (("disclosure", 2, "when", 0, "answer"), True, "does not fit exam.sij_tests_done"),
        (("observations", 4, "code"), "loinc-97908-8", "is not a verified code"),
        (("observations", 4, "unit"), "snomed-192970008", "is not a verified code"),
        (
            ("observations", 0, "code"),
            "loinc-nprs",
            "observations/pain.back/code: names unknown code 'loinc-nprs'",
        ),
        (("observations", 4, "unit"), "percent", "names unknown code 'percent'"),
        (("suspected", "malignancy"), "no-such-code", "suspected/malignancy: names unknown code"),
        (("conditions", "radicular"), "icd10cm-m54-1", "conditions/radicular: names unknown"),
        (("risk_groups", "medium"), "loinc-97908-8", "is not a verified code"),
        (("risk_groups", "medium"), "risk-medium", "risk_groups/medium: names unknown code"),
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


def test_codes_are_defined_only_in_the_code_table(kb: KnowledgeBase) -> None:
    """fhir.yaml holds no codes of its own: a `codes` list there is refused."""
    data = raw()
    assert "codes" not in data
    data["codes"] = [{"id": "x", "system": "http://loinc.org", "code": "1-1", "status": "verified"}]
    with pytest.raises(FhirTableError, match="codes: Extra inputs are not permitted"):
        check(data, kb)


def test_every_code_comes_from_the_code_table() -> None:
    """The FHIR table's codes are the code table's entries, with the system as its URI."""
    codes = load_code_table()
    table = load_table()
    assert [c.id for c in table.codes] == [c.id for c in codes.codes]
    for c in table.codes:
        entry = codes.code(c.id)
        assert c.system == codes.system(entry.system).uri
        assert (c.code, c.display, c.status) == (entry.code, entry.display, entry.status)
    for cid in FIXED_CODES:
        assert table.code(cid).emittable


def test_an_unknown_code_id_in_fhir_yaml_is_refused_at_load(tmp_path: Path) -> None:
    """Loading a knowledge folder whose fhir.yaml names a code codes.yaml lacks fails, naming
    the place and the code table."""
    root = tmp_path / "data"
    shutil.copytree(Path(str(data_root())), root)
    assert load_table_from(root).code("icd10cm-g83-4").code == "G83.4"  # type: ignore[arg-type]
    path = root / DATA_FILE
    text = path.read_text("utf-8")
    old = "  cauda_equina_syndrome: icd10cm-g83-4"
    assert old in text
    path.write_text(text.replace(old, "  cauda_equina_syndrome: icd10cm-ces"), "utf-8")
    with pytest.raises(FhirTableError) as exc:
        load_table_from(root)  # type: ignore[arg-type]
    assert str(exc.value) == (
        "fhir.yaml/suspected/cauda_equina_syndrome: names unknown code 'icd10cm-ces'; "
        "every code is defined in codes.yaml"
    )


def test_a_code_removed_from_the_code_table_is_refused_at_load(tmp_path: Path) -> None:
    """Deleting a code fhir.yaml still names (here the ODI unit) fails the FHIR load."""
    root = tmp_path / "data"
    shutil.copytree(Path(str(data_root())), root)
    path = root / "codes.yaml"
    text = path.read_text("utf-8")
    start = text.index("  - id: ucum-percent")
    end = text.index("never_use:")
    path.write_text(text[:start] + "\n" + text[end:], "utf-8")
    with pytest.raises(FhirTableError) as exc:
        load_table_from(root)  # type: ignore[arg-type]
    assert "observations/odi.percent/unit: names unknown code 'ucum-percent'" in str(exc.value)
