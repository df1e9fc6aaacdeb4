"""Nearest-name suggestions for misspelt keys and values.

A misspelt red flag must never vanish silently, and the error is only useful if it
points at what the person meant, so suggestions come from the same object's keys.
"""

from __future__ import annotations

from collections.abc import Iterable


def damerau_levenshtein(a: str, b: str) -> int:
    """Edit distance counting insertions, deletions, substitutions and adjacent swaps.

    This is the optimal-string-alignment variant, which is what people mean by a typo
    distance: each swap of two neighbouring letters costs one edit.
    """
    if a == b:
        return 0
    la, lb = len(a), len(b)
    if not la:
        return lb
    if not lb:
        return la
    prev2: list[int] = []
    prev = list(range(lb + 1))
    for i in range(1, la + 1):
        cur = [i] + [0] * lb
        ca = a[i - 1]
        for j in range(1, lb + 1):
            cb = b[j - 1]
            cost = 0 if ca == cb else 1
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                v = min(v, prev2[j - 2] + 1)
            cur[j] = v
        prev2, prev = prev, cur
    return prev[lb]


def _tokens(name: str) -> set[str]:
    return {t for t in name.lower().replace("-", "_").split("_") if len(t) >= 3}


def suggest(name: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
    """Up to ``limit`` candidates nearest to ``name``, nearest first.

    Ranking is by Damerau-Levenshtein distance on the lower-cased names; a candidate
    sharing a whole word with ``name`` (``bladder_problems`` and ``bladder_dysfunction``)
    is counted as nearer by the length of the shared words, because a person who
    remembers one word of a key usually means that key. A candidate that shares no word
    and needs more edits than a third of the name's length is not a plausible typo and is
    not suggested.
    """
    lname = name.lower()
    words = _tokens(name)
    scored: list[tuple[int, int, str]] = []
    for cand in candidates:
        lc = cand.lower()
        dist = damerau_levenshtein(lname, lc)
        shared = sum(len(w) for w in words & _tokens(cand))
        if not shared and dist > max(2, -(-len(lname) // 3)):
            continue
        scored.append((dist - shared, dist, cand))
    scored.sort()
    return [c for _, _, c in scored[:limit]]


def did_you_mean(near: list[str]) -> str:
    """`` Did you mean "a", "b" or "c"?`` for the suggestions, or nothing when there are none."""
    if not near:
        return ""
    quoted = [f'"{n}"' for n in near]
    joined = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f" Did you mean {joined}?"
