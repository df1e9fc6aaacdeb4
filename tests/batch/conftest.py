"""Helpers for the batch tests: the single-assessment engine's answers in flat form."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

import polars as pl
import pytest

from backstory.batch.flat import flatten, frame
from backstory.batch.pipeline import output_columns, report_row
from backstory.contract import parse_assessment
from backstory.core.engine import Engine
from backstory.knowledge.loader import KnowledgeBase

Expect = Callable[[Sequence[dict[str, Any]]], list[dict[str, Any]]]


@pytest.fixture(scope="session")
def engine(kb: KnowledgeBase) -> Engine:
    return Engine(kb)


@pytest.fixture(scope="session")
def expect(kb: KnowledgeBase, engine: Engine) -> Expect:
    """Each assessment through parse_assessment + Engine.assess, as a batch output row."""
    outputs = output_columns(kb)

    def _expect(data: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            report_row(engine.assess(parse_assessment(d)), outputs, i)
            for i, d in enumerate(data, start=1)
        ]

    return _expect


def typed_frame(data: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """Assessments as a typed flat frame (what a Parquet file holds)."""
    return frame([flatten(d) for d in data])


def csv_frame(data: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """Assessments written as CSV text and read back as text cells, as the batch reader does."""
    buf = io.BytesIO()
    typed_frame(data).write_csv(buf)
    return pl.read_csv(buf.getvalue(), infer_schema=False)


def assert_same(got: pl.DataFrame, want: list[dict[str, Any]]) -> None:
    """Every output column equal, row by row, with a readable first difference."""
    assert got.height == len(want)
    for i, (g, w) in enumerate(zip(got.iter_rows(named=True), want, strict=True)):
        assert g == w, f"row {i + 1}: " + ", ".join(
            f"{k}: batch {g[k]!r} != engine {w[k]!r}" for k in w if g[k] != w[k]
        )
