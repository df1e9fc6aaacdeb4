"""Audit refused requests for patient data (HZ-58): the web side of ``storage/refusals``.

Called by the app's error handler for every 404 and 403 that storage raises. When the
route names a patient, episode or assessment (``{patient_id}``, ``{episode_id}``,
``{assessment_id}``) that the caller's clinic cannot see, one ``refused`` row is written in
its own transaction (the refused request's own transaction has been rolled back). The
caller is the signed-in user, or the API token as ``token:ID``. The answer the caller gets
does not change: another clinic's record still looks exactly like a missing one.
"""

from __future__ import annotations

import logging

from starlette.requests import Request

from backstory.storage import accounts as acc
from backstory.storage import refusals
from backstory.storage.users import User
from backstory.web import deps
from backstory.web.security import keyed_digest, token_digest

log = logging.getLogger("backstory.web")
REPORT_ENDINGS = ("/report", "/summary.pdf", "/leaflet.pdf")


def resource_kind(template: str) -> str | None:
    """The kind of record a route template serves, or None for a route about no patient."""
    if not any("{" + p + "}" in template for p in refusals.ID_PARAMS):
        return None
    if template.endswith(REPORT_ENDINGS):
        return "report"
    if "{episode_id}" in template:
        return "episode"
    if "{assessment_id}" in template:
        return "assessment"
    return "patient"


def _actor(request: Request, state: deps.WebState) -> User | None:
    principal = getattr(request.state, "principal", None)
    if isinstance(principal, deps.Principal):
        return principal.user
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    digest = token_digest(value.strip())
    token = state.db.read(lambda conn: acc.token_by_digest(conn, digest))
    return token.principal() if token is not None else None


def note_refusal(request: Request, status: int) -> bool:
    """Write the audit row for a refused request about patient data; whether one was
    written. A failure to write it is logged (its type only) and does not change the
    answer."""
    route = request.scope.get("route")
    template = getattr(route, "path", None)
    resource = resource_kind(template) if isinstance(template, str) else None
    if resource is None or status not in (403, 404):
        return False
    params = {k: str(v) for k, v in request.path_params.items() if k in refusals.ID_PARAMS}
    state = deps.web(request)
    try:
        actor = _actor(request, state)
        if actor is None:
            return False
        secret = state.settings.secret_key

        def digest(value: str) -> str:
            return keyed_digest(secret, "refused-id", value)

        return state.db.transaction(
            lambda conn: refusals.record_refusal(conn, actor, resource, params, status, digest)
        )
    except Exception as exc:  # the refusal stands; only its audit row is missing
        log.error("could not audit a refused request: %s", type(exc).__name__)
        return False
