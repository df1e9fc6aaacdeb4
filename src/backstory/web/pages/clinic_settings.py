"""The clinic's settings page (admins): its country and its same-day contact for patients.

Both decide what a patient is told to do when unsure about a cauda equina question and what
the patient pages say about emergencies (HZ-85): the country gives the emergency number and
the urgent advice service (``questionnaire.yaml``); the contact is the clinic's own way to
get advice the same day. Saving is audited (``clinic.settings``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from backstory.storage.clinic_settings import ClinicSettings, load_settings, save_settings
from backstory.storage.errors import InvalidRequest
from backstory.web import deps
from backstory.web.questionnaire import COUNTRIES, Help

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    current: ClinicSettings,
    values: dict[str, str],
    error: str = "",
    saved: bool = False,
    status: int = 200,
) -> Response:
    shown = Help.of(values.get("country") or current.country, values.get("contact", ""))
    return deps.page(
        request,
        "clinic_settings.html",
        {
            "title": "Clinic settings",
            "countries": COUNTRIES,
            "current": current,
            "values": values,
            "error": error,
            "saved": saved,
            "preview": shown.unsure_banner(),
            "country": shown.country,
        },
        status_code=status,
    )


@router.get("/admin/clinic")
def settings_form(
    request: Request, principal: deps.Admin, state: deps.WebDep, saved: str = ""
) -> Response:
    current = state.db.read(lambda conn: load_settings(conn, principal.user.clinic_id))
    values = {
        "country": current.country or COUNTRIES[0].code,
        "contact": current.contact or "",
    }
    return _page(request, current, values, saved=saved == "1")


@router.post("/admin/clinic")
def save(request: Request, principal: deps.Admin, form: deps.Form, state: deps.WebDep) -> Response:
    codes = tuple(c.code for c in COUNTRIES)
    country = form.get("country", "")
    contact = form.get("contact", "")
    try:
        state.store(principal.user.username).run(
            lambda conn, user: save_settings(conn, user, country, contact, state.now(), codes)
        )
    except InvalidRequest as exc:
        current = state.db.read(lambda conn: load_settings(conn, principal.user.clinic_id))
        values = {"country": country, "contact": contact[:300]}
        return _page(request, current, values, error=str(exc), status=400)
    return RedirectResponse("/admin/clinic?saved=1", status_code=303)
