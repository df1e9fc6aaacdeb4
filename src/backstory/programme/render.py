"""The programme's current week as a printable page: HTML, and A4 PDF through WeasyPrint.

The page leads with what to do this week (the change since last week, the topic, the
exercises with their pictures, the walking goal), then the person's flare-up plan, and ends
with when to get help and the clinic's contact details. Every page carries the patient
reference, the date and its page number, so a printed sheet always says whose it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from backstory.programme.figures import figure_svg
from backstory.programme.generate import Programme
from backstory.programme.knowledge import ProgrammeKnowledge

FONT = '"DejaVu Sans", Verdana, Arial, sans-serif'


@dataclass(frozen=True, slots=True)
class ClinicContact:
    """Who to contact, as the clinic configured it."""

    name: str
    phone: str | None = None
    email: str | None = None


_CSS = f"""
body {{ font-family: {FONT}; color: #1b1b1b; line-height: 1.45; max-width: 46rem;
  margin: 0 auto; padding: 1rem; }}
h1 {{ font-size: 1.6rem; margin: 0 0 .4rem; }}
h2 {{ font-size: 1.2rem; margin: 1.2rem 0 .4rem; }}
.change {{ background: #eef6ee; border-left: 4px solid #2f6f3e; padding: .5rem .8rem; }}
.exercise {{ display: flex; gap: 1rem; align-items: flex-start; margin: .6rem 0;
  break-inside: avoid; }}
.exercise svg {{ flex: none; width: 9rem; height: 6rem; }}
.dose {{ font-weight: bold; }}
.help {{ border: 2px solid #9b1c1c; padding: .5rem .8rem; break-inside: avoid; }}
.contact {{ margin-top: 1rem; }}
"""


def _pdf_css(patient_ref: str | None, on: str | None) -> str:
    who = escape(f"{patient_ref} - " if patient_ref else "").replace('"', "'")
    date = escape(on or "").replace('"', "'")
    return f"""
@page {{
  size: A4;
  margin: 18mm 16mm 22mm;
  @top-right {{ content: "{who}{date}"; font-family: {FONT}; font-size: 10pt; }}
  @bottom-center {{
    content: "Page " counter(page) " of " counter(pages);
    font-family: {FONT};
    font-size: 11pt;
  }}
}}
html {{ font-size: 13pt; }}
body {{ max-width: none; padding: 0; }}
"""


def render_programme_html(
    programme: Programme,
    kn: ProgrammeKnowledge,
    *,
    clinic: ClinicContact | None = None,
    patient_ref: str | None = None,
    on: str | None = None,
    extra_css: str = "",
) -> str:
    """The current week as a whole HTML page (UTF-8, no external references)."""
    week = programme.current
    out = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f"<title>Your back programme - week {week.number}</title>",
        f"<style>{_CSS}{extra_css}</style></head><body><main>",
        f"<h1>Your back programme: week {week.number} of {programme.weeks_total}</h1>",
    ]
    if patient_ref or on:
        parts = [p for p in (patient_ref, on) if p]
        out.append(f"<p>{escape(' - '.join(parts))}</p>")
    if programme.stopped:
        out.append(
            '<p class="help"><strong>Stop the programme and act now.</strong> You told us about'
            " a warning sign. Go to an emergency department today.</p>"
        )
    if week.adaptation is not None:
        out.append(f'<p class="change">{escape(week.adaptation.sentence)}</p>')
    out.append(f"<h2>This week's topic: {escape(week.session.title)}</h2>")
    out.append(f"<p>{escape(' '.join(week.session.text.split()))}</p>")
    out.append("<h2>Your exercises</h2>")
    for ex in week.exercises:
        sets = f"{ex.sets} set{'s' if ex.sets != 1 else ''}"
        out.append(
            '<div class="exercise">'
            + figure_svg(kn.exercise(ex.id))
            + f"<div><h3>{escape(ex.name)}</h3><p>{escape(ex.instructions)}</p>"
            f'<p class="dose">Each day: {sets} of {ex.reps}.</p>'
            f"<p>If it is going well: {escape(ex.progress)}</p>"
            f"<p>If it is too much: {escape(ex.ease_off)}</p></div></div>"
        )
    out.append("<h2>Your walking goal</h2>")
    out.append(f"<p>{escape(week.activity_text)}</p>")
    out.append("<h2>Your flare-up plan</h2><ul>")
    lines = programme.flare_plan.lines
    for line in lines[:-1]:
        out.append(f"<li>{escape(line)}</li>")
    out.append("</ul>")
    out.append(f'<h2>When to get help</h2><p class="help">{escape(lines[-1])}</p>')
    if clinic is not None:
        contact = [f"<strong>{escape(clinic.name)}</strong>"]
        if clinic.phone:
            contact.append(f"Phone: {escape(clinic.phone)}")
        if clinic.email:
            contact.append(f"Email: {escape(clinic.email)}")
        out.append(f'<p class="contact">Your clinic: {"<br>".join(contact)}</p>')
    out.append(
        "<p><small>This plan is part of your clinical assessment and care. Knowledge version "
        f"{escape(programme.knowledge_version)}.</small></p>"
    )
    out.append("</main></body></html>")
    return "\n".join(out) + "\n"


def render_programme_pdf(
    programme: Programme,
    kn: ProgrammeKnowledge,
    *,
    clinic: ClinicContact | None = None,
    patient_ref: str | None = None,
    on: str | None = None,
) -> bytes:
    """The current week as A4 PDF bytes, the patient reference and date on every page."""
    from weasyprint import HTML  # type: ignore[import-untyped]  # deferred: heavy, PDF only

    html = render_programme_html(
        programme,
        kn,
        clinic=clinic,
        patient_ref=patient_ref,
        on=on,
        extra_css=_pdf_css(patient_ref, on),
    )
    pdf = HTML(string=html).write_pdf()
    assert pdf is not None
    return bytes(pdf)
