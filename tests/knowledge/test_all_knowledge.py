"""Corrupt EACH knowledge file in a copy of the folder: the check names the file and the place.

For every knowledge file (core, questionnaire, codes, explanations, imaging, questions,
outcomes, FHIR, CDS Hooks and every bibliography file) a required text is deleted, a
citation to a source that does not exist is added, and, where the file holds regular
expressions, one is broken. The manifest's fingerprint is updated each time (as a careless
edit would), so it is the content checks that must catch the problem - this is how a
deleted ``do_now`` and a broken imaging pattern once passed ``backstory knowledge check``.
Then the entry points (the command line, the batch command, the web app factory) must
refuse to start, with one plain line and no traceback.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

import backstory.preflight as preflight_module
from backstory.errors import BackstoryError, KnowledgeError
from backstory.knowledge.files import data_root
from backstory.knowledge.fingerprint import fingerprint
from backstory.preflight import PARTS, check_all_knowledge

DATA = Path(str(data_root()))
EXAMPLE = Path(__file__).parents[2] / "examples" / "facet-pattern.json"
UNKNOWN = "no-such-source-zz"

Mutation = Callable[[Any], None]


def knowledge_files() -> list[str]:
    """Every knowledge file, as a path relative to the knowledge folder."""
    return sorted(str(p.relative_to(DATA)) for p in DATA.rglob("*.yaml"))


def _delete(*path: str | int) -> Mutation:
    def go(data: Any) -> None:
        for key in path[:-1]:
            data = data[key]
        del data[path[-1]]

    return go


def _set(value: Any, *path: str | int) -> Mutation:
    def go(data: Any) -> None:
        for key in path[:-1]:
            data = data[key]
        data[path[-1]] = value

    return go


def _citation_lists(data: Any) -> Iterator[list[Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            if key in ("citations", "safety_net_citations") and isinstance(value, list):
                yield value
            else:
                yield from _citation_lists(value)
    elif isinstance(data, list):
        for item in data:
            yield from _citation_lists(item)


def _cite_unknown(data: Any) -> None:
    next(_citation_lists(data)).append(UNKNOWN)


#: A required text to delete in each file, and the place the error must name.
DELETE: dict[str, tuple[Mutation, str]] = {
    "cds.yaml": (_delete("cards", "imaging_not_routine", "summary"), "imaging_not_routine"),
    "classification.yaml": (_delete("precedence", 0, "name"), "precedence.0.name"),
    "codes.yaml": (_delete("codes", 0, "display"), "codes/"),
    "contradictions.yaml": (_delete("contradictions", 0, "message"), "message"),
    "explanations.yaml": (_delete("triage_rules", "RF-CES-NEW", "do_now"), "RF-CES-NEW"),
    "facts.yaml": (_delete("facts", 0, "when"), "[0]"),
    "fhir.yaml": (_delete("group_labels", "history"), "history"),
    "imaging.yaml": (_delete("findings", 0, "plain"), "findings.0.plain"),
    "instruments.yaml": (_delete("instruments", 0, "not_given"), "not_given"),
    "management.yaml": (_delete("recommendations", 0, "text"), "recommendations.0.text"),
    "manifest.yaml": (_delete("summary"), "summary"),
    "outcomes.yaml": (_delete("measures", 0, "label"), "measures.0.label"),
    "patterns.yaml": (_delete("patterns", 0, "name"), "patterns.0.name"),
    "questionnaire.yaml": (_delete("parts", 0, "title"), "parts.0.title"),
    "questions.yaml": (_delete("entries", 0, "answer"), "entries.0.answer"),
    "red_flags.yaml": (_delete("rules", 0, "title"), "rules.0.title"),
    "screening.yaml": (_delete("essential", 0, "why"), "essential.0.why"),
    "unread_answers.yaml": (_delete("unread", 0, "reason"), "unread.0.reason"),
    "programme.yaml": (_delete("education", 0, "text"), "education"),
}
for _name in knowledge_files():
    if _name.startswith("bibliography/"):
        DELETE[_name] = (_delete(0, "title"), "[0].title")

#: Files that cite no source (nothing to corrupt that way).
CITE_NOTHING = {"manifest.yaml", "fhir.yaml", "unread_answers.yaml"}

#: A regular expression to break, in the files that hold them (a shared imaging fragment is
#: reported at the first pattern that uses it).
REGEX: dict[str, tuple[str, Mutation, str]] = {
    "imaging-pattern": (
        "imaging.yaml",
        _set(["(unclosed"], "findings", 0, "patterns"),
        "patterns[0]",
    ),
    "imaging-fragment": ("imaging.yaml", _set("dis[ck", "fragments", "disc"), "/patterns["),
    "cds-site": ("cds.yaml", _set("(lumb", "imaging_order", "site", 0), "imaging_order.site[0]"),
}


def _corrupted(tmp_path: Path, name: str, mutate: Mutation) -> Path:
    """A copy of the knowledge folder with ``name`` changed and its fingerprint up to date."""
    root = tmp_path / "data"
    shutil.copytree(DATA, root)
    path = root / name
    data = yaml.safe_load(path.read_text("utf-8"))
    mutate(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "utf-8")
    manifest = root / "manifest.yaml"
    text = manifest.read_text("utf-8")
    text = re.sub(r"(?m)^fingerprint: [0-9a-f]{64}$", f"fingerprint: {fingerprint(root)}", text)
    manifest.write_text(text, "utf-8")
    return root


def _refused(root: Path, name: str, place: str) -> KnowledgeError:
    with pytest.raises(KnowledgeError) as caught:
        check_all_knowledge(root)  # type: ignore[arg-type]
    exc = caught.value
    assert exc.file == name, f"named {exc.file!r}, not {name!r}: {exc}"
    assert exc.path, f"no place inside {name} named: {exc}"
    assert place in exc.path or place in exc.message, f"{place!r} not named: {exc}"
    assert exc.message
    return exc


def test_the_tables_cover_every_knowledge_file() -> None:
    files = knowledge_files()
    assert set(DELETE) == set(files), "a knowledge file has no corruption test"
    assert len(files) >= 20
    assert {"bibliography/core.yaml", "explanations.yaml", "imaging.yaml"} <= set(files)


def test_the_bundled_knowledge_passes() -> None:
    everything = check_all_knowledge()
    assert set(everything.parts) == set(PARTS)


@pytest.mark.parametrize("name", sorted(DELETE))
def test_deleting_a_required_text_is_found(tmp_path: Path, name: str) -> None:
    mutate, place = DELETE[name]
    _refused(_corrupted(tmp_path, name, mutate), name, place)


@pytest.mark.parametrize("name", sorted(n for n in DELETE if n not in CITE_NOTHING))
def test_citing_an_unknown_source_is_found(tmp_path: Path, name: str) -> None:
    if name.startswith("bibliography/"):
        # A bibliography cites nothing; the corruption there is a source defined twice.
        def twice(data: Any) -> None:
            data.append(dict(data[0]))

        exc = _refused(_corrupted(tmp_path, name, twice), name, "[")
        assert "twice" in exc.message
        return
    exc = _refused(_corrupted(tmp_path, name, _cite_unknown), name, "")
    assert UNKNOWN in exc.message


@pytest.mark.parametrize("case", sorted(REGEX))
def test_breaking_a_regex_is_found(tmp_path: Path, case: str) -> None:
    name, mutate, place = REGEX[case]
    exc = _refused(_corrupted(tmp_path, name, mutate), name, place)
    assert "compile" in exc.message


def test_a_corrupted_copy_really_differs_and_the_check_reads_the_copy(tmp_path: Path) -> None:
    """Guards the test itself: the copy is corrupted, and the original is untouched."""
    root = _corrupted(tmp_path, "explanations.yaml", DELETE["explanations.yaml"][0])
    assert (
        "do_now"
        not in yaml.safe_load((root / "explanations.yaml").read_text())["triage_rules"][
            "RF-CES-NEW"
        ]
    )
    assert (
        "do_now"
        in yaml.safe_load((DATA / "explanations.yaml").read_text())["triage_rules"]["RF-CES-NEW"]
    )


# -- entry points ------------------------------------------------------------------------------

#: The two corruptions that once crashed ``explain`` and ``imaging`` with a traceback, and one
#: in the core knowledge and one in a bibliography.
ENTRY_CASES = {
    "explanations.yaml": DELETE["explanations.yaml"][0],
    "imaging.yaml": REGEX["imaging-fragment"][1],
    "red_flags.yaml": DELETE["red_flags.yaml"][0],
    "bibliography/core.yaml": DELETE["bibliography/core.yaml"][0],
}


@pytest.fixture
def broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    name: str = request.param
    root = _corrupted(tmp_path, name, ENTRY_CASES[name])
    monkeypatch.setattr(preflight_module, "data_root", lambda: root)
    preflight_module.preflight.cache_clear()
    request.addfinalizer(preflight_module.preflight.cache_clear)
    return name


def _cli(*args: str) -> Any:
    from backstory.cli.main import cli

    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("broken", sorted(ENTRY_CASES), indirect=True)
@pytest.mark.parametrize(
    "args",
    [
        ("assess", str(EXAMPLE)),
        ("explain", str(EXAMPLE)),
        ("imaging", "--age", "40", "-"),
        ("fhir", "export", str(EXAMPLE)),
        ("batch", "in.csv", "out.csv"),
        ("serve", "--help-not-an-option"),
    ],
    ids=["assess", "explain", "imaging", "fhir", "batch", "serve"],
)
def test_every_command_refuses_to_start(broken: str, args: tuple[str, ...]) -> None:
    result = _cli(*args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("backstory: the knowledge is broken")
    assert broken in lines[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize("broken", sorted(ENTRY_CASES), indirect=True)
def test_knowledge_check_names_the_file(broken: str) -> None:
    result = _cli("knowledge", "check")
    assert result.exit_code == 1
    assert f"knowledge check failed: {broken}" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("broken", ["explanations.yaml"], indirect=True)
def test_help_still_works_with_broken_knowledge(broken: str) -> None:
    result = _cli("assess", "--help")
    assert result.exit_code == 0
    assert "Usage" in result.output


@pytest.mark.parametrize("broken", sorted(ENTRY_CASES), indirect=True)
def test_the_web_app_refuses_to_start(broken: str, tmp_path: Path) -> None:
    from backstory.storage import Database
    from backstory.web.app import create_app
    from backstory.web.settings import Settings

    db = Database(f"sqlite:///{tmp_path / 'web.db'}")
    with pytest.raises(KnowledgeError) as caught:
        create_app(Settings(), db)
    assert caught.value.file == broken
    assert isinstance(caught.value, BackstoryError)


#: Card and leaflet choices that would lower an escalation: refused at load, file and place
#: named (issue 11 item 2: these decisions moved from code into the data).
LOWERED: dict[str, tuple[str, Mutation, str, str]] = {
    "cds-emergency-not-critical": (
        "cds.yaml",
        _set("warning", "levels", 0, "indicator"),
        "levels",
        "must be critical",
    ),
    "cds-urgent-milder-than-soon": (
        "cds.yaml",
        _set("info", "levels", 1, "indicator"),
        "levels",
        "urgent shows milder than soon",
    ),
    "cds-a-level-missing": ("cds.yaml", _delete("levels", 3), "levels", "once"),
    "cds-imaging-advice-in-an-emergency": (
        "cds.yaml",
        _set(["routine", "emergency"], "decisions", "imaging_advice_levels"),
        "decisions",
        "no advice against imaging at level emergency",
    ),
    "leaflet-urgent-as-referral": (
        "explanations.yaml",
        _set(["urgent", "soon"], "leaflet_choice", "referral_levels"),
        "leaflet_choice",
        "both act-now and referral",
    ),
}


@pytest.mark.parametrize("case", sorted(LOWERED))
def test_a_choice_that_lowers_an_escalation_is_refused(tmp_path: Path, case: str) -> None:
    name, mutate, place, words = LOWERED[case]
    exc = _refused(_corrupted(tmp_path, name, mutate), name, place)
    assert words in str(exc)
