"""The message ids of shared/spec/key-messages.md, typed here (not read from the data), so the
tests check the knowledge against the spec rather than against itself."""

from __future__ import annotations

NON_SPECIFIC = (
    "non-specific-is-a-category",
    "label-matters-less",
    "recovery-drivers",
    "sensitivity-not-damage",
    "same-first-steps",
    "imaging-not-needed",
    "flare-ups",
    "safety-net",
)
FACET = (
    "labels-overlap",
    "what-facet-joints-are",
    "irritated-not-damaged",
    "pattern-is-reasoning",
    "rarely-confirmed",
    "specific-sounding-not-worse",
    "sometimes-dominant",
    "behaviour-not-damage",
)
SCIATICA = (
    "sciatica-what-it-is",
    "sciatica-outlook",
    "imaging-not-needed",
    "stay-active",
    "flare-ups",
    "safety-net",
)
