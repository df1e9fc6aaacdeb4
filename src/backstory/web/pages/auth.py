"""Signing in and out, the first-start set-up link, and choosing a password from a link.

Sign-in is slowed down, never locked, per user name from one place and per client address
(HTTP 429 with a plain message and Retry-After), with the failures counted in the database so
that every process shares them (``web/throttle.py``); a failed attempt costs the same
whether or not the user exists, and a successful one gives the browser a device cookie. The
sign-in form's CSRF token is bound to a short pre-session cookie, and link pages' tokens to
the link itself.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from backstory.storage import accounts as acc
from backstory.storage.errors import Conflict, InvalidRequest
from backstory.web import deps
from backstory.web.demo import DEMO_CLINIC, load_demo
from backstory.web.links import link_digest
from backstory.web.security import (
    MIN_PASSWORD_LENGTH,
    hash_password,
    new_token,
    password_problem,
    token_digest,
    verify_password,
)
from backstory.web.throttle import DEVICE_DAYS, Refused

router = APIRouter(include_in_schema=False)


@cache
def _dummy_hash() -> str:
    return hash_password(new_token())


@router.get("/")
def home(request: Request, state: deps.WebDep, principal: deps.MaybeSignedIn) -> Response:
    if principal is not None:
        return RedirectResponse("/worklist", status_code=303)
    if state.db.transaction(acc.needs_setup):
        return deps.page(request, "setup_needed.html", {"title": "Set up Backstory"})
    return RedirectResponse("/signin", status_code=303)


def _signin_page(
    request: Request,
    state: deps.WebState,
    *,
    message: str = "",
    username: str = "",
    status: int = 200,
) -> Response:
    pre = request.cookies.get(state.pre_cookie) or new_token(16)
    response = deps.page(
        request,
        "signin.html",
        {
            "title": "Sign in",
            "form_csrf": state.signer.csrf_token("pre:" + pre),
            "message": message,
            "username": username,
        },
        status_code=status,
    )
    if request.cookies.get(state.pre_cookie) != pre:
        state.set_cookie(response, state.pre_cookie, pre)
    return response


@router.get("/signin")
def signin_form(request: Request, state: deps.WebDep, principal: deps.MaybeSignedIn) -> Response:
    if principal is not None:
        return RedirectResponse("/worklist", status_code=303)
    return _signin_page(request, state)


@router.post("/signin")
def signin(request: Request, state: deps.WebDep, form: deps.RawForm) -> Response:
    pre = request.cookies.get(state.pre_cookie, "")
    token = form.get("csrf")
    if not pre or not state.signer.csrf_ok("pre:" + pre, token if isinstance(token, str) else ""):
        return _signin_page(
            request,
            state,
            message="The sign-in form had expired. Please try again.",
            status=403,
        )
    raw_name = form.get("username")
    raw_password = form.get("password")
    username = raw_name.strip() if isinstance(raw_name, str) else ""
    password = raw_password if isinstance(raw_password, str) else ""
    attempt = state.throttle.begin(
        username, deps.client_address(request), request.cookies.get(state.device_cookie)
    )
    if isinstance(attempt, Refused):
        seconds = attempt.seconds
        wait = (
            f"{seconds} second{'s' if seconds != 1 else ''}"
            if seconds < 120
            else f"{-(-seconds // 60)} minutes"
        )
        response = _signin_page(
            request,
            state,
            message=(
                "Too many failed sign-ins. For your safety, please wait "
                f"{wait} and try again. Your clinic's admin can clear this delay."
            ),
            username=username,
            status=429,
        )
        response.headers["Retry-After"] = str(seconds)
        return response
    found = state.db.transaction(lambda conn: acc.account_for_signin(conn, username))
    stored = found.password_hash if found and found.password_hash else _dummy_hash()
    ok = verify_password(stored, password) and found is not None
    if not ok or found is None:
        # the attempt stays recorded as a failure
        return _signin_page(
            request,
            state,
            message="That user name and password do not match. Please try again.",
            username=username,
            status=401,
        )
    state.throttle.succeeded(attempt)
    session = new_token()
    state.db.transaction(
        lambda conn: acc.create_session(conn, found.user, token_digest(session), state.now())
    )
    response = RedirectResponse(
        "/operator/clinics" if found.operator and found.user.role != "admin" else "/worklist",
        status_code=303,
    )
    state.set_cookie(response, state.session_cookie, session)
    response.set_cookie(
        state.device_cookie,
        state.throttle.device_cookie(request.cookies.get(state.device_cookie), username),
        max_age=DEVICE_DAYS * 86400,
        httponly=True,
        samesite="lax",
        secure=state.settings.secure_cookies,
        path="/",
    )
    response.delete_cookie(state.pre_cookie, path="/")
    return response


@router.post("/signout")
def signout(principal: deps.SignedIn, form: deps.Form, state: deps.WebDep) -> Response:
    state.db.transaction(lambda conn: acc.end_session(conn, principal.session, state.now()))
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(state.session_cookie, path="/")
    return response


# -- the first start ----------------------------------------------------------------------------


def _link_or_404(state: deps.WebState, token: str) -> str:
    digest = link_digest(state.signer, "account-link", token, state.settings.link_hours * 3600 + 60)
    if digest is None:
        raise deps.Gone("This link is not valid. It may have expired or been used already.")
    return digest


def _password_checks(form: dict[str, str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    password = form.get("password", "")
    problem = password_problem(password)
    if problem:
        errors["password"] = f"Please {problem}."
    elif password != form.get("confirm", ""):
        errors["confirm"] = "The two passwords are not the same."
    return errors


@router.get("/setup/{token}")
def setup_form(request: Request, token: str, state: deps.WebDep) -> Response:
    digest = _link_or_404(state, token)
    link = state.db.transaction(lambda conn: acc.setup_link(conn, digest, state.now()))
    if link is None:
        raise deps.Gone("This set-up link is not valid any more.")
    clinic = ""
    if state.extra.get("demo_after_setup"):
        # a "Demo clinic" left without users by an older version cannot be joined (HZ-55):
        # then no name is suggested; the demo patients go to whatever clinic is named
        taken = state.db.transaction(lambda conn: acc.clinic_by_name(conn, DEMO_CLINIC))
        clinic = "" if taken else DEMO_CLINIC
    return _setup_page(request, state, digest, {"clinic": clinic}, {})


def _setup_page(
    request: Request,
    state: deps.WebState,
    digest: str,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    return deps.page(
        request,
        "setup.html",
        {
            "title": "Set up Backstory",
            "form_csrf": state.signer.csrf_token("setup:" + digest),
            "values": values,
            "errors": errors,
            "min_length": MIN_PASSWORD_LENGTH,
        },
        status_code=status,
    )


@router.post("/setup/{token}")
def setup(request: Request, token: str, state: deps.WebDep, raw: deps.RawForm) -> Response:
    digest = _link_or_404(state, token)
    form = deps.link_form(raw, state, "setup:" + digest)
    if state.db.transaction(lambda conn: acc.setup_link(conn, digest, state.now())) is None:
        raise deps.Gone("This set-up link is not valid any more.")
    errors = _password_checks(form)
    username = form.get("username", "").strip()
    clinic = form.get("clinic", "").strip()
    if not username:
        errors["username"] = "Please choose a user name."
    if not clinic:
        errors["clinic"] = "Please name your clinic."
    values = {"username": username, "clinic": clinic}
    if errors:
        return _setup_page(request, state, digest, values, errors, 400)
    hashed = hash_password(form["password"])
    try:
        first = state.db.transaction(
            lambda conn: acc.complete_setup(conn, digest, username, hashed, clinic, state.now())
        )
    except (Conflict, InvalidRequest) as exc:
        key = "clinic" if "clinic" in str(exc) else "username"
        return _setup_page(request, state, digest, values, {key: str(exc)}, 400)
    if state.extra.pop("demo_after_setup", False):
        load_demo(state.db, first.clinic_id)
    return deps.page(
        request,
        "message.html",
        {
            "title": "Backstory is set up",
            "message": f"The account {username} is the admin of {clinic} and an operator. "
            "Sign in to start.",
            "next_url": "/signin",
            "next_label": "Sign in",
        },
    )


# -- invitations and resets -------------------------------------------------------------------


@router.get("/password/{token}")
def password_form(request: Request, token: str, state: deps.WebDep) -> Response:
    digest = _link_or_404(state, token)
    link = state.db.transaction(lambda conn: acc.password_link(conn, digest, state.now()))
    if link is None or link.user is None:
        raise deps.Gone("This link is not valid any more. Ask your clinic's admin for a new one.")
    return _password_page(request, state, digest, link.user.username, {})


def _password_page(
    request: Request,
    state: deps.WebState,
    digest: str,
    username: str,
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    return deps.page(
        request,
        "password.html",
        {
            "title": "Choose your password",
            "form_csrf": state.signer.csrf_token("password:" + digest),
            "username": username,
            "errors": errors,
            "min_length": MIN_PASSWORD_LENGTH,
        },
        status_code=status,
    )


@router.post("/password/{token}")
def set_password(request: Request, token: str, state: deps.WebDep, raw: deps.RawForm) -> Response:
    digest = _link_or_404(state, token)
    form = deps.link_form(raw, state, "password:" + digest)
    link = state.db.transaction(lambda conn: acc.password_link(conn, digest, state.now()))
    if link is None or link.user is None:
        raise deps.Gone("This link is not valid any more. Ask your clinic's admin for a new one.")
    errors = _password_checks(form)
    if errors:
        return _password_page(request, state, digest, link.user.username, errors, 400)
    hashed = hash_password(form["password"])
    state.db.transaction(lambda conn: acc.set_password(conn, digest, hashed, state.now()))
    return deps.page(
        request,
        "message.html",
        {
            "title": "Password saved",
            "message": f"The password for {link.user.username} is set. You can sign in now.",
            "next_url": "/signin",
            "next_label": "Sign in",
        },
    )
