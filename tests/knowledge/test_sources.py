"""Sources a clinician can trust: the primary source first, never a mirror as the only link."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from backstory.explain.compose import source_refs
from backstory.knowledge.files import Source, is_mirror
from backstory.knowledge.loader import load_knowledge, load_sources

BIB = Path(__file__).parents[2] / "src" / "backstory" / "knowledge" / "data" / "bibliography"
ENTRIES: list[dict[str, Any]] = [
    e for f in sorted(BIB.glob("*.yaml")) for e in yaml.safe_load(f.read_text("utf-8")) or []
]


def _entry(**over: Any) -> dict[str, Any]:
    base = {
        "id": "x-2020",
        "short": "X 2020",
        "title": "A title",
        "authors": "X",
        "year": 2020,
        "verified": "primary",
        "url": None,
        "doi": None,
    }
    return base | over


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"] for e in ENTRIES])
def test_no_source_links_to_a_mirror(entry: dict[str, Any]) -> None:
    url = entry.get("url")
    assert url is None or not is_mirror(url), url
    assert url is None or url.startswith("https://"), url


def test_every_bibliography_file_is_checked_at_load() -> None:
    assert {s for s in load_sources()} == {e["id"] for e in ENTRIES}


@pytest.mark.parametrize(
    "url",
    [
        "https://scribd.com/document/1/x",
        "https://zh.scribd.com/document/1/x",
        "https://www.chiro.org/x.shtml",
        "http://chiro.org./x.shtml",
        "https://doczz.net/doc/1/x",
        "https://core.ac.uk/works/1",
    ],
)
def test_a_mirror_is_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="mirror"):
        Source.model_validate(_entry(url=url))


def test_plain_http_is_refused() -> None:
    with pytest.raises(ValidationError, match="https"):
        Source.model_validate(_entry(url="http://www.bmj.com/x"))


def test_the_doi_comes_first() -> None:
    both = Source.model_validate(_entry(url="https://example.org/copy", doi="10.1/abc"))
    assert both.link == "https://doi.org/10.1/abc"
    assert Source.model_validate(_entry(url="https://www.nice.org.uk/x")).link == (
        "https://www.nice.org.uk/x"
    )
    assert Source.model_validate(_entry()).link is None


def test_leaflet_sources_show_the_primary_link() -> None:
    """may-aina-2012 has a repository copy and a DOI: the leaflet gives the DOI."""
    kb = load_knowledge()
    (ref,) = source_refs(["may-aina-2012"], kb)
    assert ref.link == "https://doi.org/10.1016/j.math.2012.05.003"
