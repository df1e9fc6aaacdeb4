"""`backstory knowledge check|show|fingerprint`."""

from __future__ import annotations

from collections import Counter

import click

from backstory.cli.common import fail
from backstory.knowledge.catalogue import render_catalogue
from backstory.knowledge.files import KnowledgeError
from backstory.knowledge.loader import load_knowledge
from backstory.knowledge.questionnaire import load_questionnaire


@click.group("knowledge")
def knowledge_group() -> None:
    """Validate or display the clinical knowledge base."""


@knowledge_group.command("check")
def check_command() -> None:
    """Validate every knowledge file and print what it holds.

    Exit status 1 if any file fails (the file and the place inside it are named).
    """
    from backstory.preflight import PARTS, check_now

    try:
        everything = check_now()
    except KnowledgeError as exc:
        fail(f"knowledge check failed: {exc.one_line()}", code=1)
    result = everything.core
    kb = result.kb
    levels = Counter(r.level for r in kb.red_flags.rules)
    click.echo(f"Knowledge {kb.manifest.name} {kb.version} (contract {kb.manifest.contract}): OK")
    click.echo(f"  files: {len(result.files)} ({', '.join(result.files)})")
    click.echo(
        f"  red-flag rules: {len(kb.red_flags.rules)} "
        f"({', '.join(f'{n} {lv}' for lv, n in sorted(levels.items()))}) "
        f"for {len(kb.red_flags.conditions)} conditions"
    )
    click.echo(f"  facts: {len(kb.facts)}; contradictions: {len(kb.contradictions)}")
    click.echo(
        "  patterns: "
        + ", ".join(f"{p.id} ({len(p.features)} features)" for p in kb.patterns.patterns)
    )
    click.echo("  instruments: " + ", ".join(i.id for i in kb.instruments.instruments))
    click.echo(
        f"  management: {len(kb.management.recommendations)} recommendations, "
        f"{len(kb.management.pathways)} pathway(s)"
    )
    click.echo(f"  essential screening questions: {len(kb.screening.essential)}")
    form = result.questionnaire
    asked = form.questions()
    click.echo(
        f"  pre-visit questionnaire: {len(form.parts)} parts, {len(asked)} questions "
        f"({sum(q.ces for q in asked)} cauda equina), emergency banner"
    )
    click.echo(f"  also checked: {', '.join(PARTS)}")
    click.echo(
        f"  sources: {result.sources}, all cited; citations: {result.citations}, all resolve"
    )


@knowledge_group.command("fingerprint")
def fingerprint_command() -> None:
    """Print the fingerprint of the knowledge files (for manifest.yaml after an edit)."""
    from backstory.knowledge.fingerprint import fingerprint
    from backstory.knowledge.loader import data_root

    click.echo(fingerprint(data_root()))


@knowledge_group.command("show")
def show_command() -> None:
    """Print the knowledge as a readable Markdown catalogue for clinical review."""
    try:
        kb = load_knowledge()
        form = load_questionnaire()
    except KnowledgeError as exc:
        fail(f"knowledge could not be loaded: {exc}", code=1)
    click.echo(render_catalogue(kb, form), nl=False)
