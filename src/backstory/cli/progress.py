"""`backstory progress PATIENT [--episode ID] [--chart OUT.svg]`: change over an episode.

Shows each measure against its minimal important change (or "not evaluable" when the baseline
is too low for an improvement to be judged), the STarT Back risk group, whether the patient
meets the recovery rule, and the "not improving - reassess" prompt.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import click

from backstory.cli.patient import table
from backstory.cli.stored import open_store, plain_errors, storage_options
from backstory.outcomes import Progress, progress, render_chart, visits_of
from backstory.outcomes.chart import STATUS_WORDS
from backstory.outcomes.progress import fmt
from backstory.outcomes.rules import OutcomeRules, load_outcome_rules
from backstory.storage.export import write_private
from backstory.storage.records import EpisodeRecord


def _signed(value: Decimal) -> str:
    text = fmt(value)
    return text if text.startswith("-") or text == "0" else f"+{text}"


def render_progress(record: EpisodeRecord, result: Progress, rules: OutcomeRules) -> str:
    """The progress table and judgements as plain text."""
    ep = record.episode
    n = len(result.visits)
    lines = [
        f"Episode {ep.id} of patient {ep.patient_id}: started {ep.started_on.isoformat()}, "
        f"{'open' if ep.is_open else 'closed ' + str(ep.closed_on)}; {n} assessment(s) over "
        f"{result.days_followed} day(s).",
        "",
    ]
    rows = [("measure", "baseline", "latest", "change", "important change", "status")]
    for t in result.trajectories:
        ic = t.measure.important_change
        rows.append(
            (
                t.measure.label,
                f"{fmt(t.baseline.value)} ({t.baseline.on.isoformat()})",
                f"{fmt(t.latest.value)} ({t.latest.on.isoformat()})" if t.has_follow_up else "-",
                _signed(t.latest.change) if t.has_follow_up else "-",
                f"{fmt(t.important_amount)} ({fmt(ic.absolute)} or {fmt(ic.relative * 100)}%)"
                + ("" if t.improvement_evaluable else ", a rise only"),
                STATUS_WORDS[t.status] if t.status else "no follow-up yet",
            )
        )
    if len(rows) > 1:
        lines.append(table(rows))
    else:
        lines.append("No pain, ODI or RMDQ values were recorded in this episode.")
    lines.extend(f"Note: {note}." for note in result.notes)
    risk = result.risk
    if risk is not None:
        move = f": {risk.move}" if risk.move else " (no follow-up yet)"
        lines.append(
            f"{risk.group.label}: {risk.baseline} ({risk.baseline_on.isoformat()}) -> "
            f"{risk.latest} ({risk.latest_on.isoformat()}){move}"
        )
    recovered = {True: "yes", False: "no", None: "unknown (back pain not recorded)"}
    lines.append(f"Recovered (pain 0, RMDQ 2 or less when recorded): {recovered[result.recovered]}")
    if result.reassess:
        lines.append("NOT IMPROVING - REASSESS: " + "; ".join(result.reassess) + ".")
    else:
        lines.append("No reassessment prompt.")
    if result.stale_days is not None:
        lines.append(
            f"The latest assessment is {result.stale_days} days old; symptoms may have changed "
            "- reassess before relying on it."
        )
    lines.append(
        f"(Important change and recovery rules: knowledge/data/outcomes.yaml; reassess after "
        f"{rules.reassess.after_days} days without improvement.)"
    )
    return "\n".join(lines) + "\n"


@click.command("progress")
@click.argument("patient_id", metavar="PATIENT")
@click.option("--episode", "episode_id", metavar="ID", help="Episode (default: the latest).")
@click.option(
    "--chart",
    "chart_out",
    metavar="OUT.svg",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write an SVG chart of each measure with its important-change band.",
)
@storage_options
def progress_command(
    patient_id: str,
    episode_id: str | None,
    chart_out: Path | None,
    database: str | None,
    user: str | None,
) -> None:
    """Show change from baseline over an episode against the minimal important change."""
    rules = load_outcome_rules()
    with open_store(database, user) as store:
        record = store.episode_history(patient_id, episode_id)
    visits = visits_of(record, rules)
    if not visits:
        click.echo(f"Episode {record.episode.id} has no assessments with reports yet.")
        return
    result = progress(visits, rules, dt.date.today())
    click.echo(render_progress(record, result, rules), nl=False)
    if chart_out is not None:
        svg = render_chart(result, f"Progress, episode {record.episode.id}")
        with plain_errors():
            write_private(chart_out, lambda fh: fh.write(svg))
        click.echo(f"Chart written to {chart_out}.", err=True)
