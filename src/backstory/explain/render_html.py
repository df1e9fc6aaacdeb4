"""Render a document as one standalone, accessible HTML page.

Semantic landmarks and headings, the page language, high-contrast colours (never colour
alone: the act-now instructions are also bold and boxed), large type, print CSS, and no
external resources at all (styles inline, no scripts, fonts or images fetched). Each message
carries its id in a ``data-message`` attribute so tests and tools can find it.
"""

from __future__ import annotations

from html import escape

from backstory.explain.document import Block, Document

CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
html { font-size: 112.5%; }
body {
  margin: 0 auto; max-width: 44rem; padding: 1.5rem 1.25rem 3rem;
  font-family: "DejaVu Sans", Verdana, "Segoe UI", Arial, sans-serif;
  line-height: 1.55; color: #1b1b1b; background: #ffffff;
}
h1 { font-size: 1.8rem; line-height: 1.25; margin: 0 0 0.75rem; color: #0b2545; }
h2 {
  font-size: 1.3rem; line-height: 1.3; margin: 2rem 0 0.75rem; color: #0b2545;
  border-bottom: 2px solid #0b2545; padding-bottom: 0.2rem;
}
p, li { margin: 0 0 0.8rem; }
ul, ol { padding-left: 1.5rem; margin: 0 0 1rem; }
a { color: #0645ad; text-decoration: underline; }
a:focus { outline: 3px solid #1b1b1b; outline-offset: 2px; }
.intro { font-size: 1.1rem; }
.do-now {
  font-weight: bold; font-size: 1.15rem; border: 4px solid #a4001d;
  background: #fff1f3; color: #1b1b1b; padding: 0.75rem 1rem; margin: 0 0 1rem;
}
.act-now h1 { color: #a4001d; }
table { border-collapse: collapse; width: 100%; margin: 0 0 1rem; font-size: 0.95rem; }
th, td {
  border: 1px solid #5a5a5a; padding: 0.35rem 0.5rem; text-align: left; vertical-align: top;
}
th { background: #eef1f5; }
footer { margin-top: 2.5rem; border-top: 1px solid #5a5a5a; padding-top: 1rem; font-size: 0.95rem; }
footer h2 { font-size: 1.1rem; border: 0; margin-top: 0; }
@media print {
  html { font-size: 13pt; }
  body { max-width: none; padding: 0; }
  a { color: #1b1b1b; }
  h2 { break-after: avoid; }
  .do-now, li, tr { break-inside: avoid; }
}
@page { size: A4; margin: 18mm 16mm 20mm; }
"""


def _block(block: Block) -> str:
    if block.kind == "paragraph":
        if block.emphasis:
            return f'<p class="do-now">{escape(block.text)}</p>'
        return f"<p>{escape(block.text)}</p>"
    if block.kind == "list":
        items = "".join(f"<li>{escape(i)}</li>" for i in block.items)
        return f"<ul>{items}</ul>"
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in block.header)
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in block.rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def render_html(doc: Document, extra_css: str = "") -> str:
    """The whole document as a standalone HTML page."""
    body_class = "act-now" if doc.kind == "act_now" else doc.audience
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{escape(doc.lang)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(doc.title)}</title>",
        f"<style>{CSS}{extra_css}</style>",
        "</head>",
        f'<body class="{body_class}" data-document="{escape(doc.kind)}"'
        f' data-audience="{doc.audience}">',
        "<header>",
        f"<h1>{escape(doc.title)}</h1>",
    ]
    if doc.intro:
        out.append(f'<p class="intro">{escape(doc.intro)}</p>')
    out += ["</header>", "<main>"]
    for section in doc.sections:
        hid = f"s-{escape(section.id)}"
        out.append(f'<section aria-labelledby="{hid}" data-section="{escape(section.id)}">')
        out.append(f'<h2 id="{hid}">{escape(section.heading)}</h2>')
        for message in section.messages:
            out.append(f'<div class="message" data-message="{escape(message.id)}">')
            out += [_block(b) for b in message.blocks]
            out.append("</div>")
        out.append("</section>")
    out += ["</main>", "<footer>"]
    if doc.sources:
        out.append(f'<h2 id="s-sources">{escape(doc.sources_heading)}</h2>')
        out.append('<ol aria-labelledby="s-sources">')
        for src in doc.sources:
            if src.link:
                out.append(f'<li><a href="{escape(src.link)}">{escape(src.short)}</a></li>')
            else:
                out.append(f"<li>{escape(src.short)}</li>")
        out.append("</ol>")
    out += [f"<p>{escape(doc.footer)}</p>", "</footer>", "</body>", "</html>"]
    return "\n".join(out) + "\n"
