"""Synthetic cohorts in the flat form, for demos, tests and benchmarks.

Rows come from a few latent presentations so that scoring them gives plausible
proportions: about 1% serious pathology (cauda equina, cancer, infection, fracture,
aneurysm, cord compression), 7-8% radicular pain, and non-specific pain in facet,
sacroiliac, flexion-related, widespread or unclear shapes; STarT Back low/medium/high
roughly 47/35/18%. Answers are sometimes missing (not asked), and on request some rows
are broken in the ways real files are (out-of-range numbers, misspellings, an instrument
half filled, an age under 16). Everything is drawn with NumPy arrays, never row by row,
so a million rows take seconds. All data is synthetic.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from backstory.batch.chunks import file_format
from backstory.batch.flat import FlatColumn, flat_columns

Array = np.ndarray[Any, Any]

_EPOCH = _dt.date(1970, 1, 1).toordinal()
ROW_GROUP = 200_000  # rows per Parquet row group: the default chunk reads one group
# latent presentations
FACET, SIJ, FLEXION, WIDESPREAD, UNCLEAR, RADICULAR, SERIOUS = range(7)
_CLASS_P = [0.23, 0.11, 0.23, 0.135, 0.195, 0.09, 0.01]
# serious subtypes
CES, CANCER, INFECTION, FRACTURE, AAA, CORD = range(6)
_SERIOUS_P = [0.25, 0.25, 0.15, 0.2, 0.05, 0.1]


class _Cohort:
    """Column arrays under construction: codes/values with -1 (or a mask) for 'not asked'."""

    def __init__(self, n: int, rng: np.random.Generator, seed: int) -> None:
        self.n = n
        self.rng = rng
        self.seed = seed
        self.cols = {c.name: c for c in flat_columns()}
        self.values: dict[str, Array] = {}
        self.present: dict[str, Array] = {}

    def u(self) -> Array:
        # single precision halves the cost of the ~300 uniform draws per row
        return self.rng.random(self.n, dtype=np.float32)

    def by_class(self, cls: Array, table: Mapping[int, float], default: float) -> Array:
        p = np.full(7, default)
        for k, v in table.items():
            p[k] = v
        return p[cls]

    def put(self, name: str, values: Array, present: Array | float = 1.0) -> None:
        """Store a column; ``present`` is a mask or the share of rows that were asked."""
        if not isinstance(present, np.ndarray):
            present = self.u() < present
        self.values[name] = values
        self.present[name] = present.copy()

    def boolean(
        self,
        name: str,
        cls: Array,
        p_true: Mapping[int, float],
        default: float,
        asked: float = 0.85,
    ) -> None:
        self.put(name, self.u() < self.by_class(cls, p_true, default), asked)

    def enum(
        self,
        name: str,
        cls: Array,
        probs: Mapping[int, Sequence[float]],
        default: Sequence[float],
        asked: float = 0.85,
    ) -> None:
        values = self.cols[name].spec.values
        table = np.array([probs.get(k, default) for k in range(7)], dtype=np.float32)
        if table.shape[1] != len(values):  # pragma: no cover - a programming error
            raise ValueError(f"{name}: {len(values)} values, {table.shape[1]} probabilities")
        cum = np.cumsum(table / table.sum(axis=1, keepdims=True), axis=1)[cls]
        codes = (self.u()[:, None] > cum[:, :-1]).sum(axis=1)
        self.put(name, codes, asked)

    def force(self, name: str, mask: Array, value: Any) -> None:
        """Set an answer (and mark it asked) on the rows in ``mask``."""
        col = self.cols[name]
        if col.spec.type == "enum" and isinstance(value, str):
            value = col.spec.values.index(value)
        arr = self.values[name]
        if not isinstance(value, np.ndarray):
            arr[mask] = value
        else:
            arr[mask] = value[mask]
        self.present[name][mask] = True

    def series(self, col: FlatColumn) -> pl.Series:
        present = self.present.get(col.name)
        if present is None:
            return pl.Series(col.name, [None] * self.n, col.dtype)
        v = self.values[col.name]
        t = col.spec.type
        if t == "enum":
            mapping: dict[Any, Any] = dict(enumerate(col.spec.values))
            mapping[-1] = None
            codes = np.where(present, v, -1)
            return pl.Series(col.name, codes).replace_strict(mapping, return_dtype=col.dtype)
        s = pl.Series(col.name, v)
        expr: pl.Expr
        if t == "string":  # the id: readable and unique within a seed
            expr = pl.format("S{}-{}", pl.lit(self.seed), pl.lit(s) + 1)
        elif t == "date":  # stored as day numbers; written as text, as exported files are
            days = (s - _EPOCH).cast(pl.Int32).cast(pl.Date)
            expr = pl.lit(days).dt.to_string("%Y-%m-%d")
        else:
            expr = pl.lit(s).cast(col.dtype)
        out = pl.select(pl.when(pl.lit(pl.Series(present))).then(expr).alias(col.name))
        return out.to_series()


def cohort(
    n: int, seed: int = 0, invalid_rate: float = 0.0, missing_rate: float = 0.05
) -> pl.DataFrame:
    """``n`` synthetic assessments as a typed flat frame with an ``id`` column.

    ``missing_rate`` is the extra share of answers left out at random (on top of the
    questions that are simply not asked in some presentations); ``invalid_rate`` is the
    share of rows broken so the contract rejects them (typed breakages only here: see
    :func:`write_cohort` for the text ones a CSV can carry).
    """
    if not 0 <= invalid_rate <= 1 or not 0 <= missing_rate < 1:
        raise ValueError("rates must be between 0 and 1")
    rng = np.random.default_rng(seed)
    g = _Cohort(n, rng, seed)
    cls = rng.choice(7, size=n, p=_CLASS_P)
    sub = rng.choice(6, size=n, p=_SERIOUS_P)
    _demographics(g, cls, sub)
    _history(g, cls, sub)
    _pain(g, cls, sub)
    _movement(g, cls)
    _neuro_and_exam(g, cls, sub)
    _red_flags(g, cls, sub)
    _inflammatory(g, cls)
    _beliefs_and_treatment(g, cls)
    _instruments(g, cls)
    _blank(g, missing_rate)
    if invalid_rate:
        _break(g, invalid_rate)
    return pl.DataFrame([g.series(col) for col in flat_columns()])


def _demographics(g: _Cohort, cls: Array, sub: Array) -> None:
    n = g.n
    age = np.clip(np.rint(g.rng.normal(48, 15, n)), 18, 95).astype(np.int64)
    older = (cls == SERIOUS) & np.isin(sub, [CANCER, AAA])
    age[older] = np.clip(age[older] + 15, 50, 95)
    g.put("age", age)
    g.put("sex", g.rng.choice(4, size=n, p=[0.52, 0.46, 0.01, 0.01]), 0.95)
    g.values["id"] = np.arange(n)
    g.present["id"] = np.ones(n, dtype=bool)
    start = _dt.date(2024, 1, 1).toordinal()
    g.put("assessed_on", start + g.rng.integers(0, 730, n), 0.9)


def _history(g: _Cohort, cls: Array, sub: Array) -> None:
    n, rng = g.n, g.rng
    ser = cls == SERIOUS
    chronic_p = g.by_class(cls, {WIDESPREAD: 0.8, FACET: 0.45, SIJ: 0.4, UNCLEAR: 0.4}, 0.3)
    chronic = g.u() < chronic_p
    weeks = np.where(chronic, rng.integers(14, 300, n), rng.integers(0, 13, n)).astype(float)
    weeks += np.round(rng.random(n), 1) * (rng.random(n) < 0.2)
    g.put("history_duration_weeks", weeks, 0.95)
    older = g.values["age"] >= 60
    sudden = g.u() < np.where(older, 0.12, 0.25)
    g.put("history_onset", np.where(sudden, 1, 0), 0.85)
    trauma = np.where((g.u() < 0.1) & (g.values["age"] < 70), 1, 0)
    g.put("history_trauma", trauma, 0.85)
    g.boolean("history_previous_episodes", cls, {}, 0.55)
    first = np.minimum(g.values["age"], np.maximum(12, g.values["age"] - rng.integers(0, 30, n)))
    g.put("history_age_at_first_onset", first, 0.5)
    g.boolean("history_diabetes", cls, {}, 0.08)
    g.boolean("history_recent_spinal_procedure", cls, {}, 0.0)
    frac = ser & (sub == FRACTURE)
    major = frac & (g.u() < 0.4)
    g.force("history_trauma", major, "major")
    g.force("history_trauma", frac & ~major, "minor")
    g.force("history_onset", frac | (ser & (sub == AAA)), "sudden")
    inf = ser & (sub == INFECTION)
    g.force("history_recent_spinal_procedure", inf & (g.u() < 0.3), True)


def _pain(g: _Cohort, cls: Array, sub: Array) -> None:
    n, rng = g.n, g.rng
    rad = cls == RADICULAR
    back = np.clip(np.rint(rng.normal(5, 1.8, n)), 0, 10).astype(np.int64)
    g.put("pain_back", back, 0.95)
    referred = (g.u() < 0.3) & ~rad
    side = np.where(g.u() < 0.5, 1, 2)  # left or right, never both outside serious rows
    g.put("pain_leg_side", np.where(rad | referred, side, 0), 0.9)
    leg = np.where(rad, np.minimum(10, back + rng.integers(1, 4, n)), 0)
    leg = np.where(referred, np.maximum(1, np.minimum(back, rng.integers(1, 5, n))), leg)
    g.put("pain_leg", leg, 0.9)
    g.put("pain_below_knee", rad, 0.9)
    g.put("pain_leg_worse_than_back", rad & (g.u() < 0.9), 0.85)
    g.enum("pain_back_side", cls, {SIJ: [0.1, 0.4, 0.4, 0.1]}, [0.5, 0.2, 0.2, 0.1])
    g.boolean("pain_maximal_below_l5", cls, {SIJ: 0.8}, 0.15, asked=0.7)
    g.enum(
        "pain_distribution",
        cls,
        {FACET: [0.75, 0.2, 0.05], WIDESPREAD: [0.0, 0.4, 0.6]},
        [0.45, 0.45, 0.1],
    )
    g.boolean("pain_constant", cls, {WIDESPREAD: 0.5, SERIOUS: 0.5}, 0.15)
    night_p = {SERIOUS: [0.2, 0.4, 0.4]}
    g.enum("pain_night", cls, night_p, [0.6, 0.395, 0.005])
    g.put("pain_morning_stiffness_minutes", rng.integers(0, 60, n), 0.6)
    g.boolean("pain_thoracic", cls, {WIDESPREAD: 0.1}, 0.03)
    ser = cls == SERIOUS
    ces = ser & (sub == CES)
    g.force("pain_leg_side", ces & (g.u() < 0.4), "both")
    g.force("pain_thoracic", ser & (sub == CORD) & (g.u() < 0.5), True)


_MOVES = [
    "extension",
    "rotation",
    "side_bending",
    "flexion",
    "rising_from_flexion",
    "rising_from_sitting",
    "sitting",
    "standing",
    "walking",
    "lying_down",
    "cough_sneeze",
    "exercise",
    "rest",
]
# probabilities of (worse, better, no_change) per presentation
_MOVE_P: dict[str, dict[int, list[float]]] = {
    "extension": {FACET: [0.8, 0.05, 0.15], FLEXION: [0.15, 0.6, 0.25]},
    "rotation": {FACET: [0.6, 0.05, 0.35]},
    "side_bending": {FACET: [0.5, 0.05, 0.45]},
    "flexion": {FACET: [0.15, 0.2, 0.65], FLEXION: [0.85, 0.05, 0.1]},
    "rising_from_sitting": {SIJ: [0.55, 0.05, 0.4], FLEXION: [0.6, 0.05, 0.35]},
    "sitting": {FACET: [0.1, 0.4, 0.5], FLEXION: [0.75, 0.05, 0.2]},
    "standing": {FLEXION: [0.1, 0.5, 0.4]},
    "walking": {FACET: [0.1, 0.4, 0.5], FLEXION: [0.1, 0.6, 0.3]},
    "lying_down": {FACET: [0.05, 0.6, 0.35]},
    "cough_sneeze": {FACET: [0.1, 0.05, 0.85], RADICULAR: [0.5, 0.0, 0.5]},
}


def _movement(g: _Cohort, cls: Array) -> None:
    for move in _MOVES:
        g.enum(f"movement_{move}", cls, _MOVE_P.get(move, {}), [0.3, 0.15, 0.55], asked=0.8)


def _neuro_and_exam(g: _Cohort, cls: Array, sub: Array) -> None:
    rad = cls == RADICULAR
    ser = cls == SERIOUS
    g.boolean("neuro_leg_numbness", cls, {RADICULAR: 0.6}, 0.05)
    g.boolean("neuro_leg_weakness", cls, {RADICULAR: 0.25}, 0.0)
    side = np.where(g.values["pain_leg_side"] == 1, 0, 1)  # weak on the painful side
    g.put("neuro_weakness_side", side, g.values["neuro_leg_weakness"] & rad)
    g.boolean("neuro_dermatomal", cls, {RADICULAR: 0.6}, 0.0, asked=0.7)
    g.boolean("neuro_progressive_deficit", cls, {}, 0.0, asked=0.8)
    g.boolean("neuro_gait_disturbance", cls, {}, 0.0, asked=0.8)
    examined = g.u() < 0.6
    g.put("exam_extension_rotation_provokes", g.u() < g.by_class(cls, {FACET: 0.8}, 0.3), examined)
    g.put("exam_slr_positive", g.u() < g.by_class(cls, {RADICULAR: 0.7}, 0.0), examined)
    g.put("exam_crossed_slr_positive", rad & (g.u() < 0.1), examined)
    g.put("exam_femoral_stretch_positive", rad & (g.u() < 0.05), examined)
    deficit = rad & (g.u() < 0.3)
    g.put("exam_neuro_deficit", deficit, examined)
    grade = np.where(deficit, 4, 5)
    g.put("exam_worst_motor_grade", grade, examined & (g.u() < 0.7))
    g.put("exam_upper_motor_neuron_signs", np.zeros(g.n, dtype=bool), examined)
    sij_done = examined & (g.u() < g.by_class(cls, {SIJ: 0.8}, 0.1))
    pos = np.where(cls == SIJ, g.rng.integers(2, 6, g.n), g.rng.integers(0, 3, g.n))
    g.put("exam_sij_tests_done", np.full(g.n, 6), sij_done)
    g.put("exam_sij_provocation_positive", pos, sij_done)
    g.put(
        "exam_centralisation", g.u() < g.by_class(cls, {FLEXION: 0.4, FACET: 0.05}, 0.1), examined
    )
    g.put("exam_saddle_sensation_reduced", np.zeros(g.n, dtype=bool), examined & (g.u() < 0.5))
    g.put("exam_anal_tone_reduced", np.zeros(g.n, dtype=bool), examined & (g.u() < 0.2))
    cord = ser & (sub == CORD)
    g.force("neuro_gait_disturbance", cord, True)
    g.force("exam_upper_motor_neuron_signs", cord & (g.u() < 0.7), True)
    ces = ser & (sub == CES)
    g.force("exam_saddle_sensation_reduced", ces & (g.u() < 0.3), True)


def _red_flags(g: _Cohort, cls: Array, sub: Array) -> None:
    ser = cls == SERIOUS
    for col in flat_columns():
        if col.name.startswith("red_flags_"):
            g.put(col.name, np.zeros(g.n, dtype=bool), 0.85)
    g.force("red_flags_vascular_risk_factors", g.u() < 0.2, True)
    g.force("red_flags_anticoagulants", g.u() < 0.05, True)
    ces = ser & (sub == CES)
    which = g.rng.integers(0, 3, g.n)
    g.force("red_flags_bladder_dysfunction", ces & (which == 0), True)
    g.force("red_flags_saddle_anaesthesia", ces & (which == 1), True)
    g.force("red_flags_bilateral_leg_symptoms", ces & (which == 2), True)
    cancer = ser & (sub == CANCER)
    g.force("red_flags_history_of_cancer", cancer, True)
    g.force("red_flags_unexplained_weight_loss", cancer & (g.u() < 0.3), True)
    g.force("red_flags_cancer_active", cancer & (g.u() < 0.3), True)
    inf = ser & (sub == INFECTION)
    g.force("red_flags_fever", inf & (g.u() < 0.6), True)
    g.force("red_flags_iv_drug_use", inf & (g.u() < 0.4), True)
    g.force("red_flags_immunosuppressed", inf & (g.u() < 0.4), True)
    g.force("red_flags_systemically_unwell", inf, True)
    frac = ser & (sub == FRACTURE)
    g.force("red_flags_osteoporosis", frac & (g.u() < 0.6), True)
    g.force("red_flags_long_term_steroids", frac & (g.u() < 0.3), True)
    aaa = ser & (sub == AAA)
    g.force("red_flags_collapse_or_faint", aaa, True)
    g.force("red_flags_vascular_risk_factors", aaa, True)


def _inflammatory(g: _Cohort, cls: Array) -> None:
    p = {
        "improves_with_exercise": 0.3,
        "no_improvement_with_rest": 0.2,
        "wakes_second_half_of_night": 0.08,
        "night_pain_better_on_rising": 0.1,
        "buttock_pain": 0.2,
        "alternating_buttock_pain": 0.03,
        "psoriasis": 0.03,
        "uveitis": 0.01,
        "inflammatory_bowel_disease": 0.01,
        "family_history_spa": 0.02,
        "good_response_nsaids": 0.15,
        "peripheral_arthritis": 0.05,
        "enthesitis": 0.02,
        "crp_raised": 0.05,
    }
    for key, pt in p.items():
        g.boolean(f"inflammatory_{key}", cls, {}, pt, asked=0.5)
    g.enum("inflammatory_hla_b27", cls, {}, [0.02, 0.18, 0.8], asked=0.3)


def _beliefs_and_treatment(g: _Cohort, cls: Array) -> None:
    n, rng = g.n, g.rng
    fear = np.clip(np.rint(rng.normal(np.where(cls == WIDESPREAD, 6.5, 4), 2.2, n)), 0, 10)
    g.put("beliefs_fear_of_movement", fear.astype(np.int64), 0.7)
    conf = np.clip(np.rint(rng.normal(6, 2.2, n)), 0, 10)
    g.put("beliefs_confidence_to_move", conf.astype(np.int64), 0.7)
    g.boolean("beliefs_expects_recovery", cls, {WIDESPREAD: 0.5}, 0.8, asked=0.7)
    g.boolean("beliefs_off_work", cls, {WIDESPREAD: 0.3, RADICULAR: 0.3}, 0.12, asked=0.7)
    g.boolean("treatment_non_surgical_care_failed", cls, {}, 0.1, asked=0.4)
    g.enum("treatment_medial_branch_block", cls, {}, [0.05, 0.05, 0.9], asked=0.1)


def _pick(rng: np.random.Generator, n: int, width: int, count: Array) -> Array:
    """For each row, a random set of ``count`` of ``width`` items (boolean matrix)."""
    ranks = rng.random((n, width)).argsort(axis=1).argsort(axis=1)
    return ranks < count[:, None]


def _instruments(g: _Cohort, cls: Array) -> None:
    n, rng = g.n, g.rng
    # STarT Back: draw the risk group, then answers that give it
    p_risk = np.where((cls == WIDESPREAD)[:, None], [0.25, 0.40, 0.35], [0.50, 0.345, 0.155])
    risk = (rng.random(n)[:, None] > np.cumsum(p_risk, axis=1)[:, :-1]).sum(axis=1)
    psych = np.where(risk == 2, rng.integers(4, 6, n), rng.integers(0, 4, n))
    low_total = rng.integers(0, 4, n)
    psych = np.where(risk == 0, np.minimum(psych, low_total), psych)
    phys_low = low_total - psych
    phys_med = rng.integers(np.maximum(1, 4 - psych), 5)
    phys = np.select([risk == 0, risk == 1], [phys_low, phys_med], rng.integers(0, 5, n))
    given = g.u() < 0.85
    phys_items = _pick(rng, n, 4, phys)
    psych_items = _pick(rng, n, 5, psych)
    for i in range(4):
        g.put(f"startback_{i + 1}", phys_items[:, i].astype(np.int64), given)
    for i in range(4):
        g.put(f"startback_{i + 5}", psych_items[:, i].astype(np.int64), given)
    bother = np.where(psych_items[:, 4], rng.integers(3, 5, n), rng.integers(0, 3, n))
    g.put("startback_9", bother, given)
    # ODI and RMDQ from one latent disability level
    level = rng.beta(2, 4, n)
    odi_given = g.u() < 0.55
    one_gap = rng.integers(0, 10, n)
    gap = g.u() < 0.1
    for i in range(10):
        score = np.clip(np.rint(level * 5 + rng.normal(0, 0.8, n)), 0, 5).astype(np.int64)
        g.put(f"odi_{i + 1}", score, odi_given & ~(gap & (one_gap == i)))
    rmdq_given = g.u() < 0.25
    for i in range(24):
        g.put(f"rmdq_{i + 1}", (g.u() < level).astype(np.int64), rmdq_given)


def _blank(g: _Cohort, rate: float) -> None:
    """Leave answers out at random; STarT Back goes as a whole (all nine are required)."""
    if rate <= 0:
        return
    for name, present in g.present.items():
        if name in ("id", "age") or name.startswith("startback_"):
            continue
        present &= g.u() >= rate
    drop = g.u() < rate
    for i in range(1, 10):
        g.present[f"startback_{i}"] &= ~drop


_BREAKS = (
    "age_under_16",
    "age_missing",
    "age_over_110",
    "back_pain_11",
    "startback_gap",
    "onset_after_age",
    "sij_positive_over_done",
    "odi_item_7",
)


def _break(g: _Cohort, rate: float) -> None:
    """Break ``rate`` of the rows, one way each, so the contract rejects them."""
    rows = g.u() < rate
    kind = g.rng.integers(0, len(_BREAKS), g.n)
    pick = {name: rows & (kind == i) for i, name in enumerate(_BREAKS)}
    age = g.values["age"]
    age[pick["age_under_16"]] = g.rng.integers(12, 16, int(pick["age_under_16"].sum()))
    g.present["age"][pick["age_missing"]] = False
    age[pick["age_over_110"]] = 120
    g.force("pain_back", pick["back_pain_11"], 11)
    gap = pick["startback_gap"]
    for i in range(1, 10):
        g.present[f"startback_{i}"][gap] = True
    g.present["startback_3"][gap] = False
    over = pick["onset_after_age"]
    g.present["age"][over] = True
    g.force("history_age_at_first_onset", over, age + 5)
    sij = pick["sij_positive_over_done"]
    g.force("exam_sij_tests_done", sij, 2)
    g.force("exam_sij_provocation_positive", sij, 4)
    g.force("odi_1", pick["odi_item_7"], 7)


_TEXT_BREAKS: tuple[tuple[str, str], ...] = (
    ("red_flags_fever", "yes"),
    ("movement_extension", "wrose"),
    ("pain_leg", "5.0"),
)


def write_cohort(
    n: int,
    out: str | os.PathLike[str],
    *,
    seed: int = 0,
    invalid_rate: float = 0.0,
    missing_rate: float = 0.05,
) -> pl.DataFrame:
    """Write a cohort to CSV or Parquet (by extension) and return the frame written.

    A CSV also gets text breakages a typed file cannot hold ("yes" for a boolean, a
    misspelt movement answer, "5.0" for a whole number) in part of the broken rows.
    """
    fmt = file_format(out)
    df = cohort(n, seed, invalid_rate, missing_rate)
    if fmt == "csv" and invalid_rate:
        rng = np.random.default_rng(seed + 1)
        which = rng.integers(0, len(_TEXT_BREAKS), n)
        hit = rng.random(n) < invalid_rate / 3
        updates = []
        for i, (name, text) in enumerate(_TEXT_BREAKS):
            mask = pl.Series(hit & (which == i))
            updates.append(
                pl.when(mask).then(pl.lit(text)).otherwise(pl.col(name).cast(pl.String)).alias(name)
            )
        df = df.with_columns(updates)
    if fmt == "csv":
        df.write_csv(os.fspath(out))
    else:
        write_parquet(df, out)
    return df


def write_parquet(df: pl.DataFrame, out: str | os.PathLike[str]) -> None:
    """Write a flat frame as Parquet the way it reads back fastest.

    Version 2 data pages store Boolean columns run-length encoded; Polars reads those
    about four times faster than the plain bit-packed form of version 1 pages, and a
    flat assessment is mostly Boolean columns. Polars' metadata is kept, so enumerations
    read back as ``pl.Enum``.
    """
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    pq.write_table(
        df.to_arrow(),
        os.fspath(out),
        compression="lz4",
        data_page_version="2.0",
        row_group_size=ROW_GROUP,
    )
