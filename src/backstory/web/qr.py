"""QR codes for patient links (segno), as data URIs: the page's CSP allows data: images."""

from __future__ import annotations

import segno


def qr_data_uri(url: str) -> str:
    """An SVG QR code of ``url`` as a data URI, black on white with a quiet zone."""
    code = segno.make(url, error="m")
    return str(code.svg_data_uri(scale=4, border=4, dark="#000000", light="#ffffff"))
