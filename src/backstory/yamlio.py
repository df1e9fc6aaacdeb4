"""The one place Backstory parses YAML: always safely (no tags that build Python objects).

Knowledge files go through ``backstory.knowledge.files`` (which adds file and place to every
error); the contract, the CDS trust file and the CDS replay cases use :func:`safe_load`
directly. The C loader is used where libyaml is installed, the pure-Python one otherwise;
both are safe loaders. This module imports nothing from the project, so every layer may use
it, and ``tests/test_architecture.py`` checks no other module imports ``yaml``.
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["LOADER", "YAMLError", "safe_load"]

LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

YAMLError = yaml.YAMLError
"""What :func:`safe_load` raises for text that is not valid YAML."""


def safe_load(text: str) -> Any:
    """YAML text to plain data (dicts, lists, strings, numbers, booleans, None, dates)."""
    return yaml.load(text, Loader=LOADER)
