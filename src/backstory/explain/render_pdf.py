"""Render a document as a printable A4 PDF leaflet (WeasyPrint, imported only when used).

The PDF is the HTML page with a print stylesheet: A4, type of 13pt and more, and page numbers
in the bottom margin. WeasyPrint's page-margin boxes do not inherit the body's font, so the
font is set there too.
"""

from __future__ import annotations

from backstory.explain.document import Document
from backstory.explain.render_html import render_html

FONT = '"DejaVu Sans", Verdana, Arial, sans-serif'


def pdf_css(doc: Document) -> str:
    """The print stylesheet: A4, large readable type, fonts set in the margin boxes too."""
    page, of = (w.replace('"', "'") for w in doc.page_words)
    return f"""
@page {{
  size: A4;
  margin: 18mm 16mm 22mm;
  @bottom-center {{
    content: "{page} " counter(page) " {of} " counter(pages);
    font-family: {FONT};
    font-size: 12pt;
    color: #1b1b1b;
  }}
}}
html {{ font-size: 13pt; }}
body {{ font-family: {FONT}; max-width: none; padding: 0; }}
h1 {{ font-size: 22pt; }}
h2 {{ font-size: 16pt; }}
table {{ font-size: 12pt; }}
footer {{ font-size: 12pt; }}
a {{ color: #1b1b1b; }}
"""


def render_pdf(doc: Document) -> bytes:
    """The document as PDF bytes."""
    from weasyprint import HTML  # type: ignore[import-untyped]  # deferred: heavy, PDF only

    html = render_html(doc, extra_css=pdf_css(doc))
    pdf = HTML(string=html).write_pdf()
    assert pdf is not None
    return bytes(pdf)
