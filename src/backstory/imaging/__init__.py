"""Scan-report explainer: plain words and age-matched context for spine imaging reports.

``explain_scan`` is pure (no I/O); ``load_imaging_knowledge`` reads the bundled data once.
"""

from backstory.imaging.explain import (
    MAX_AGE,
    MIN_AGE,
    Caveat,
    Citation,
    Finding,
    ScanExplanation,
    ScanInputError,
    explain_scan,
    prevalence_for_age,
)
from backstory.imaging.knowledge import (
    ImagingKnowledge,
    ImagingKnowledgeError,
    load_imaging_knowledge,
)
from backstory.imaging.text import render_text

__all__ = [
    "MAX_AGE",
    "MIN_AGE",
    "Caveat",
    "Citation",
    "Finding",
    "ImagingKnowledge",
    "ImagingKnowledgeError",
    "ScanExplanation",
    "ScanInputError",
    "explain_scan",
    "load_imaging_knowledge",
    "prevalence_for_age",
    "render_text",
]
