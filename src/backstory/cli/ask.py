"""``backstory ask``: answer a common question about low back pain from the reviewed answers."""

from __future__ import annotations

import json
import textwrap

import click

from backstory.ask import Answer, answer_question, load_questions_knowledge, source_short_names

WIDTH = 80


def _para(text: str, indent: str = "") -> str:
    return textwrap.fill(" ".join(text.split()), width=WIDTH, subsequent_indent=indent)


def render_text(result: Answer) -> str:
    """The answer as plain text for a terminal: wrapped to 80 columns, sources, safety-netting."""
    messages = load_questions_knowledge().messages
    lines: list[str] = []
    if result.matched and result.question is not None:
        lines += [_para(f"Question: {result.question}", "  "), "", _para(result.answer)]
        names = source_short_names()
        shorts = [names.get(c, c) for c in result.citations]
        lines += ["", _para("Sources: " + "; ".join(shorts) + ".", "  ")]
    else:
        lines += ["No good match for your question.", "", _para(result.answer)]
        if result.alternatives:
            lines += ["", "Closest topics:"]
            lines += [_para(f"- {a.question}", "  ") for a in result.alternatives]
    lines += ["", _para(messages.not_diagnosis), _para(messages.safety_net)]
    return "\n".join(lines)


@click.command("ask")
@click.argument("question", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
def ask_command(question: tuple[str, ...], as_json: bool) -> None:
    """Answer a common question about low back pain, for example:

    backstory ask "Do I need an MRI?"

    Answers are written and checked in advance, with their sources. They are general
    information, not a diagnosis.
    """
    text = " ".join(question).strip()
    if not text:
        click.echo(
            'Please type a question, for example: backstory ask "Do I need an MRI?"', err=True
        )
        raise SystemExit(2)
    result = answer_question(text)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(result))
