"""The outcome rules as data: important change, recovery and reassessment, validated at load.

Thresholds are clinical knowledge, so they live in ``knowledge/data/outcomes.yaml`` where a
clinician can review them with their citations; these models refuse unknown keys, impossible
values and citations to sources the bibliography does not define.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from importlib.resources.abc import Traversable
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backstory.knowledge.files import (
    data_root,
    first_places,
    load_bibliography_from,
    read_yaml,
    validate,
)

DATA_FILE = "outcomes.yaml"

Citations = Annotated[list[str], Field(min_length=1)]
MeasureSource = Literal["pain.back", "pain.leg", "odi.percent", "rmdq.score"]
"""Where a measure's value is read from in a report (its JSON form)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ImportantChange(_Model):
    """The smallest change that matters to a patient: an absolute amount or a share of baseline."""

    absolute: Decimal = Field(gt=0)
    relative: Decimal = Field(gt=0, le=1)


class Measure(_Model):
    """One outcome measure where a higher value is worse (pain, disability)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)
    unit: str = Field(min_length=1)
    minimum: Decimal
    maximum: Decimal
    source: MeasureSource
    important_change: ImportantChange
    improvement_evaluable_from: Decimal | None = None
    """The lowest baseline from which an improvement can be judged; below it a fall is "not
    evaluable" (a deterioration is still judged). None: every baseline is evaluable."""
    citations: Citations

    @model_validator(mode="after")
    def _range(self) -> Measure:
        if self.minimum >= self.maximum:
            raise ValueError("minimum must be below maximum")
        if self.important_change.absolute > self.maximum - self.minimum:
            raise ValueError("the important change is larger than the whole scale")
        floor = self.improvement_evaluable_from
        if floor is not None and not self.minimum < floor <= self.maximum:
            raise ValueError(
                f"improvement_evaluable_from ({floor}) must be above the measure's minimum "
                f"({self.minimum}) and at most its maximum ({self.maximum})"
            )
        return self

    def improvement_evaluable(self, baseline: Decimal) -> bool:
        """Whether an improvement from this baseline can be judged (not below the floor)."""
        floor = self.improvement_evaluable_from
        return floor is None or baseline >= floor


class RiskGroup(_Model):
    """An ordered risk grouping (STarT Back); a change is a move between groups."""

    id: str
    label: str
    source: Literal["startback.risk"]
    order: list[str] = Field(min_length=2)
    citations: Citations


class RecoveryCriterion(_Model):
    """``measure`` at most ``at_most``; when not required it counts only if recorded."""

    measure: str
    at_most: Decimal
    required: bool


class Recovery(_Model):
    criteria: list[RecoveryCriterion] = Field(min_length=1)
    citations: Citations


class Reassess(_Model):
    """Days after the episode's first assessment by which no improvement prompts reassessment."""

    after_days: int = Field(gt=0, le=365)
    citations: Citations


class OutcomeRules(_Model):
    """Everything :mod:`backstory.outcomes` needs to judge change over an episode."""

    measures: list[Measure] = Field(min_length=1)
    risk_group: RiskGroup
    recovery: Recovery
    reassess: Reassess

    @model_validator(mode="after")
    def _consistent(self) -> OutcomeRules:
        ids = [m.id for m in self.measures]
        if len(set(ids)) != len(ids):
            raise ValueError("measure ids must be unique")
        if len({m.source for m in self.measures}) != len(ids):
            raise ValueError("two measures read the same source")
        for c in self.recovery.criteria:
            if c.measure not in ids:
                raise ValueError(f"recovery criterion names unknown measure {c.measure!r}")
        if not any(c.required for c in self.recovery.criteria):
            raise ValueError("recovery needs at least one required criterion")
        if len(set(self.risk_group.order)) != len(self.risk_group.order):
            raise ValueError("risk groups must be unique")
        return self

    def measure(self, measure_id: str) -> Measure:
        """The measure with this id."""
        for m in self.measures:
            if m.id == measure_id:
                return m
        raise KeyError(measure_id)

    def citations_by_place(self) -> list[tuple[str, list[str]]]:
        """(place in the file, the ids cited there), for every place that cites."""
        out = [
            ("risk_group.citations", self.risk_group.citations),
            ("recovery.citations", self.recovery.citations),
            ("reassess.citations", self.reassess.citations),
        ]
        out += [(f"measures[{i}].citations", m.citations) for i, m in enumerate(self.measures)]
        return out

    def citations(self) -> set[str]:
        """Every source id these rules cite."""
        out: set[str] = set(self.risk_group.citations)
        out.update(self.recovery.citations, self.reassess.citations)
        for m in self.measures:
            out.update(m.citations)
        return out


def load_outcome_rules_from(root: Traversable) -> OutcomeRules:
    """Load and check ``outcomes.yaml`` in a knowledge folder laid out like the bundled one.

    Raises:
        KnowledgeError: naming the file and the place of the first problem.
    """
    rules = validate(OutcomeRules, read_yaml(root, DATA_FILE), DATA_FILE)
    places = first_places(rules.citations_by_place())
    load_bibliography_from(root).check_cited(places, DATA_FILE)
    return rules


@cache
def load_outcome_rules() -> OutcomeRules:
    """The bundled outcome rules, loaded and checked once per process."""
    return load_outcome_rules_from(data_root())
