"""Instruments are data end to end (issue 11, item 3).

An invented four-item instrument ("sitstand", tests/data/knowledge-extra-instrument/) is laid
over a copy of the bundled knowledge. No Python file names it, yet it is validated, scored,
shown in the report (JSON, text, clinician summary), given batch input and output columns,
put in the FHIR Questionnaire and in the clinician's form: everything comes from its
instruments.yaml entry. The public instruments keep exactly the contract's keys.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from backstory import yamlio
from backstory.batch.flat import flat_columns
from backstory.batch.pipeline import Pipeline, output_columns, report_row
from backstory.batch.validate import Messages, validate
from backstory.contract import AssessmentError, load_contract, parse_assessment
from backstory.core.engine import Engine
from backstory.explain import render
from backstory.explain.clinician import compose_clinician
from backstory.fhir.questionnaire import forms_bundle, questionnaire, questionnaire_names
from backstory.knowledge.instruments import REPORT_KEYS
from backstory.knowledge.loader import (
    KnowledgeBase,
    KnowledgeError,
    data_root,
    load_knowledge_from,
)
from backstory.render.text import render_text
from backstory.web.forms import NOT_ASKED, assessment_form, form_to_assessment
from backstory.web.instrument_parts import instrument_answers, instrument_parts

OVERLAY = Path(__file__).parents[1] / "data" / "knowledge-extra-instrument"
SRC = Path(__file__).parents[2] / "src" / "backstory"
ANSWERS = [0, 1, 2, 1]


def _with_extra(root: Path, entry: dict[str, Any] | None = None) -> Path:
    """The bundled knowledge copied to ``root`` with the overlay's instrument appended."""
    shutil.copytree(Path(str(data_root())), root, dirs_exist_ok=True)
    shutil.copy(OVERLAY / "bibliography" / "synthetic.yaml", root / "bibliography")
    data = yamlio.safe_load((root / "instruments.yaml").read_text("utf-8"))
    data["instruments"].append(entry or yamlio.safe_load((OVERLAY / "instrument.yaml").read_text()))
    (root / "instruments.yaml").write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    return root


def _overlay_entry() -> dict[str, Any]:
    entry: dict[str, Any] = yamlio.safe_load((OVERLAY / "instrument.yaml").read_text("utf-8"))
    return entry


@pytest.fixture(scope="module")
def extra(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    root = _with_extra(tmp_path_factory.mktemp("knowledge"))
    return load_knowledge_from(root)  # type: ignore[arg-type]


def _assess(kb: KnowledgeBase, **answers: Any) -> Any:
    return Engine(kb).assess(parse_assessment({"age": 40, **answers}, kb.contract))


def test_no_python_file_names_the_extra_instrument() -> None:
    assert not [p for p in SRC.rglob("*.py") if "sitstand" in p.read_text("utf-8")]


def test_the_contract_takes_its_answers_from_the_knowledge(extra: KnowledgeBase) -> None:
    spec = extra.contract.instruments["sitstand"]
    assert spec.length == 4 and not spec.required_all
    assert {(s.type, s.minimum, s.maximum) for s in spec.items} == {("int", 0, 2)}
    with pytest.raises(AssessmentError, match=r"sitstand\[2\]"):
        parse_assessment({"age": 40, "sitstand": [0, 3, 0, 0]}, extra.contract)
    with pytest.raises(AssessmentError, match="sitstand"):  # the public contract alone refuses it
        parse_assessment({"age": 40, "sitstand": ANSWERS}, load_contract())


def test_the_report_carries_its_score(extra: KnowledgeBase) -> None:
    report = _assess(extra, sitstand=ANSWERS)
    assert report.scores["sitstand"] == {"score": 4}
    data = report.to_dict()
    assert data["sitstand"] == {"score": 4}
    assert list(data).index("sitstand") == list(data).index("rmdq") + 1
    assert "  Sit-stand check: 4/8" in render_text(report, extra).splitlines()
    summary = render(compose_clinician(report, kb=extra), "text")
    assert "Sit-stand check" in summary and "4/8" in summary


def test_an_unanswered_item_gives_no_score_and_says_why(extra: KnowledgeBase) -> None:
    part = _assess(extra, sitstand=[0, None, 2, 1])
    assert part.scores["sitstand"] is None
    assert part.score_notes["sitstand"].startswith("Every sitting and standing question")
    none = _assess(extra)
    assert none.scores["sitstand"] is None
    assert none.score_notes["sitstand"] == "The sitting and standing check was not given."
    assert "Sit-stand check" in render(compose_clinician(none, kb=extra), "text")


def test_batch_columns_and_scores(extra: KnowledgeBase) -> None:
    inputs = [c.name for c in flat_columns(extra.contract)]
    assert inputs[-4:] == ["sitstand_1", "sitstand_2", "sitstand_3", "sitstand_4"]
    outputs = output_columns(extra)
    assert "sitstand_score" in [o.name for o in outputs]
    raw = pl.DataFrame(
        {
            "id": ["a", "b"],
            "age": ["40", "52"],
            **{f"sitstand_{i}": [str(v), ""] for i, v in enumerate(ANSWERS, start=1)},
        }
    )
    checked = validate(raw, messages=Messages(extra.contract), contract=extra.contract)
    assert checked.rows_rejected == 0
    rows = Pipeline(extra).apply(checked.valid.lazy()).collect().to_dicts()
    assert [r["sitstand_score"] for r in rows] == [4, None]
    reference = report_row(_assess(extra, id="a", sitstand=ANSWERS), outputs, 1)
    assert reference["sitstand_score"] == 4


def test_the_fhir_questionnaire_has_its_group(extra: KnowledgeBase) -> None:
    q = questionnaire("assessment", extra)
    group = next(i for i in q["item"] if i["linkId"] == "sitstand")
    assert group["text"] == "Sitting and standing check (synthetic, 4 items)"
    first, *_, total = group["item"]
    assert first["linkId"] == "sitstand.1"
    assert first["text"] == "Question 1: sitting through a meal"
    codes = [o["valueCoding"]["code"] for o in first["answerOption"]]
    assert codes == ["sitstand-none", "sitstand-some", "sitstand-cannot"]
    weights = [o["extension"][0]["valueDecimal"] for o in first["answerOption"]]
    assert weights == [0, 1, 2]
    assert total["linkId"] == "sitstand.score" and total["readOnly"] is True
    assert "Invented for Backstory's tests" in q["copyright"]
    assert questionnaire_names(extra)[-1] == "sitstand"
    own = questionnaire("sitstand", extra)
    assert own["title"] == group["text"] and own["item"][0]["linkId"] == "sitstand"
    bundle = forms_bundle(extra)
    assert own in [e["resource"] for e in bundle["entry"]]


def test_the_clinician_form_has_its_items(extra: KnowledgeBase) -> None:
    sections = assessment_form(extra)
    section = next(s for s in sections if s.instrument == "sitstand")
    assert section.title == "Sitting and standing check (synthetic, 4 items) (Sit-stand check)"
    assert [f.label for f in section.fields][1] == "Question 2: getting up from a low chair"
    assert [c.label for c in section.fields[0].choices] == [
        "Cannot do it (2)",
        "Some trouble (1)",
        "No trouble (0)",
    ]
    form = {f.name: NOT_ASKED for s in sections for f in s.fields if f.kind == "radio"}
    form.update({"age": "40", **{f"sitstand.{i}": str(v) for i, v in enumerate(ANSWERS, 1)}})
    data, issues = form_to_assessment(form, kb=extra)
    assert issues == [] and data["sitstand"] == ANSWERS
    assert _assess(extra, sitstand=data["sitstand"]).scores["sitstand"] == {"score": 4}


# --- the public instruments stay the contract's --------------------------------------------


def test_public_instruments_match_the_contract(kb: KnowledgeBase) -> None:
    public = load_contract()
    assert kb.contract is public  # no instrument beyond the contract's: the contract itself
    assert [i.id for i in kb.instruments.instruments if i.public] == list(public.instruments)
    keys = {i.id: i.result_keys() for i in kb.instruments.instruments}
    assert keys == {
        "startback": ("total", "psychosocial", "risk"),
        "odi": ("percent", "band"),
        "rmdq": ("score",),
    }
    report = Engine(kb).assess(parse_assessment({"age": 40}))
    assert set(report.to_dict()) == REPORT_KEYS | set(public.instruments)


def _broken(tmp_path: Path, edit: Any) -> str:
    root = tmp_path / "k"
    entry = copy.deepcopy(_overlay_entry())
    _with_extra(root, entry)
    data = yamlio.safe_load((root / "instruments.yaml").read_text("utf-8"))
    edit(data["instruments"])
    (root / "instruments.yaml").write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    with pytest.raises(KnowledgeError) as exc:
        load_knowledge_from(root)  # type: ignore[arg-type]
    return str(exc.value)


def _set(index: int, key: str, value: Any) -> Any:
    def edit(insts: list[dict[str, Any]]) -> None:
        insts[index][key] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (_set(2, "answers", [{"value": 0, "label": "No"}, {"value": 2, "label": "Yes"}]), "gaps"),
        (
            _set(2, "answers", [{"value": v, "label": f"{v}"} for v in (0, 1, 2)]),
            "item 1 answers differ from the contract",
        ),
        (_set(0, "required_all", False), "length or required_all differs from the contract"),
        (_set(2, "public", False), "already a key"),
        (_set(3, "id", "pain"), "already a key"),
        (_set(3, "id", "triage"), "already a key"),
        (_set(3, "public", True), "marked public but the contract has no such instrument"),
        (_set(3, "topics", ["one"]), "needs 4 topics"),
        (_set(1, "patient_answers", {3: ["a"] * 5}), "patient_answers needs 6 labels"),
        (_set(1, "patient_answers", {11: ["a"] * 6}), "item 11 is out of 1..10"),
        (_set(3, "display", {"text": "{total}", "result": ""}), "not a score key"),
        (lambda insts: insts.pop(0), "need a public entry"),
    ],
)
def test_broken_instruments_are_refused(tmp_path: Path, edit: Any, words: str) -> None:
    message = _broken(tmp_path, edit)
    assert "instruments.yaml" in message and words in message


def test_the_patient_questionnaire_asks_it(extra: KnowledgeBase) -> None:
    parts = {p.id: p for p in instrument_parts(extra)}
    part = parts["p-sitstand"]
    assert part.title == "Sitting and standing check (synthetic, 4 items)"
    assert [q.text for q in part.questions][3] == "Sitting in a car for an hour"
    assert part.questions[0].options[2] == ("2", "Cannot do it")
    form = {f"sitstand.{i}": str(v) for i, v in enumerate(ANSWERS, start=1)}
    data, issues = instrument_answers(form, tuple(parts.values()), extra)
    assert issues == [] and data == {"sitstand": ANSWERS}
