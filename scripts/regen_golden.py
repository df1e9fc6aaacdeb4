"""Regenerate tests/golden/*.txt from the example assessments: show the diff, write only if asked.

    python scripts/regen_golden.py           # show what would change (exit 1 if anything)
    python scripts/regen_golden.py --write   # write the golden files and their index

Every example in tests/data/examples is rendered. An example the contract rejects must be one
that ``expected.json`` says is invalid on purpose (``"exit": 2``); any other is an error: the
script names it and exits 2 without writing anything.

``tests/golden/index.json`` records, for each golden file, a digest of its text (with the
knowledge version line left out, so a version bump alone changes nothing) and the knowledge
version in which that text last changed. ``--write`` sets that version to the manifest's
current one for every file whose text changed, and ``tests/render/test_golden.py`` then
refuses the change until the manifest's ``changes`` entry for that version names the file:
a change to what a clinician reads is always written down where clinicians review changes.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from backstory.contract import AssessmentError, parse_assessment_json
from backstory.core.engine import assess
from backstory.knowledge.loader import load_knowledge
from backstory.render.text import render_text

TESTS = Path(__file__).resolve().parents[1] / "tests"
EXAMPLES = TESTS / "data" / "examples"
GOLDEN = TESTS / "golden"
INDEX = "index.json"
VERSION_LINE = re.compile(r"Knowledge version [^\s]+?\.(?=\s|$)")


def normalised(text: str) -> str:
    """The text with its knowledge version left out (a version bump alone is no change)."""
    return VERSION_LINE.sub("Knowledge version (version).", text)


def digest(text: str) -> str:
    return hashlib.sha256(normalised(text).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Plan:
    """What regeneration would do."""

    rendered: dict[str, str]  # golden file name -> new text
    invalid_on_purpose: list[str]  # example names
    unexpected_invalid: list[str]  # "name: problem"
    orphans: list[str]  # golden files with no valid example


def plan(examples: Path, golden: Path) -> Plan:
    expected = json.loads((examples / "expected.json").read_text("utf-8"))
    kb = load_knowledge()
    rendered: dict[str, str] = {}
    on_purpose: list[str] = []
    unexpected: list[str] = []
    for path in sorted(examples.glob("p*.json")):
        try:
            assessment = parse_assessment_json(path.read_text("utf-8"))
        except AssessmentError as exc:
            if expected.get(path.name, {}).get("exit") == 2:
                on_purpose.append(path.name)
            else:
                unexpected.append(f"{path.name}: {exc}")
            continue
        rendered[f"{path.stem}.txt"] = render_text(assess(assessment, kb))
    orphans = sorted(p.name for p in golden.glob("*.txt") if p.name not in rendered)
    return Plan(rendered, on_purpose, unexpected, orphans)


def load_index(golden: Path) -> dict[str, object]:
    path = golden / INDEX
    if not path.exists():
        return {"baseline": load_knowledge().version, "files": {}}
    data: dict[str, object] = json.loads(path.read_text("utf-8"))
    return data


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write the files (default: diff)")
    parser.add_argument("--examples", type=Path, default=EXAMPLES, help=argparse.SUPPRESS)
    parser.add_argument("--golden", type=Path, default=GOLDEN, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    p = plan(args.examples, args.golden)
    for name in p.invalid_on_purpose:
        print(f"{name}: rejected by the contract, as expected.json says (no golden file)")
    if p.unexpected_invalid:
        for line in p.unexpected_invalid:
            print(f"regen_golden: {line}", file=sys.stderr)
        print(
            "regen_golden: these examples are invalid but expected.json does not say so; "
            "nothing was written",
            file=sys.stderr,
        )
        return 2
    version = load_knowledge().version
    index = load_index(args.golden)
    files = dict(index.get("files", {}))  # type: ignore[call-overload]
    changed_text: list[str] = []  # more than the version line changed
    changed: list[str] = []
    for name, text in sorted(p.rendered.items()):
        path = args.golden / name
        old = path.read_text("utf-8") if path.exists() else ""
        if old == text:
            continue
        changed.append(name)
        sys.stdout.writelines(
            difflib.unified_diff(
                old.splitlines(keepends=True),
                text.splitlines(keepends=True),
                f"a/{name}",
                f"b/{name}",
            )
        )
        if normalised(old) != normalised(text):
            changed_text.append(name)
    for name in p.orphans:
        print(f"{name}: no valid example renders it any more; delete it by hand")
    new_files = {}
    for name, text in sorted(p.rendered.items()):
        before = files.get(name) or {}
        since = version if name in changed_text else before.get("changed_in", version)
        new_files[name] = {"sha256": digest(text), "changed_in": since}
    index_changed = new_files != files
    if not changed and not index_changed:
        print("golden files are up to date")
        return 0
    if not args.write:
        what = f"{len(changed)} golden file(s)" + (" and the index" if index_changed else "")
        print(f"{what} would change; run again with --write to write them")
        return 1
    for name in changed:
        (args.golden / name).write_text(p.rendered[name], "utf-8")
        print(f"wrote {name}")
    index = {"baseline": index.get("baseline", version), "files": new_files}
    (args.golden / INDEX).write_text(json.dumps(index, indent=2) + "\n", "utf-8")
    print(f"wrote {INDEX}")
    if changed_text:
        names = ", ".join(n.removesuffix(".txt") for n in changed_text)
        print(
            f"now name them in a changes entry for {version} in manifest.yaml "
            f"(tests/render/test_golden.py checks): {names}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
