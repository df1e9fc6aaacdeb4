"""One safe way to read untrusted JSON: size, depth, big-integer and surrogate limits.

Every place that reads JSON from outside (the command line, the API, the CDS routes, the
FHIR import) reads it here, so a hostile or broken input is refused in plain words before
Python's parser can fail in its own way (a ``RecursionError`` for deep nesting, a
``ValueError`` for an integer of thousands of digits) and before a lone surrogate can reach
a printer, a database or a log. The checks run in this order, each cheap:

1. size: at most ``max_bytes`` (UTF-8 bytes; checked by callers while reading, too);
2. depth: at most ``max_depth`` nested arrays and objects, counted *before* parsing;
3. parsing, with integers of more than ``MAX_INT_DIGITS`` digits refused;
4. no lone surrogate (``"\\ud800"``) in any text or key.

Pure: no I/O, deterministic.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from backstory.errors import InputError

MAX_BYTES = 1024 * 1024
"""Default size limit: 1 MiB (a full assessment is a few KiB; a FHIR response tens)."""
MAX_DEPTH = 64
"""Default nesting limit (an assessment nests 2 deep; a FHIR resource about 10)."""
MAX_INT_DIGITS = 100
"""Longest integer accepted: no answer needs more than a few digits."""

# a JSON string (escapes included) or one bracket: brackets inside strings do not count
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_OPEN = frozenset(b"[{")
_SURROGATE = "a text holds a lone surrogate (\\ud800-\\udfff), which is not Unicode"


class UnsafeJson(InputError):
    """JSON refused before or while parsing; ``str(exc)`` is one plain sentence."""


def nesting_depth(raw: bytes, limit: int) -> int:
    """The deepest nesting of arrays and objects in ``raw`` (stops counting past ``limit``)."""
    depth = deepest = 0
    for m in _TOKENS.finditer(raw):
        tok = m.group()
        if len(tok) == 1:
            if tok[0] in _OPEN:
                depth += 1
                if depth > deepest:
                    deepest = depth
                    if deepest > limit:
                        return deepest
            else:
                depth -= 1
    return deepest


def _int(text: str) -> int:
    digits = len(text) - (text[0] == "-")
    if digits > MAX_INT_DIGITS:
        raise UnsafeJson(f"a number has {digits} digits; at most {MAX_INT_DIGITS} are accepted")
    return int(text)


def _has_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return False


def loads(
    data: str | bytes,
    *,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
) -> Any:
    """Parse untrusted JSON text within the limits.

    Raises:
        UnsafeJson: too large, nested too deep, a huge integer, a lone surrogate, not UTF-8,
            or not JSON at all (the message says which, with line and column for bad JSON).
    """
    if isinstance(data, str):
        try:
            raw = data.encode("utf-8")
        except UnicodeEncodeError:
            raise UnsafeJson(_SURROGATE) from None
    else:
        raw = data
    if len(raw) > max_bytes:
        raise UnsafeJson(f"the JSON is larger than {size_text(max_bytes)}")
    if nesting_depth(raw, max_depth) > max_depth:
        raise UnsafeJson(f"the JSON is nested more than {max_depth} levels deep")
    try:
        text = raw.decode("utf-8-sig") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise UnsafeJson("the JSON is not UTF-8 text") from None
    try:
        value = json.loads(text, parse_int=_int, object_pairs_hook=object_pairs_hook)
    except json.JSONDecodeError as exc:
        raise UnsafeJson(
            f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:  # cannot happen within the depth limit; kept as a last guard
        raise UnsafeJson(f"the JSON is nested more than {max_depth} levels deep") from None
    if _has_surrogate(value):
        raise UnsafeJson(_SURROGATE)
    return value


def size_text(n: int) -> str:
    """A byte count in plain words (``256 KiB``), for messages about a limit."""
    if n >= 1024 * 1024 and n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MiB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} bytes"
