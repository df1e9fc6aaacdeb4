"""Web accounts: passwords, sessions, one-time links, API tokens, clinics and operators.

Kept apart from :mod:`backstory.storage.users` (which the command line uses) so that the
command line keeps working without any of it. Nothing secret is stored: sessions, links and
tokens are kept as SHA-256 digests of the values handed out, passwords as argon2id hashes
made by the caller (storage never sees a password). Every function runs inside the caller's
transaction, and everything that changes who may do what is audited.

Roles: an *operator* creates clinics and invites their first admin, and sees no patient
data of other clinics; a clinic *admin* invites, deactivates and resets the clinic's users
and manages its API tokens; a *clinician* works with the clinic's patients.

The work is split by concern, each in its own module; this module gathers their public
names so callers can keep writing ``accounts.create_token``:
``account_setup`` (first start), ``sessions`` (signing in), ``account_links`` (one-time
links and passwords), ``clinic_users`` (a clinic's users and roles), ``api_tokens`` and
``clinics`` (operators); ``account_common`` holds what they share.
"""

from backstory.storage.account_common import MAX_NAME, is_operator, require_operator
from backstory.storage.account_links import (
    AccountLink,
    LinkPurpose,
    password_link,
    set_password,
)
from backstory.storage.account_setup import (
    complete_setup,
    needs_setup,
    new_setup_link,
    setup_link,
)
from backstory.storage.api_tokens import (
    Scope,
    Token,
    clinic_tokens,
    create_token,
    revoke_token,
    token_by_digest,
    token_resolver,
)
from backstory.storage.clinic_users import (
    ClinicUser,
    clinic_users,
    command_line_link,
    deactivate,
    invite_user,
    reset_password,
    set_operator,
    set_role,
    unlock,
)
from backstory.storage.clinics import (
    ClinicInfo,
    clinic_by_name,
    clinic_name,
    clinic_patient_count,
    create_clinic,
    first_operator_clinic,
    list_clinics,
)
from backstory.storage.sessions import (
    SESSION_TOUCH_SECONDS,
    Account,
    SessionInfo,
    account_for_signin,
    create_session,
    end_session,
    load_session,
)

__all__ = [
    "MAX_NAME",
    "SESSION_TOUCH_SECONDS",
    "Account",
    "AccountLink",
    "ClinicInfo",
    "ClinicUser",
    "LinkPurpose",
    "Scope",
    "SessionInfo",
    "Token",
    "account_for_signin",
    "clinic_by_name",
    "clinic_name",
    "clinic_patient_count",
    "clinic_tokens",
    "clinic_users",
    "command_line_link",
    "complete_setup",
    "create_clinic",
    "create_session",
    "create_token",
    "deactivate",
    "end_session",
    "first_operator_clinic",
    "invite_user",
    "is_operator",
    "list_clinics",
    "load_session",
    "needs_setup",
    "new_setup_link",
    "password_link",
    "require_operator",
    "reset_password",
    "revoke_token",
    "set_operator",
    "set_password",
    "set_role",
    "setup_link",
    "token_by_digest",
    "token_resolver",
    "unlock",
]
