"""The reasoning engine: assessment in, report out. Pure, deterministic, no I/O.

The steps run in a fixed order, each adding derived values that later steps may read:
contradictions -> instrument scores -> triage -> classification -> patterns ->
management -> unknowns. Everything the engine knows comes from the KnowledgeBase.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from backstory.contract.validate import Assessment
from backstory.core.report import (
    Answer,
    CautionItem,
    Classification,
    CriterionResult,
    FeatureResult,
    Management,
    PathwayResult,
    PatternResult,
    RecommendationItem,
    Report,
    Screening,
    Triage,
    TriageReason,
    UnknownItem,
    WarningItem,
    WhatIf,
)
from backstory.core.scoring import score_instrument
from backstory.knowledge.conditions import (
    Compiled,
    Condition,
    Env,
    FactRef,
    OpenFn,
    WhyFn,
    compile_open,
    compile_why,
    parse_condition,
    walk,
)
from backstory.knowledge.loader import KnowledgeBase
from backstory.knowledge.schema import (
    CategoryDef,
    Caution,
    Contradiction,
    Feature,
    PatternDef,
    Recommendation,
    RedFlagRule,
)

_FIT_RANK = {"unlikely": 1, "possible": 2, "strong": 3}
_FITS_BY_RANK = {1: "unlikely", 2: "possible", 3: "strong"}
_FITS_DESC = ("strong", "possible", "unlikely", "unknown")
_MISSING = object()
_MEMO_LIMIT = 4096


def _fit(spec: PatternDef, score: int, answered: int, cap_rank: int, validated: int) -> str:
    """The fit for a score: unknown below min_answered, then thresholds, then caps.

    ``validated`` is the score without the positive points of features from criteria that
    failed validation: below ``possible_at`` it holds the fit at possible at most.
    """
    if answered < spec.min_answered:
        return "unknown"
    rank = 3 if score >= spec.strong_at else 2 if score >= spec.possible_at else 1
    if validated < spec.possible_at:
        cap_rank = min(cap_rank, 2)
    return _FITS_BY_RANK[min(rank, cap_rank)]


def _validated_part(points: int, failed: bool) -> int:
    """What one feature's points add to the validated score (failed: only its negatives)."""
    return min(points, 0) if failed else points


@dataclass(frozen=True, slots=True)
class _Feature:
    spec: Feature
    path: str | None
    points: Mapping[Any, int] | None
    cond: Compiled | None
    fields: tuple[str, ...]
    options: tuple[int, ...]
    unknown_result: FeatureResult
    cites: tuple[str, ...]
    results: dict[Any, FeatureResult]
    what_if: dict[tuple[int, int, int, int], WhatIf | None]
    failed: bool = False


@dataclass(frozen=True, slots=True)
class _Pattern:
    spec: PatternDef
    features: tuple[_Feature, ...]
    caps: tuple[tuple[Compiled, str, str], ...]
    citations: tuple[str, ...]


class Engine:
    """The knowledge compiled for evaluation; build once, assess many times."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        c = kb.compile
        self.contradictions: tuple[tuple[Compiled, Contradiction], ...] = tuple(
            (c(x.when), x) for x in kb.contradictions
        )
        self.instruments = tuple(
            (
                inst,
                [(str(g["value"]), c(_parse(g["when"]))) for g in inst.groups],
            )
            for inst in kb.instruments.instruments
        )
        self.rank: dict[str, int] = {lv.id: lv.rank for lv in kb.red_flags.levels}
        self.level_action: dict[str, str] = {lv.id: lv.action for lv in kb.red_flags.levels}
        self.rules: tuple[tuple[Compiled, RedFlagRule], ...] = tuple(
            (c(r.when), r) for r in kb.red_flags.rules
        )
        self.categories: tuple[tuple[Compiled | None, CategoryDef], ...] = tuple(
            (c(cat.when) if cat.when is not None else None, cat)
            for cat in kb.classification.precedence
        )
        self.patterns = tuple(self._pattern(p) for p in kb.patterns.patterns)
        self.recommendations: tuple[tuple[Compiled, Recommendation], ...] = tuple(
            (c(r.when), r) for r in kb.management.recommendations
        )
        self.pathways = tuple(
            (c(p.applies_when), p, tuple((c(cr.when), cr) for cr in p.criteria))
            for p in kb.management.pathways
        )
        self.level_names = {v: k for k, v in self.rank.items()}
        self.screening_items = {
            q.field: UnknownItem(q.field, q.why, "screening") for q in kb.screening.essential
        }
        self.unknown_memo: dict[tuple[str, int, tuple[str, ...], str], UnknownItem] = {}
        self.facts_open: dict[str, OpenFn] = {}
        for name in kb.facts:
            self._fact_open(name)
        self.facts_why: dict[str, WhyFn] = {}
        for name in self._fact_order():
            fact = kb.facts[name]
            cond = fact.when if fact.when is not None else fact.true_when
            assert cond is not None
            self.facts_why[name] = self._fact_why(name, cond)
        self.rules_why = {
            r.id: compile_why(r.when, self.facts_why, kb.fact_conditions)
            for r in kb.red_flags.rules
        }
        self.categories_why = {
            cat.id: compile_why(cat.when, self.facts_why, kb.fact_conditions)
            for cat in kb.classification.precedence
            if cat.when is not None
        }
        self.rules_open = {r.id: compile_open(r.when, self.facts_open) for r in kb.red_flags.rules}
        self.categories_open = {
            cat.id: compile_open(cat.when, self.facts_open)
            for cat in kb.classification.precedence
            if cat.when is not None
        }
        self.instrument_items = {
            name: tuple(spec.path for spec in inst.items)
            for name, inst in kb.contract.instruments.items()
        }
        self.cautions: dict[str, tuple[tuple[WhyFn, OpenFn, Caution], ...]] = {
            r.id: tuple(
                (
                    compile_why(cx.when, self.facts_why, kb.fact_conditions),
                    compile_open(cx.when, self.facts_open),
                    cx,
                )
                for cx in r.cautions
            )
            for r in kb.management.recommendations
        }

    def _pattern(self, p: PatternDef) -> _Pattern:
        kb = self.kb
        feats: list[_Feature] = []
        for f in p.features:
            if f.when is not None:
                fields = tuple(sorted(kb.fields_of(f.when)))
                feats.append(
                    _Feature(
                        f,
                        None,
                        None,
                        kb.compile(f.when),
                        fields,
                        (f.if_true, f.if_false),
                        FeatureResult(
                            f.id,
                            f.label,
                            0,
                            tuple(Answer(x, None) for x in fields),
                            tuple(f.citations),
                            f.note,
                        ),
                        tuple(f.citations),
                        {},
                        {},
                        f.validation == "failed",
                    )
                )
            else:
                assert f.field is not None and f.points is not None
                spec = kb.contract.fields.get(f.field)
                domain: tuple[Any, ...]
                if spec is not None and spec.type == "enum":
                    domain = spec.values
                elif spec is not None and spec.type == "bool":
                    domain = (True, False)
                else:  # instrument items and numeric fields: only listed values score
                    domain = tuple(f.points)
                opts = tuple(sorted({f.points.get(v, 0) for v in domain} | {0}))
                feats.append(
                    _Feature(
                        f,
                        f.field,
                        dict(f.points),
                        None,
                        (f.field,),
                        opts,
                        FeatureResult(
                            f.id,
                            f.label,
                            0,
                            (Answer(f.field, None),),
                            tuple(f.citations),
                            f.note,
                        ),
                        tuple(f.citations),
                        {},
                        {},
                        f.validation == "failed",
                    )
                )
        caps = tuple((kb.compile(cap.when), cap.max_fit, cap.reason) for cap in p.caps)
        return _Pattern(p, tuple(feats), caps, tuple(p.citations))

    # ------------------------------------------------------------------------------------
    def assess(self, assessment: Assessment) -> Report:
        """Reason over one validated assessment and return its report."""
        kb = self.kb
        env: dict[str, Any] = dict(assessment.answers)
        warnings: list[WarningItem] = []
        for cond, cx in self.contradictions:
            if cond(env) is True:
                fields = tuple(sorted(kb.fields_of(cx.when)))
                for path, value in cx.set.items():
                    env[path] = value
                for path in cx.unset:
                    env.pop(path, None)
                warnings.append(WarningItem(cx.id, cx.message, fields))
        for name, paths in self.instrument_items.items():
            values = env.get(name)
            if values is not None:
                for path, v in zip(paths, values, strict=True):
                    if v is not None:
                        env[path] = v

        scores: dict[str, dict[str, Any] | None] = {}
        notes: dict[str, str] = {}
        for inst, groups in self.instruments:
            result, note = score_instrument(inst, env.get(inst.id), groups)
            scores[inst.id] = result
            if note is not None:
                notes[inst.id] = note
            if result is not None:
                for k, v in result.items():
                    env[f"scores.{inst.id}.{k}"] = v

        triage, rule_results = self._triage(env)
        env["triage.level"] = triage.level
        env["triage.suspected_any"] = bool(triage.suspected)

        classification, cat_results = self._classify(env)
        env["category"] = classification.category

        patterns = tuple(
            self._evaluate_pattern(p, env, classification.category != "non_specific")
            for p in self.patterns
        )
        for pr in patterns:
            env[f"patterns.{pr.id}.fit"] = pr.fit

        management = self._manage(env)
        screening, unknowns = self._unknowns(env, triage, rule_results, cat_results, classification)
        if not screening.complete:
            warnings.append(
                WarningItem(
                    "SCREEN-INCOMPLETE",
                    kb.screening.incomplete_warning.format(
                        unanswered=len(screening.unanswered), total=screening.total
                    ),
                    screening.unanswered,
                )
            )

        cited = _collect_citations(triage, classification, patterns, management)
        return Report(
            id=assessment.id,
            assessed_on=assessment.answers.get("assessed_on"),
            age=assessment.age,
            triage=triage,
            classification=classification,
            patterns=patterns,
            unknowns=unknowns,
            warnings=tuple(warnings),
            scores=scores,
            score_notes=notes,
            pain={"back": env.get("pain.back"), "leg": env.get("pain.leg")},
            screening=screening,
            management=management,
            knowledge_version=kb.version,
            citations={cid: kb.sources[cid].short for cid in sorted(cited)},
        )

    # ------------------------------------------------------------------------------------
    def _fact_order(self) -> list[str]:
        order: list[str] = []

        def visit(name: str) -> None:
            if name in order:
                return
            for node in walk(self.kb.facts[name].as_condition()):
                if isinstance(node, FactRef):
                    visit(node.name)
            order.append(name)

        for name in self.kb.facts:
            visit(name)
        return order

    def _fact_why(self, name: str, cond: Condition) -> WhyFn:
        """A fact's value from its compiled form, with the evidence of its true part."""
        value = self.kb.compiled_facts[name]
        fact = self.kb.facts[name]
        why = compile_why(cond, self.facts_why, self.kb.fact_conditions)
        if fact.when is not None:
            return why
        assert fact.false_when is not None
        why_false = compile_why(fact.false_when, self.facts_why, self.kb.fact_conditions)

        def pair(env: Env) -> tuple[bool | None, tuple[tuple[str, Any], ...]]:
            r = value(env)
            if r is True:
                return r, why(env)[1]
            if r is False:
                return r, why_false(env)[1]
            return None, ()

        return pair

    def _fact_open(self, name: str) -> OpenFn:
        fn = self.facts_open.get(name)
        if fn is not None:
            return fn
        fact = self.kb.facts[name]
        for node in walk(fact.as_condition()):
            if isinstance(node, FactRef):
                self._fact_open(node.name)
        if fact.when is not None:
            fn = compile_open(fact.when, self.facts_open)
        else:
            assert fact.true_when is not None and fact.false_when is not None
            value = self.kb.compiled_facts[name]
            t = compile_open(fact.true_when, self.facts_open)
            f = compile_open(fact.false_when, self.facts_open)

            def pair(env: Env) -> tuple[bool | None, tuple[str, ...]]:
                r = value(env)
                return (r, ()) if r is not None else (None, t(env)[1] + f(env)[1])

            fn = pair
        self.facts_open[name] = fn
        return fn

    def _triage(self, env: Env) -> tuple[Triage, list[tuple[RedFlagRule, bool | None]]]:
        fired: list[RedFlagRule] = []
        results: list[tuple[RedFlagRule, bool | None]] = []
        for cond, rule in self.rules:
            r = cond(env)
            results.append((rule, r))
            if r is True:
                fired.append(rule)
        rank = self.rank
        level = "routine"
        for rule in fired:
            if rank[rule.level] > rank[level]:
                level = rule.level
        fired.sort(key=lambda r: (-rank[r.level], r.id))
        reasons = tuple(
            TriageReason(
                rule=r.id,
                title=r.title,
                level=r.level,
                suspected=tuple(r.suspected),
                action=r.action,
                rationale=r.rationale,
                escalates=r.escalates,
                because=_dedupe(self.rules_why[r.id](env)[1]),
                citations=tuple(r.citations),
            )
            for r in fired
        )
        suspected = tuple(sorted({s for r in fired for s in r.suspected}))
        return Triage(level, suspected, self.level_action[level], reasons), results

    def _classify(self, env: Env) -> tuple[Classification, list[tuple[CategoryDef, bool | None]]]:
        results: list[tuple[CategoryDef, bool | None]] = []
        for cond, cat in self.categories:
            r = True if cond is None else cond(env)
            results.append((cat, r))
            if r is True:
                because = _dedupe(self.categories_why[cat.id](env)[1]) if cat.when else ()
                return (
                    Classification(cat.id, cat.name, cat.rationale, because, tuple(cat.citations)),
                    results,
                )
        raise AssertionError("the last category has no condition")  # pragma: no cover

    def _evaluate_pattern(self, p: _Pattern, env: Env, informational: bool) -> PatternResult:
        spec = p.spec
        score = 0
        validated = 0
        answered = 0
        pending: list[_Feature] = []
        supporting: list[FeatureResult] = []
        against: list[FeatureResult] = []
        neutral: list[FeatureResult] = []
        unknown: list[FeatureResult] = []
        for f in p.features:
            if f.points is not None:
                v = env.get(f.path)  # type: ignore[arg-type]
                if v is None:
                    pending.append(f)
                    unknown.append(f.unknown_result)
                    continue
                key: Any = v
            else:
                assert f.cond is not None
                r = f.cond(env)
                if r is None:
                    pending.append(f)
                    unknown.append(f.unknown_result)
                    continue
                key = (r, *(env.get(x) for x in f.fields))
            res = f.results.get(key)
            if res is None:
                res = self._feature_result(f, key)
            pts = res.points
            answered += 1
            score += pts
            validated += _validated_part(pts, f.failed)
            if pts > 0:
                supporting.append(res)
            elif pts < 0:
                against.append(res)
            else:
                neutral.append(res)
        cap_rank = 3
        caps: list[str] = []
        for cond, max_fit, reason in p.caps:
            if cond(env) is True:
                caps.append(reason)
                if _FIT_RANK[max_fit] < cap_rank:
                    cap_rank = _FIT_RANK[max_fit]
        fit = _fit(spec, score, answered, cap_rank, validated)
        if (
            spec.failed_validation_limit
            and validated < spec.possible_at
            and score >= spec.strong_at
            and cap_rank == 3
            and answered >= spec.min_answered
        ):
            caps.append(spec.failed_validation_limit)
        would: list[WhatIf] = []
        for f in pending:
            wkey = (score, answered, cap_rank, validated)
            what = f.what_if.get(wkey, _MISSING)
            if what is _MISSING:
                outcomes = {
                    _fit(
                        spec,
                        score + o,
                        answered + 1,
                        cap_rank,
                        validated + _validated_part(o, f.failed),
                    )
                    for o in f.options
                }
                outcomes.discard(fit)
                what = (
                    WhatIf(
                        f.spec.id,
                        f.spec.label,
                        f.fields,
                        tuple(x for x in _FITS_DESC if x in outcomes),
                    )
                    if outcomes
                    else None
                )
                f.what_if[wkey] = what
            if what is not None:
                would.append(what)  # type: ignore[arg-type]
        return PatternResult(
            id=spec.id,
            name=spec.name,
            fit=fit,
            score=score,
            answered=answered,
            informational=informational,
            summary=spec.summary,
            supporting=tuple(supporting),
            against=tuple(against),
            neutral=tuple(neutral),
            unknown=tuple(unknown),
            caps=tuple(caps),
            would_change=tuple(would),
            accuracy_note=spec.accuracy_note,
            citations=p.citations,
        )

    @staticmethod
    def _feature_result(f: _Feature, key: Any) -> FeatureResult:
        """Build (once per distinct answer) the record of one answered feature."""
        fs = f.spec
        if f.points is not None:
            pts = f.points.get(key, 0)
            answers: tuple[Answer, ...] = (Answer(f.fields[0], key),)
        else:
            pts = fs.if_true if key[0] else fs.if_false
            answers = tuple(Answer(x, v) for x, v in zip(f.fields, key[1:], strict=True))
        res = FeatureResult(fs.id, fs.label, pts, answers, f.cites, fs.note)
        if len(f.results) < _MEMO_LIMIT:
            f.results[key] = res
        return res

    def _manage(self, env: Env) -> Management:
        recommended: list[RecommendationItem] = []
        not_recommended: list[RecommendationItem] = []
        for cond, rec in self.recommendations:
            if cond(env) is True:
                cautions, check_first = self._cautions(rec.id, env)
                item = RecommendationItem(
                    rec.id,
                    rec.kind,
                    rec.text,
                    rec.reason,
                    rec.guideline,
                    tuple(rec.citations),
                    cautions,
                    check_first,
                )
                (not_recommended if rec.kind == "do_not_offer" else recommended).append(item)
        pathways: list[PathwayResult] = []
        for applies, pw, criteria in self.pathways:
            if applies(env) is not True:
                continue
            results = tuple(CriterionResult(cr.id, cr.label, cond(env)) for cond, cr in criteria)
            met = [r.met for r in results]
            if all(m is True for m in met):
                status, summary = "criteria_met", pw.when_met
            elif any(m is False for m in met):
                status, summary = "not_indicated", pw.when_not_met
            else:
                status, summary = "incomplete", pw.when_incomplete
            pathways.append(
                PathwayResult(pw.id, pw.name, status, summary, results, tuple(pw.citations))
            )
        return Management(tuple(recommended), tuple(not_recommended), tuple(pathways))

    def _cautions(self, rec_id: str, env: Env) -> tuple[tuple[CautionItem, ...], tuple[str, ...]]:
        """The cautions that hold for this person, and the unanswered fields of those unknown."""
        held: list[CautionItem] = []
        check: dict[str, None] = {}
        for why, open_fields, cx in self.cautions[rec_id]:
            r, pairs = why(env)
            if r is True:
                held.append(CautionItem(cx.id, cx.text, _dedupe(pairs), tuple(cx.citations)))
            elif r is None:
                for f in open_fields(env)[1]:
                    if env.get(f) is None:
                        check[f] = None
        return tuple(held), tuple(check)

    def _unknowns(
        self,
        env: Env,
        triage: Triage,
        rule_results: list[tuple[RedFlagRule, bool | None]],
        cat_results: list[tuple[CategoryDef, bool | None]],
        classification: Classification,
    ) -> tuple[Screening, tuple[UnknownItem, ...]]:
        kb = self.kb
        items: dict[str, UnknownItem] = {}
        essential = kb.screening.essential
        missing = tuple(q.field for q in essential if env.get(q.field) is None)
        for f in missing:
            items[f] = self.screening_items[f]
        rank = self.rank
        current = rank[triage.level]
        raise_to: dict[str, tuple[int, list[str], str]] = {}
        for rule, r in rule_results:
            if r is not None or rank[rule.level] <= current:
                continue
            for f in sorted(set(self.rules_open[rule.id](env)[1])):
                if env.get(f) is not None or f in items:
                    continue
                lv, rules, title = raise_to.get(f, (0, [], rule.title))
                if rank[rule.level] > lv:
                    title = rule.title
                raise_to[f] = (max(lv, rank[rule.level]), [*rules, rule.id], title)
        names = self.level_names
        for f, (lv, rules, title) in sorted(raise_to.items(), key=lambda x: (-x[1][0], x[0])):
            key = (f, lv, tuple(rules), title)
            item = self.unknown_memo.get(key)
            if item is None:
                item = UnknownItem(
                    f,
                    f"Unanswered; the answer could raise the triage to {names[lv]} ({title}).",
                    "triage",
                    names[lv],
                    key[2],
                )
                if len(self.unknown_memo) < _MEMO_LIMIT:
                    self.unknown_memo[key] = item
            items[f] = item
        for cat, r in cat_results:
            if cat.id == classification.category:
                break
            if r is None and cat.when is not None:
                for f in sorted(set(self.categories_open[cat.id](env)[1])):
                    if env.get(f) is None and f not in items:
                        items[f] = UnknownItem(
                            f,
                            f"Unanswered; the answer could change the working classification "
                            f"to {cat.name.lower()}.",
                            "classification",
                        )
        screening = Screening(
            complete=not missing,
            asked=len(essential) - len(missing),
            total=len(essential),
            unanswered=missing,
        )
        return screening, tuple(items.values())


def _dedupe(pairs: tuple[tuple[str, Any], ...]) -> tuple[Answer, ...]:
    seen: set[str] = set()
    out: list[Answer] = []
    for f, v in pairs:
        if f not in seen:
            seen.add(f)
            out.append(Answer(f, v))
    return tuple(out)


def _parse(raw: Any) -> Condition:
    return parse_condition(raw)


def _collect_citations(
    triage: Triage,
    classification: Classification,
    patterns: tuple[PatternResult, ...],
    management: Management,
) -> set[str]:
    out: set[str] = set(classification.citations)
    for r in triage.reasons:
        out.update(r.citations)
    for p in patterns:
        out.update(p.citations)
        for f in (*p.supporting, *p.against, *p.neutral, *p.unknown):
            out.update(f.citations)
    for rec in (*management.recommended, *management.not_recommended):
        out.update(rec.citations)
        for cx in rec.cautions:
            out.update(cx.citations)
    for pw in management.pathways:
        out.update(pw.citations)
    return out


@cache
def engine_for(kb: KnowledgeBase) -> Engine:
    """The compiled engine for a knowledge base (compiled once per knowledge base)."""
    return Engine(kb)


def assess(assessment: Assessment, knowledge: KnowledgeBase) -> Report:
    """Assess one validated assessment with the given knowledge."""
    return engine_for(knowledge).assess(assessment)
