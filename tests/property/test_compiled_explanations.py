"""The one-pass compiled explanations agree with the reference tree-walking versions."""

from __future__ import annotations

from typing import Any

from hypothesis import given

from backstory.contract import parse_assessment
from backstory.core.engine import engine_for
from backstory.knowledge.conditions import evidence_for, undetermined_fields
from backstory.knowledge.loader import load_knowledge
from backstory.testing import assessments

KB = load_knowledge()
ENGINE = engine_for(KB)


@given(assessments())
def test_open_fields_and_evidence_match_reference(data: dict[str, Any]) -> None:
    env = dict(parse_assessment(data).answers)
    for rule in KB.red_flags.rules:
        value, open_fields = ENGINE.rules_open[rule.id](env)
        assert value == KB.compile(rule.when)(env)
        expected = undetermined_fields(rule.when, env, KB.fact_conditions, KB.compiled_facts)
        assert set(open_fields) == expected
        why_value, pairs = ENGINE.rules_why[rule.id](env)
        assert why_value == value
        if value is True:
            ref = evidence_for(rule.when, env, KB.fact_conditions, KB.compiled_facts)
            seen: dict[str, Any] = {}
            for f, v in pairs:
                seen.setdefault(f, v)
            assert set(seen.items()) >= set(ref)
