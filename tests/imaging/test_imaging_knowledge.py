"""The knowledge file validates, and its citations and bibliography match both ways."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from backstory.imaging import ImagingKnowledge, explain_scan, load_imaging_knowledge
from backstory.imaging.knowledge import load_imaging_sources

DATA = Path(__file__).resolve().parents[2] / "src" / "backstory" / "knowledge" / "data"
REQUIRED_IDS = {
    "disc_degeneration",
    "disc_signal_loss",
    "disc_height_loss",
    "disc_bulge",
    "disc_protrusion",
    "disc_extrusion",
    "annular_fissure",
    "facet_degeneration",
    "spondylolisthesis",
    "modic",
    "stenosis",
    "cauda_equina_compression",
    "cord_compression",
    "fracture",
    "lesion",
    "infection",
}
URGENT_IDS = {"cauda_equina_compression", "cord_compression", "fracture", "lesion", "infection"}


def _raw() -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load((DATA / "imaging.yaml").read_text("utf-8"))
    return raw


def test_loads_and_validates() -> None:
    """The bundled file loads, with a version and every required finding."""
    kn = load_imaging_knowledge()

    assert kn.version
    assert {f.id for f in kn.findings} >= REQUIRED_IDS
    assert {f.id for f in kn.findings if f.concern == "urgent"} == URGENT_IDS
    assert kn.finding("haemangioma").concern != "urgent"


def test_every_citation_resolves_and_every_own_source_is_cited() -> None:
    """Citations resolve in the bibliography; every source in our file is cited."""
    kn = load_imaging_knowledge()
    all_ids = set()
    for path in sorted((DATA / "bibliography").glob("*.yaml")):
        all_ids |= {item["id"] for item in yaml.safe_load(path.read_text("utf-8")) or []}
    used = kn.citations_used()

    assert set(used) <= all_ids
    own = {s.id for s in load_imaging_sources()}
    assert own <= set(used)
    assert {"brinjikji-2015", "brinjikji-2015b"} <= own
    assert "girft-ces-2023" in used


def test_bibliography_entries_have_exactly_the_agreed_keys() -> None:
    """Each entry has exactly id, short, title, authors, year, url, doi, verified, note."""
    keys = {"id", "short", "title", "authors", "year", "url", "doi", "verified", "note"}
    entries = yaml.safe_load((DATA / "bibliography" / "imaging.yaml").read_text("utf-8"))

    for entry in entries:
        assert set(entry) == keys
        assert isinstance(entry["year"], int)
        assert entry["verified"] in {"primary", "secondary"}


def test_each_finding_cites_or_names_its_gap() -> None:
    """No finding is unsourced without saying so."""
    for spec in load_imaging_knowledge().findings:
        assert spec.citations or spec.evidence_gap


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: raw.update(surprise=1), "surprise"),
        (lambda raw: raw["findings"][0].update(patterns=["(unclosed"]), "does not compile"),
        (lambda raw: raw["prevalence"]["rows"]["disc_bulge"].update(values=[1, 2]), "one value"),
        (lambda raw: raw["findings"][0].update(concern="panic"), "concern"),
        (
            lambda raw: next(f for f in raw["findings"] if f["id"] == "fracture").update(
                plain="This is common and harmless."
            ),
            "must not reassure",
        ),
        (
            lambda raw: raw["findings"][0].update(plain="Wear and tear, like crumbling."),
            "uses",
        ),
        (
            lambda raw: raw["findings"][0].update(prevalence_row="no_such_row"),
            "not in the table",
        ),
    ],
)
def test_broken_knowledge_is_rejected(change: Any, message: str) -> None:
    """A bad edit fails at load with a message that says what is wrong."""
    raw = _raw()
    change(raw)

    with pytest.raises(ValidationError, match=message):
        ImagingKnowledge.model_validate(raw)


def test_unknown_citation_rejected_when_sources_given() -> None:
    """With a bibliography supplied, a citation that does not resolve is an error."""
    raw = _raw()
    raw["findings"][0]["citations"] = ["no-such-source"]
    raw["sources"] = [{"id": "brinjikji-2015", "short": "B"}]

    with pytest.raises(ValidationError, match="no-such-source"):
        ImagingKnowledge.model_validate(raw)


def test_custom_knowledge_is_used() -> None:
    """``explain_scan`` runs on knowledge passed in, not only the bundled file."""
    raw = _raw()
    raw["version"] = "test"
    kn = ImagingKnowledge.model_validate(raw)

    assert explain_scan("Disc bulge at L4/5.", 40, kn).knowledge_version == "test"


def test_knowledge_is_frozen() -> None:
    """Loaded knowledge cannot be changed by accident."""
    kn = load_imaging_knowledge()

    with pytest.raises(ValidationError):
        kn.version = "x"  # type: ignore[misc]
