"""What every request handler shares: the app's state, who is asking, and CSRF checks.

Handlers that touch the database are plain ``def`` functions (FastAPI runs them in a thread
pool); the form body is read by an ``async`` dependency first, so synchronous handlers can
still check the CSRF token and read dynamic form fields.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from starlette.responses import Response

from backstory.cds.trust import ReplayStore, TrustedClients
from backstory.errors import AccessError, BackstoryError
from backstory.knowledge.loader import KnowledgeBase
from backstory.storage import Database, Store
from backstory.storage import accounts as acc
from backstory.storage.database import utcnow
from backstory.storage.users import User
from backstory.web.cds_fetch import FhirFetcher
from backstory.web.security import Signer, token_digest
from backstory.web.settings import Settings
from backstory.web.throttle import SigninThrottle


class SignInRequired(AccessError):
    """No live session: pages send the person to sign in, the API answers 401."""


class Forbidden(AccessError):
    """Signed in, but the role does not allow this."""

    def __init__(self, message: str = "Your role does not allow this.") -> None:
        super().__init__(message)
        self.message = message


class Gone(BackstoryError):
    """A link or page that does not exist (or no longer does): always a plain 404."""

    def __init__(self, message: str = "This page does not exist.") -> None:
        super().__init__(message)
        self.message = message


@dataclass
class WebState:
    """Everything the app needs, built once by ``create_app``."""

    settings: Settings
    db: Database
    templates: Jinja2Templates
    knowledge: KnowledgeBase
    signer: Signer
    throttle: SigninThrottle
    """Failed sign-ins per user name from one place and per client address, shared through
    the database."""
    cds_replay: ReplayStore
    """The CDS client JWT ids (``jti``) seen recently, to refuse a replay (the web app's
    store is the database, shared by every process: ``web.cds_replay``)."""
    clock: Callable[[], dt.datetime] = utcnow
    extra: dict[str, Any] = field(default_factory=dict)
    cds_clients: TrustedClients | None = None
    """The EHRs whose signed JWTs the CDS Hooks routes accept (``BACKSTORY_CDS_CLIENTS``)."""
    cds_fetcher: FhirFetcher = field(default_factory=FhirFetcher)
    """Fetches a hook's assessment from the operator's allowed FHIR servers (default: off)."""

    def now(self) -> dt.datetime:
        return self.clock()

    def link_expiry(self) -> dt.datetime:
        return self.now() + dt.timedelta(hours=self.settings.link_hours)

    @property
    def session_cookie(self) -> str:
        # the __Host- prefix makes browsers refuse the cookie unless Secure, path /, no domain
        return "__Host-backstory" if self.settings.secure_cookies else "backstory"

    @property
    def device_cookie(self) -> str:
        """The signed cookie naming the user names this browser has signed in as (throttle)."""
        return "__Host-backstory-device" if self.settings.secure_cookies else "backstory-device"

    @property
    def pre_cookie(self) -> str:
        return "__Host-backstory-pre" if self.settings.secure_cookies else "backstory-pre"

    def store(self, actor: str, **kwargs: Any) -> Store:
        return Store(self.db, actor, knowledge=self.knowledge, **kwargs)

    def set_cookie(self, response: Response, name: str, value: str) -> None:
        response.set_cookie(
            name,
            value,
            httponly=True,
            samesite="lax",
            secure=self.settings.secure_cookies,
            path="/",
        )


@dataclass(frozen=True)
class Principal:
    """A signed-in person: their user, roles, session digest and CSRF token."""

    user: User
    operator: bool
    session: str
    csrf: str

    @property
    def is_admin(self) -> bool:
        return bool(self.user.role == "admin")


def web(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


WebDep = Annotated[WebState, Depends(web)]


def client_address(request: Request) -> str:
    """The client's address (already taken from X-Forwarded-For behind a trusted proxy)."""
    return request.client.host if request.client else "unknown"


def optional_principal(request: Request, state: WebDep) -> Principal | None:
    """The live session behind the cookie, if any (looked up once per request)."""
    if hasattr(request.state, "principal"):
        found: Principal | None = request.state.principal
        return found
    token = request.cookies.get(state.session_cookie)
    principal = None
    if token:
        digest = token_digest(token)
        s = state.settings
        info = state.db.transaction(
            lambda conn: acc.load_session(
                conn,
                digest,
                state.now(),
                idle=dt.timedelta(minutes=s.session_minutes),
                lifetime=dt.timedelta(hours=s.session_max_hours),
            )
        )
        if info is not None:
            principal = Principal(info.user, info.operator, digest, state.signer.csrf_token(digest))
    request.state.principal = principal
    return principal


def signed_in(principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    if principal is None:
        raise SignInRequired()
    return principal


def admin(principal: Annotated[Principal, Depends(signed_in)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden("Only a clinic admin can do this.")
    return principal


def operator(principal: Annotated[Principal, Depends(signed_in)]) -> Principal:
    if not principal.operator:
        raise Forbidden("Only an operator can do this.")
    return principal


async def form_data(request: Request) -> FormData:
    """The submitted form (read once; Starlette caches it on the request)."""
    return await request.form()


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def checked_form(
    principal: Annotated[Principal, Depends(signed_in)],
    form: Annotated[FormData, Depends(form_data)],
    state: WebDep,
) -> dict[str, str]:
    """The form of a signed-in person, refused unless its CSRF token matches the session."""
    if not state.signer.csrf_ok(principal.session, _field(form, "csrf")):
        raise Forbidden("The form had expired or did not come from this site. Please try again.")
    return {k: v for k, v in form.items() if isinstance(v, str)}


def link_form(form: FormData, state: WebState, bound_to: str) -> dict[str, str]:
    """A form posted from a link page, whose CSRF token is bound to the link."""
    if not state.signer.csrf_ok(bound_to, _field(form, "csrf")):
        raise Forbidden("The form had expired or did not come from this site. Please try again.")
    return {k: v for k, v in form.items() if isinstance(v, str)}


SignedIn = Annotated[Principal, Depends(signed_in)]
Admin = Annotated[Principal, Depends(admin)]
Operator = Annotated[Principal, Depends(operator)]
MaybeSignedIn = Annotated[Principal | None, Depends(optional_principal)]
Form = Annotated[dict[str, str], Depends(checked_form)]
RawForm = Annotated[FormData, Depends(form_data)]


def page(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    """Render a page template with what every page needs (who is signed in, CSRF)."""
    state = web(request)
    principal = getattr(request.state, "principal", None)
    ctx: dict[str, Any] = {
        "principal": principal,
        "csrf": principal.csrf if principal else "",
        "settings": state.settings,
    }
    ctx.update(context or {})
    hook = state.extra.get("page_context")
    if principal is not None and hook is not None and not ctx.get("patient_page"):
        ctx.update(hook(state, principal))  # the banner of unreviewed results (worklist)
    return state.templates.TemplateResponse(request, name, ctx, status_code=status_code)


def base_url(request: Request, state: WebState) -> str:
    """Where people reach the app: the configured public URL, else this request's."""
    if state.settings.public_url:
        return state.settings.public_url
    return str(request.base_url).rstrip("/")
