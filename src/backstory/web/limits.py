"""Request body size limits, enforced while the body streams in (never after reading it).

A body whose ``Content-Length`` is over the limit is refused before any of it is read; a
body without one (chunked) is counted as it arrives and refused as soon as it passes the
limit. Either way the answer is ``413`` - a problem document under ``/api/`` and the CDS
routes, a plain page elsewhere - and the route never runs on a partial body.

Limits: the JSON API 256 KiB (an assessment is a few KiB), the CDS routes 2 MiB (a hook
call may carry prefetched FHIR resources), every other page 1 MiB (forms are small).
"""

from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backstory.contract.safejson import size_text
from backstory.errors import InputError
from backstory.web.problems import problem

API_BODY = 256 * 1024
CDS_BODY = 2 * 1024 * 1024
PAGE_BODY = 1024 * 1024


def limit_for(path: str) -> int:
    """The largest request body accepted at ``path``, in bytes."""
    if path.startswith("/api/"):
        return API_BODY
    if path.startswith("/cds-services"):
        return CDS_BODY
    return PAGE_BODY


class TooLarge(InputError):
    """The body passed its limit while it was being read."""


class BodyLimit:
    """ASGI middleware refusing request bodies over :func:`limit_for` with 413."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        limit = limit_for(path)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, receive, send, limit)
            return
        seen = 0
        over = False
        started = False

        async def counted() -> Message:
            nonlocal seen, over
            if over:
                raise TooLarge
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    raise TooLarge
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if over:  # whatever the app made of the failed read, the answer is 413
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except TooLarge:
            pass
        except Exception:
            if not over:
                raise
        if over and not started:
            await _refuse(scope, receive, send, limit)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    detail = f"The request body is larger than {size_text(limit)}."
    if str(scope.get("path", "")).startswith(("/api/", "/cds-services")):
        await problem(413, detail)(scope, receive, send)
    else:
        await PlainTextResponse(detail, status_code=413)(scope, receive, send)
