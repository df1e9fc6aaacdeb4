"""E-mailing a link just made: the form on the page that shows it (only when mail is on).

The link is a questionnaire, follow-up or explanation link (``/p/TOKEN``) or a programme
link (``/programme/TOKEN``); the token's signed purpose says which.

The form posts the link's token back (it is on the page already) with the address the
clinician types. The link must be one of the clinician's own clinic that still works; the
address is used for this one message and not kept. Only after the mail server accepts the
message is it audited (``link.email``: the link, the patient's id and the kind, never the
address); a failure shows the reason on the same page and records nothing.

The patient page also keeps (sealed) or forgets the address a patient agreed to get
follow-up reminders at, when ``BACKSTORY_MAIL_KEY`` is set; ``backstory reminders send``
uses it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from backstory.delivery import (
    AddressError,
    AddressKey,
    LinkKind,
    MailError,
    check_address,
    send_link_email,
)
from backstory.storage import Store, contacts, mailings
from backstory.storage.programmes import ProgrammeLink
from backstory.storage.sharing import PatientLink
from backstory.web import deps
from backstory.web.links import link_digest
from backstory.web.pages.patients import _link_page, render_patient
from backstory.web.pages.programmes import programme_link_page
from backstory.web.programme_view import LINK_DAYS

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class _Found:
    """The link a form names, what kind it is, and how to show its page again."""

    link: PatientLink | ProgrammeLink
    kind: LinkKind
    clinic_name: str
    url: str
    page: Callable[..., Response]


def _find(request: Request, state: deps.WebState, store: Store, token: str) -> _Found:
    """A patient link (questionnaire, follow-up or explanation) or a programme link of the
    user's clinic that still works; the token's signature says which (Gone for neither)."""
    base = deps.base_url(request, state)
    hours = state.settings.link_hours * 3600 + 60
    patient_digest = link_digest(state.signer, "patient-link", token, hours)
    if patient_digest is not None:
        found = patient_digest
        link, kind, name = store.run(
            lambda conn, user: mailings.emailable_link(conn, user, found, state.now())
        )

        def again(**kw: Any) -> Response:
            return _link_page(request, state, link, token, **kw)

        return _Found(link, cast(LinkKind, kind), name, f"{base}/p/{token}", again)
    digest = link_digest(state.signer, "programme-link", token, LINK_DAYS * 86400 + 60)
    if digest is None:
        raise deps.Gone("This link is not valid, or it has expired; make a new one.")
    plink, name = store.run(
        lambda conn, user: mailings.emailable_programme_link(conn, user, digest, state.now())
    )
    url = f"{base}/programme/{token}"

    def again_programme(**kw: Any) -> Response:
        return programme_link_page(request, plink, url, **kw)

    return _Found(plink, "programme", name, url, again_programme)


@router.post("/links/email")
def email_link(
    request: Request, principal: deps.SignedIn, form: deps.Form, state: deps.WebDep
) -> Response:
    mail = state.settings.mail
    if mail is None:  # the route is only mounted when mail is on (web/app.py)
        raise deps.Gone("E-mail is not set up for this service.")
    store = state.store(principal.user.username)
    found = _find(request, state, store, form.get("token", ""))
    try:
        address = check_address(form.get("to", ""))
        send_link_email(
            mail,
            address,
            kind=found.kind,
            url=found.url,
            clinic_name=found.clinic_name,
            expires_at=found.link.expires_at,
        )
    except AddressError as exc:
        return found.page(mail={"error": str(exc)}, status_code=422)
    except MailError as exc:
        return found.page(mail={"error": str(exc)}, status_code=502)
    store.run(lambda conn, user: mailings.record_email(conn, user, found.link, found.kind))
    return found.page(mail={"sent": "yes"})


def _key(state: deps.WebState) -> AddressKey:
    if state.settings.mail is None or state.settings.address_key is None:
        raise deps.Gone("E-mail reminders are not set up for this service.")
    return state.settings.address_key


@router.post("/patients/{patient_id}/reminder-address")
def keep_address(
    request: Request,
    patient_id: str,
    principal: deps.SignedIn,
    form: deps.Form,
    state: deps.WebDep,
) -> Response:
    """Keep the address a patient agreed to get follow-up reminders at (sealed; audited)."""
    key = _key(state)
    try:
        address = check_address(form.get("to", ""))
    except AddressError as exc:
        return render_patient(request, state, principal, patient_id, {"error": str(exc)}, 422)
    if form.get("consent") != "yes":
        error = "Tick the box once the patient has agreed to get reminders at this address."
        return render_patient(request, state, principal, patient_id, {"error": error}, 422)
    state.store(principal.user.username).run(
        lambda conn, user: contacts.set_address(
            conn, user, patient_id, lambda pid: key.seal(address, pid), state.now()
        )
    )
    pid = patient_id.strip().upper()
    return RedirectResponse(f"/patients/{pid}?reminders=kept#reminders", status_code=303)


@router.post("/patients/{patient_id}/reminder-address/remove")
def forget_address(
    patient_id: str, principal: deps.SignedIn, form: deps.Form, state: deps.WebDep
) -> Response:
    """Stop reminders: the address is deleted (audited)."""
    _key(state)
    state.store(principal.user.username).run(
        lambda conn, user: contacts.remove_address(conn, user, patient_id)
    )
    pid = patient_id.strip().upper()
    return RedirectResponse(f"/patients/{pid}?reminders=removed#reminders", status_code=303)
