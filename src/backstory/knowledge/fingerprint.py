"""A fingerprint of the knowledge files, so that no edit goes out under an old version.

Every report is stamped with the knowledge version (HZ-12). If a rule, a threshold or a
sentence changed while the version stayed the same, two different behaviours would carry
one name. The manifest therefore records a SHA-256 of every other knowledge file and of the
assessment contract (whose fields, ranges and allowed values change what is accepted and
how it is read, so they change clinical output too), and
``backstory knowledge check`` (and the test suite) refuse files that no longer match it:
an edit must come with a new version, a line in ``changes`` and the new fingerprint,
which ``backstory knowledge fingerprint`` prints.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from importlib import resources
from importlib.resources.abc import Traversable

MANIFEST = "manifest.yaml"

#: Files outside the knowledge folder whose content changes clinical output: the name they
#: are hashed under, and the package and file they are read from.
OTHER_FILES: tuple[tuple[str, str, str], ...] = (
    ("contract/assessment-v1.yaml", "backstory.contract", "assessment-v1.yaml"),
)


def _files(root: Traversable, prefix: str = "") -> Iterator[tuple[str, Traversable]]:
    for entry in root.iterdir():
        name = prefix + entry.name
        if entry.is_dir():
            yield from _files(entry, name + "/")
        elif entry.name.endswith(".yaml") and name != MANIFEST:
            yield name, entry


def covered(root: Traversable) -> list[tuple[str, Traversable]]:
    """Every file the fingerprint covers, by name, in name order."""
    files = list(_files(root))
    files += [(name, resources.files(pkg).joinpath(f)) for name, pkg, f in OTHER_FILES]
    return sorted(files, key=lambda item: item[0])


def fingerprint(root: Traversable) -> str:
    """SHA-256 over every knowledge file but the manifest, and the contract: names and text.

    Line ends are normalised, so a checkout with Windows line ends has the same
    fingerprint as the released files.
    """
    digest = hashlib.sha256()
    for name, entry in covered(root):
        text = entry.read_bytes().replace(b"\r\n", b"\n")
        digest.update(name.encode("utf-8") + b"\0")
        digest.update(len(text).to_bytes(8, "big") + text)
    return digest.hexdigest()


def fingerprint_problem(root: Traversable, version: str, recorded: str | None) -> str | None:
    """Why the recorded fingerprint does not fit the files (None when it does)."""
    actual = fingerprint(root)
    if recorded == actual:
        return None
    if recorded is None:
        return f"{MANIFEST} records no fingerprint; add `fingerprint: {actual}`"
    return (
        f"the knowledge files changed since version {version} was recorded. Give the "
        f"knowledge a new version in {MANIFEST}, add a line to its changes saying what "
        f"changed, and set `fingerprint: {actual}`"
    )
