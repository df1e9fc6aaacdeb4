"""Operator pages: every clinic (names and user counts only - no patient data) and creating
a clinic with a one-time invitation for its first admin."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from backstory.storage import accounts as acc
from backstory.storage.errors import Conflict, InvalidRequest
from backstory.web import deps
from backstory.web.links import new_link

router = APIRouter(include_in_schema=False)


def _clinics_page(
    request: Request,
    state: deps.WebState,
    principal: deps.Principal,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    clinics = state.db.transaction(lambda conn: acc.list_clinics(conn, principal.user))
    return deps.page(
        request,
        "operator_clinics.html",
        {"title": "Clinics", "clinics": clinics, "errors": errors or {}, "values": values or {}},
        status_code=status,
    )


@router.get("/operator/clinics")
def clinics(request: Request, principal: deps.Operator, state: deps.WebDep) -> Response:
    return _clinics_page(request, state, principal)


@router.post("/operator/clinics")
def create_clinic(
    request: Request, principal: deps.Operator, form: deps.Form, state: deps.WebDep
) -> Response:
    name = form.get("name", "")
    admin_name = form.get("admin", "").strip()
    token, digest = new_link(state.signer, "account-link")
    try:
        state.db.transaction(
            lambda conn: acc.create_clinic(
                conn, principal.user, name, admin_name, digest, state.now(), state.link_expiry()
            )
        )
    except (Conflict, InvalidRequest) as exc:
        key = "name" if "clinic" in str(exc) else "admin"
        return _clinics_page(
            request,
            state,
            principal,
            errors={key: str(exc)},
            values={"name": name, "admin": admin_name},
            status=400,
        )
    return deps.page(
        request,
        "account_link.html",
        {
            "title": "Invitation link",
            "username": admin_name,
            "clinic": name.strip(),
            "url": f"{deps.base_url(request, state)}/password/{token}",
            "hours": state.settings.link_hours,
            "invited": True,
        },
    )
