"""Which FHIR servers a CDS Hooks call may make Backstory fetch from: an operator's allow-list.

A hook request may name a ``fhirServer`` for Backstory to fetch the assessment from when the
EHR sent no prefetch. That address comes from the caller, so fetching from it as given would
let any caller with an API token make Backstory send requests - with a bearer token - to any
address it can reach (server-side request forgery). Fetching is therefore off unless the
operator lists the FHIR server base URLs Backstory may fetch from
(``BACKSTORY_CDS_FHIR_SERVERS``), and a requested ``fhirServer`` must then equal one of them
exactly, after both are put in one canonical form: scheme and host in lower case, the default
port left out, no trailing slash. Only ``https`` (and ``http`` in development) is accepted;
user names or passwords in the URL, a query or a fragment are refused, in the list and in a
request alike.

Pure: nothing here does any I/O.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from backstory.errors import ConfigError

MAX_URL_LENGTH = 2000
_DEFAULT_PORTS = {"https": 443, "http": 80}


class ServerListError(ConfigError):
    """An allow-list entry that cannot be used (the message says why, quoting the entry)."""


def canonical_base(url: str, *, allow_http: bool) -> str | None:
    """The canonical form of a FHIR server base URL, or None when it is not acceptable.

    Acceptable: ``https://host[:port][/path]`` (``http`` too when ``allow_http``), with no
    user name or password, no query, no fragment (not even an empty ``#``), no backslash,
    whitespace or control character, at most ``MAX_URL_LENGTH`` characters.
    """
    if not url or len(url) > MAX_URL_LENGTH:
        return None
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 or ch == "\\" for ch in url):
        return None
    if "#" in url or "?" in url or "@" in url:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in (("https", "http") if allow_http else ("https",)):
        return None
    host = (parts.hostname or "").lower()
    if not host or parts.username is not None or parts.password is not None:
        return None
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = parts.path.rstrip("/")
    return f"{scheme}://{netloc}{path}"


def parse_server_list(raw: str, *, development: bool) -> tuple[str, ...]:
    """The allow-list from ``BACKSTORY_CDS_FHIR_SERVERS``: base URLs separated by commas or
    white space, each in canonical form. ``http`` is accepted in development only.

    Raises:
        ServerListError: an entry that is not an acceptable base URL.
    """
    out: list[str] = []
    for entry in raw.replace(",", " ").split():
        base = canonical_base(entry, allow_http=development)
        if base is None:
            need = "an https:// (or, in development, http://)" if development else "an https://"
            raise ServerListError(
                f"{entry!r} is not {need} FHIR server base URL without user name, password, "
                "query or fragment"
            )
        if base not in out:
            out.append(base)
    return tuple(out)


def allowed_base(server: object, allowed: tuple[str, ...], *, allow_http: bool) -> str | None:
    """The allow-list entry ``server`` (a hook request's ``fhirServer``) names, or None."""
    if not isinstance(server, str) or not allowed:
        return None
    base = canonical_base(server, allow_http=allow_http)
    return base if base is not None and base in allowed else None
