"""The one outbound request Backstory can make: a CDS hook's FHIR search, from allowed servers.

When an EHR calls a hook without the prefetch and names a ``fhirServer``, Backstory may GET
the patient's latest Backstory QuestionnaireResponse from it - only when that server is on the
operator's allow-list (``BACKSTORY_CDS_FHIR_SERVERS``, :mod:`backstory.cds.servers`); with no
list, nothing is ever fetched. The request:

- is one ``GET {allowed base}/QuestionnaireResponse?subject=Patient/{id}&...`` built from the
  allow-list entry (never from the caller's string) with URL-encoded parameters, sending
  ``Accept: application/fhir+json`` and, when the caller gave one, its ``fhirAuthorization``
  access token as a bearer token - to that server only;
- asks for no compression and refuses a compressed answer (so the size cap is the size read);
- follows no redirect (any 3xx is a failure), reads no proxy, ``.netrc`` or certificate
  settings from the environment, verifies TLS certificates against the system's trust store;
- gives up after ``connect``/``read`` timeouts and an overall deadline, and at a response
  larger than ``max_bytes``;
- runs on the event loop with an async client (httpx), so a slow server holds up only the
  hook call that is waiting for it.

Every failure - not allowed, refused, timed out, redirected, too large, not JSON, not a FHIR
resource - raises :class:`FetchFailed` with a reason code for the audit log; the caller is
answered with one and the same 412 whatever the reason, so it cannot probe addresses.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import httpx

from backstory.cds import FhirSearch
from backstory.cds.servers import allowed_base
from backstory.errors import BackstoryError

CONNECT_SECONDS = 3.0
READ_SECONDS = 5.0
TOTAL_SECONDS = 10.0
MAX_BYTES = 2 * 1024 * 1024
"""A search for one patient's latest response is small; 2 MiB is far above any real one."""
RESOURCE_TYPES = ("Bundle", "QuestionnaireResponse")


@cache
def _tls() -> ssl.SSLContext:
    """Certificates verified against the system's trust store (where an operator adds a
    hospital's own certificate authority)."""
    return ssl.create_default_context()


class FetchFailed(BackstoryError):
    """The search was not made, or gave nothing usable; ``reason`` is for the audit log only."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class FhirFetcher:
    """Makes a hook's FHIR search, from the allow-list's servers only."""

    allowed: tuple[str, ...] = ()
    """Canonical base URLs (:func:`backstory.cds.servers.parse_server_list`); empty: off."""
    allow_http: bool = False
    """Development only: accept ``http://`` entries (``https`` always)."""
    connect_seconds: float = CONNECT_SECONDS
    read_seconds: float = READ_SECONDS
    total_seconds: float = TOTAL_SECONDS
    max_bytes: int = MAX_BYTES

    @property
    def enabled(self) -> bool:
        return bool(self.allowed)

    def url(self, search: FhirSearch) -> httpx.URL:
        """The URL to GET for ``search``.

        Raises:
            FetchFailed: ``off`` (no allow-list) or ``not-allowed`` (the server is not on it).
        """
        if not self.allowed:
            raise FetchFailed("off")
        base = allowed_base(search.server, self.allowed, allow_http=self.allow_http)
        if base is None:
            raise FetchFailed("not-allowed")
        url = httpx.URL(f"{base}/{search.resource_type}", params=list(search.params))
        expected = httpx.URL(base)
        if (url.scheme, url.host, url.port) != (expected.scheme, expected.host, expected.port):
            raise FetchFailed("not-allowed")  # pragma: no cover - canonical_base makes it so
        return url

    async def fetch(self, search: FhirSearch) -> Mapping[str, Any]:
        """The Bundle or QuestionnaireResponse the allowed server answers with.

        Raises:
            FetchFailed: why nothing usable came back (a reason code, never the address) -
                whatever went wrong, so that no error of any kind reaches the caller.
        """
        try:
            return await self._fetch(search)
        except FetchFailed:
            raise
        except (TimeoutError, httpx.TimeoutException):
            raise FetchFailed("timeout") from None
        except (httpx.HTTPError, OSError):
            raise FetchFailed("network") from None
        except Exception:
            raise FetchFailed("error") from None

    async def _fetch(self, search: FhirSearch) -> Mapping[str, Any]:
        url = self.url(search)
        headers = {"Accept": "application/fhir+json", "Accept-Encoding": "identity"}
        if search.token:
            headers["Authorization"] = f"Bearer {search.token}"
        timeout = httpx.Timeout(
            self.read_seconds, connect=self.connect_seconds, pool=self.connect_seconds
        )
        async with asyncio.timeout(self.total_seconds):
            async with httpx.AsyncClient(
                follow_redirects=False, trust_env=False, timeout=timeout, verify=_tls()
            ) as client:
                body = await self._get(client, url, headers)
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise FetchFailed("invalid") from None
        if not isinstance(data, Mapping) or data.get("resourceType") not in RESOURCE_TYPES:
            raise FetchFailed("invalid")
        return data

    async def _get(
        self, client: httpx.AsyncClient, url: httpx.URL, headers: dict[str, str]
    ) -> bytes:
        async with client.stream("GET", url, headers=headers) as response:
            if response.is_redirect:
                raise FetchFailed("redirect")
            if response.status_code != 200:
                raise FetchFailed("status")
            if response.headers.get("content-encoding", "identity").lower() != "identity":
                raise FetchFailed("invalid")  # compressed: its size says nothing of the content
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchFailed("too-large")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_raw():
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchFailed("too-large")
                chunks.append(chunk)
            return b"".join(chunks)
