"""Clinic admin pages: the clinic's users (invite, deactivate, reset, change role, make or
unmake operators) and its API tokens.

Invitations and resets make one-time links to choose a password; tokens are shown once and
stored as a digest. An admin only ever sees and changes their own clinic's users and tokens:
another clinic's look missing (404). An operator's account is changed by an operator only
(403 for anyone else), and the last active operator stays one (409) - see
``storage/users.guard_operator_account`` (HZ-55).
"""

from __future__ import annotations

from typing import Literal, cast

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from backstory.storage import accounts as acc
from backstory.storage.errors import Conflict, InvalidRequest
from backstory.web import deps
from backstory.web.links import new_api_token, new_link

router = APIRouter(include_in_schema=False)


def _users_page(
    request: Request,
    state: deps.WebState,
    principal: deps.Principal,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    found = state.db.transaction(lambda conn: acc.clinic_users(conn, principal.user))
    return deps.page(
        request,
        "admin_users.html",
        {
            "title": f"Users of {principal.user.clinic}",
            "users": found,
            "errors": errors or {},
            "values": values or {},
        },
        status_code=status,
    )


@router.get("/admin/users")
def users_page(request: Request, principal: deps.Admin, state: deps.WebDep) -> Response:
    return _users_page(request, state, principal)


def _password_link_page(
    request: Request, state: deps.WebState, username: str, token: str, invited: bool
) -> Response:
    url = f"{deps.base_url(request, state)}/password/{token}"
    return deps.page(
        request,
        "account_link.html",
        {
            "title": "Invitation link" if invited else "Password reset link",
            "username": username,
            "url": url,
            "hours": state.settings.link_hours,
            "invited": invited,
        },
    )


@router.post("/admin/users")
def invite(
    request: Request, principal: deps.Admin, form: deps.Form, state: deps.WebDep
) -> Response:
    username = form.get("username", "").strip()
    role = form.get("role", "clinician")
    if role not in ("clinician", "admin"):
        role = "clinician"
    token, digest = new_link(state.signer, "account-link")
    try:
        state.db.transaction(
            lambda conn: acc.invite_user(
                conn,
                principal.user,
                username,
                cast(Literal["clinician", "admin"], role),
                digest,
                state.now(),
                state.link_expiry(),
            )
        )
    except (Conflict, InvalidRequest) as exc:
        return _users_page(
            request,
            state,
            principal,
            errors={"username": str(exc)},
            values={"username": username, "role": role},
            status=400,
        )
    return _password_link_page(request, state, username, token, invited=True)


@router.post("/admin/users/{user_id}/deactivate")
def deactivate(
    user_id: str, principal: deps.Admin, form: deps.Form, state: deps.WebDep
) -> Response:
    state.db.transaction(lambda conn: acc.deactivate(conn, principal.user, user_id, state.now()))
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}/role")
def change_role(
    user_id: str, principal: deps.Admin, form: deps.Form, state: deps.WebDep
) -> Response:
    role = form.get("role", "")
    if role not in ("clinician", "admin"):
        raise InvalidRequest("the role must be clinician or admin")
    state.db.transaction(
        lambda conn: acc.set_role(
            conn, principal.user, user_id, cast(Literal["clinician", "admin"], role), state.now()
        )
    )
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}/operator")
def change_operator(
    user_id: str, principal: deps.Admin, form: deps.Form, state: deps.WebDep
) -> Response:
    """Give (operator=yes) or take (operator=no) the operator right: operators only."""
    wanted = form.get("operator", "")
    if wanted not in ("yes", "no"):
        raise InvalidRequest("operator must be yes or no")
    state.db.transaction(
        lambda conn: acc.set_operator(conn, principal.user, user_id, wanted == "yes", state.now())
    )
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}/unlock")
def unlock(
    request: Request, user_id: str, principal: deps.Admin, form: deps.Form, state: deps.WebDep
) -> Response:
    """Clear a user's sign-in delays (every place they failed from); audited."""
    user, cleared = state.db.transaction(
        lambda conn: acc.unlock(conn, principal.user, user_id, state.throttle.user_digest)
    )
    return deps.page(
        request,
        "message.html",
        {
            "title": "Sign-in delays cleared",
            "message": f"{user.username} can sign in again at once "
            f"({cleared} failed sign-in{'s' if cleared != 1 else ''} forgotten).",
            "next_url": "/admin/users",
            "next_label": "Back to the users",
        },
    )


@router.post("/admin/users/{user_id}/reset")
def reset(
    request: Request, user_id: str, principal: deps.Admin, form: deps.Form, state: deps.WebDep
) -> Response:
    token, digest = new_link(state.signer, "account-link")
    user = state.db.transaction(
        lambda conn: acc.reset_password(
            conn, principal.user, user_id, digest, state.now(), state.link_expiry()
        )
    )
    return _password_link_page(request, state, user.username, token, invited=False)


def _tokens_page(
    request: Request,
    state: deps.WebState,
    principal: deps.Principal,
    *,
    created: tuple[acc.Token, str] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    tokens = state.db.transaction(lambda conn: acc.clinic_tokens(conn, principal.user))
    return deps.page(
        request,
        "admin_tokens.html",
        {
            "title": f"API tokens of {principal.user.clinic}",
            "tokens": tokens,
            "created": created,
            "error": error,
        },
        status_code=status,
    )


@router.get("/admin/tokens")
def tokens_page(request: Request, principal: deps.Admin, state: deps.WebDep) -> Response:
    return _tokens_page(request, state, principal)


@router.post("/admin/tokens")
def create_token(
    request: Request, principal: deps.Admin, form: deps.Form, state: deps.WebDep
) -> Response:
    scope = "write" if form.get("scope") == "write" else "read"
    token, digest = new_api_token()
    try:
        made = state.db.transaction(
            lambda conn: acc.create_token(
                conn,
                principal.user,
                form.get("name", ""),
                cast(Literal["read", "write"], scope),
                digest,
                state.now(),
            )
        )
    except InvalidRequest as exc:
        return _tokens_page(request, state, principal, error=str(exc), status=400)
    return _tokens_page(request, state, principal, created=(made, token))


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_token(
    token_id: str, principal: deps.Admin, form: deps.Form, state: deps.WebDep
) -> Response:
    state.db.transaction(lambda conn: acc.revoke_token(conn, principal.user, token_id, state.now()))
    return RedirectResponse("/admin/tokens", status_code=303)
