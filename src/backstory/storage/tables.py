"""The stored records as SQLAlchemy Core tables (the migrations create exactly these).

Identifiers are short random strings (``P7KQ2M9XD``) so that ids carry no meaning, survive a
portable dump unchanged and never need a sequence, except the audit log, whose integer id
gives the order events were written in. ``tests/storage`` checks these tables against what
the migrations build, so the two cannot drift apart.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

ID = String(16)
ROLES = ("clinician", "admin")
SEXES = ("female", "male", "other", "unknown")

NAMING = {
    "pk": "pk_%(table_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}
"""Every constraint named the same way on every backend (the migrations use these names)."""

metadata = MetaData(naming_convention=NAMING)

clinic = Table(
    "clinic",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

app_user = Table(
    "app_user",
    metadata,
    Column("id", ID, primary_key=True),
    Column("clinic_id", ID, ForeignKey("clinic.id"), nullable=False),
    Column("username", String(100), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("role IN ('clinician', 'admin')", name="role"),
)

patient = Table(
    "patient",
    metadata,
    Column("id", ID, primary_key=True),
    Column("clinic_id", ID, ForeignKey("clinic.id"), nullable=False),
    Column("reference", String(100), nullable=False),
    Column("birth_year", Integer, nullable=True),
    Column("sex", String(10), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("clinic_id", "reference"),
    CheckConstraint("birth_year BETWEEN 1900 AND 2100", name="birth_year"),
    CheckConstraint("sex IN ('female', 'male', 'other', 'unknown')", name="sex"),
)

episode = Table(
    "episode",
    metadata,
    Column("id", ID, primary_key=True),
    Column("patient_id", ID, ForeignKey("patient.id"), nullable=False, index=True),
    Column("started_on", Date, nullable=False),
    Column("closed_on", Date, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("closed_on IS NULL OR closed_on >= started_on", name="dates"),
)

assessment = Table(
    "assessment",
    metadata,
    Column("id", ID, primary_key=True),
    Column("episode_id", ID, ForeignKey("episode.id"), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("supersedes_id", ID, ForeignKey("assessment.id"), nullable=True, unique=True),
    Column("correction_reason", Text, nullable=True),
    Column("assessed_on", Date, nullable=False),
    Column("contract_version", String(60), nullable=False),
    Column("source_json", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(100), nullable=False),
    CheckConstraint("version >= 1", name="version"),
    CheckConstraint(
        "(version = 1 AND supersedes_id IS NULL AND correction_reason IS NULL) OR "
        "(version > 1 AND supersedes_id IS NOT NULL AND correction_reason IS NOT NULL)",
        name="correction",
    ),
)

report = Table(
    "report",
    metadata,
    Column("id", ID, primary_key=True),
    Column("assessment_id", ID, ForeignKey("assessment.id"), nullable=False),
    Column("knowledge_version", String(40), nullable=False),
    Column("report_json", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("assessment_id", "knowledge_version"),
)

audit_event = Table(
    "audit_event",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(40), nullable=False),
    Column("record_type", String(20), nullable=False),
    Column("record_id", String(40), nullable=True),
    Column("patient_id", ID, nullable=True),
    Column("detail", Text, nullable=False),
    Index(None, "patient_id"),
)

# -- the web app's records (migration 0002): credentials, sessions, links, tokens, releases ---

account = Table(
    "account",
    metadata,
    Column("user_id", ID, ForeignKey("app_user.id"), primary_key=True),
    Column("password_hash", Text, nullable=True),
    Column("operator", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
"""A user's web credentials: an argon2id hash (None until set through a one-time link)."""

web_session = Table(
    "web_session",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("user_id", ID, ForeignKey("app_user.id"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)
"""Server-side sessions, stored by the digest of the cookie value only."""

account_link = Table(
    "account_link",
    metadata,
    Column("id", ID, primary_key=True),
    Column("digest", String(64), nullable=False, unique=True),
    Column("purpose", String(10), nullable=False),
    Column("user_id", ID, ForeignKey("app_user.id"), nullable=True, index=True),
    Column("created_by", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("purpose IN ('setup', 'invite', 'reset')", name="purpose"),
)
"""One-time links to set up the first admin or to set a password (digest only)."""

api_token = Table(
    "api_token",
    metadata,
    Column("id", ID, primary_key=True),
    Column("digest", String(64), nullable=False, unique=True),
    Column("clinic_id", ID, ForeignKey("clinic.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("scope", String(10), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("scope IN ('read', 'write')", name="scope"),
)
"""API tokens: one clinic, read or read-write, stored as a digest, shown once."""

patient_link = Table(
    "patient_link",
    metadata,
    Column("id", ID, primary_key=True),
    Column("digest", String(64), nullable=False, unique=True),
    Column("purpose", String(20), nullable=False),
    Column("patient_id", ID, ForeignKey("patient.id"), nullable=False, index=True),
    Column("assessment_id", ID, ForeignKey("assessment.id"), nullable=True, index=True),
    Column("created_by", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("purpose IN ('questionnaire', 'explanation')", name="purpose"),
)
"""Links a patient opens without an account: a pre-visit questionnaire or an explanation."""

release = Table(
    "release",
    metadata,
    Column("assessment_id", ID, ForeignKey("assessment.id"), primary_key=True),
    Column("released", Boolean, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("changed_by", String(100), nullable=False),
)
"""Whether the clinician has released an assessment's explanation to the patient."""

# -- sign-in throttling (migration 0003) ------------------------------------------------------

signin_failure = Table(
    "signin_failure",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(10), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    CheckConstraint("kind IN ('user', 'address')", name="kind"),
    Index("ix_signin_failure_key", "kind", "digest", "at"),
    Index("ix_signin_failure_at", "at"),
)
"""Failed sign-ins (and ones in progress), by a keyed digest of the user name or of the
client address - never either in clear - so every process of the web app sees the same
counts. Rows older than the throttling window are deleted; they are not patient records and
are left out of JSON dumps (``TABLES_IN_ORDER``)."""

# -- CDS client JWT ids already used (migration 0004) --------------------------------------------

cds_jti = Table(
    "cds_jti",
    metadata,
    Column("client", String(40), primary_key=True),
    Column("digest", String(64), primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_cds_jti_expires_at", "expires_at"),
)
"""The ``jti`` of every CDS client JWT accepted while its token can still be used (a SHA-256
digest, by the configured client's name), so that every process of the web app refuses a
replay; the primary key lets exactly one of two racing calls record a ``jti``. Expired rows
are deleted; like ``signin_failure``, they are left out of JSON dumps."""

# -- the worklist (migration 0006): reviews, a patient's "not sure" answers, clinic settings --

assessment_review = Table(
    "assessment_review",
    metadata,
    Column("assessment_id", ID, ForeignKey("assessment.id"), primary_key=True),
    Column("reviewed_by", String(100), nullable=False),
    Column("reviewed_at", DateTime(timezone=True), nullable=False),
)
"""Who reviewed an assessment, and when: an explicit act on the worklist or the report
(audited as ``assessment.review``). Once reviewed, an assessment leaves the banner."""

assessment_unsure = Table(
    "assessment_unsure",
    metadata,
    Column("assessment_id", ID, ForeignKey("assessment.id"), primary_key=True),
    Column("fields", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)
"""The questions a patient answered "not sure" in the pre-visit questionnaire, as a JSON list
of contract field names. In the assessment itself those fields stay unanswered (unknown),
as the contract says; this keeps the patient's uncertainty beside it for the clinician."""

clinic_setting = Table(
    "clinic_setting",
    metadata,
    Column("clinic_id", ID, ForeignKey("clinic.id"), primary_key=True),
    Column("country", String(2), nullable=False),
    Column("contact", String(200), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(100), nullable=False),
)
"""A clinic's own settings, edited by its admin: its country (which sets the emergency number
and the urgent advice service the patient pages name, from ``questionnaire.yaml``) and how a
patient reaches the clinic for same-day advice (free text, such as a phone number)."""
# -- episode outcomes and scheduled follow-up questionnaires (migration 0007) -----------------

OUTCOME_KINDS = ("discharged", "referred", "did_not_return", "other")

episode_outcome = Table(
    "episode_outcome",
    metadata,
    Column("episode_id", ID, ForeignKey("episode.id"), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("note", Text, nullable=True),
    Column("summary_json", Text, nullable=False),
    Column("closed_by", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("kind IN ('discharged', 'referred', 'did_not_return', 'other')", name="kind"),
)
"""How an episode ended: discharged, referred on, did not return or other, with the last
scores against the first (``backstory.outcomes``) as they stood when it was closed."""

followup = Table(
    "followup",
    metadata,
    Column("id", ID, primary_key=True),
    Column("patient_id", ID, ForeignKey("patient.id"), nullable=False, index=True),
    Column("episode_id", ID, ForeignKey("episode.id"), nullable=False, index=True),
    Column("weeks", Integer, nullable=False),
    Column("due_on", Date, nullable=False, index=True),
    Column("created_by", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("link_id", ID, ForeignKey("patient_link.id"), nullable=True),
    Column("cancelled_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("episode_id", "weeks"),
)
"""A follow-up questionnaire due some weeks after an episode's first assessment: due from
``due_on`` until a questionnaire link is made for it (``sent_at``) or the episode closes
(``cancelled_at``)."""

# -- the self-management programme between visits (migration 0008) ---------------------------

programme = Table(
    "programme",
    metadata,
    Column("id", ID, primary_key=True),
    Column("patient_id", ID, ForeignKey("patient.id"), nullable=False, index=True),
    Column("assessment_id", ID, ForeignKey("assessment.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("supersedes_id", ID, ForeignKey("programme.id"), nullable=True),
    Column("choices_json", Text, nullable=False),
    Column("override_reason", Text, nullable=True),
    Column("created_by", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("released_by", String(100), nullable=True),
    Column("released_at", DateTime(timezone=True), nullable=True),
)
"""A patient's self-management programme as a clinician chose it (exercises, walking minutes,
goals) from one assessment's report. Every edit is a new version (``supersedes_id``); a
version is released once, and the patient follows the latest released one. An override
reason is kept when the programme was made despite an urgent or emergency triage or an
incomplete warning-sign screen."""

programme_link = Table(
    "programme_link",
    metadata,
    Column("id", ID, primary_key=True),
    Column("digest", String(64), nullable=False, unique=True),
    Column("patient_id", ID, ForeignKey("patient.id"), nullable=False, index=True),
    Column("created_by", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_by", String(100), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)
"""The link a patient follows their programme through, without an account: stored as a
digest only, until it expires or a clinician revokes it."""

programme_checkin = Table(
    "programme_checkin",
    metadata,
    Column("id", ID, primary_key=True),
    Column("programme_id", ID, ForeignKey("programme.id"), nullable=False, index=True),
    Column("patient_id", ID, ForeignKey("patient.id"), nullable=False, index=True),
    Column("link_id", ID, ForeignKey("programme_link.id"), nullable=True),
    Column("week", Integer, nullable=False),
    Column("pain", Integer, nullable=False),
    Column("confidence", Integer, nullable=False),
    Column("fear", Integer, nullable=False),
    Column("activity_days", Integer, nullable=False),
    Column("exercise_days", Integer, nullable=False),
    Column("flare_ups", Integer, nullable=False),
    Column("warnings_json", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("reviewed_by", String(100), nullable=True),
    Column("reviewed_at", DateTime(timezone=True), nullable=True),
)
"""A weekly check-in: pain, confidence and fear (0 to 10), days walked and days of
exercise (0 to 7), flare-ups, and the cauda equina questions asked again (a JSON object of
field to "yes", "no" or "not_sure"). One with a warning sign stays in the banner on every
clinician page until a clinician reviews it."""
checkin_warning = Table(
    "checkin_warning",
    metadata,
    Column("id", ID, primary_key=True),
    Column("programme_id", ID, ForeignKey("programme.id"), nullable=False, index=True),
    Column("patient_id", ID, ForeignKey("patient.id"), nullable=False, index=True),
    Column("link_id", ID, ForeignKey("programme_link.id"), nullable=True),
    Column("warnings_json", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("reviewed_by", String(100), nullable=True),
    Column("reviewed_at", DateTime(timezone=True), nullable=True),
)
"""A warning sign reported in a check-in the patient sent unfinished (migration 0011): the
cauda equina answers only (at least one yes or "not sure"), kept although the rest of the form
was refused, so that the clinician is told (HZ-100). It is never a week's check-in - no scores,
not counted for adherence, charts or the next week - but it stays in the banner on every
clinician page and tops the worklist until a clinician reviews it."""
# -- e-mail reminders (migration 0010) --------------------------------------------------------

patient_contact = Table(
    "patient_contact",
    metadata,
    Column("patient_id", ID, ForeignKey("patient.id"), primary_key=True),
    Column("email_sealed", String(600), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(100), nullable=False),
)
"""The address a patient agreed to get follow-up reminders at, sealed (AES-GCM, bound to the
patient's id) under ``BACKSTORY_MAIL_KEY``, which the database never holds; erased with the
patient."""

reminder = Table(
    "reminder",
    metadata,
    Column("followup_id", ID, ForeignKey("followup.id"), primary_key=True),
    Column("link_id", ID, ForeignKey("patient_link.id"), nullable=True),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
)
"""A reminder claimed for a follow-up (at most one each: the primary key), and when the mail
server accepted it. A claim with no ``sent_at`` after a crash is never retried on its own:
the follow-up stays due on the worklist for a person to see."""
checkin_reminder = Table(
    "checkin_reminder",
    metadata,
    Column("programme_id", ID, ForeignKey("programme.id"), primary_key=True),
    Column("due_on", Date, primary_key=True),
    Column("patient_id", ID, ForeignKey("patient.id"), nullable=False, index=True),
    Column("link_id", ID, ForeignKey("programme_link.id"), nullable=True),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
)
"""A weekly check-in reminder claimed for a released programme (migration 0012): at most one
per programme and due day (the primary key), with the fresh programme link it carried and
when the mail server accepted it. A claim with no ``sent_at`` after a crash is never retried
on its own; the missed check-ins still show on the worklist."""
# -- questionnaire drafts (migration 0009) ------------------------------------------------------

questionnaire_draft = Table(
    "questionnaire_draft",
    metadata,
    Column("link_id", ID, ForeignKey("patient_link.id"), primary_key=True),
    Column("part", String(40), nullable=False),
    Column("answers_json", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
"""A patient's questionnaire answers so far, saved page by page (``storage/drafts.py``): one
per questionnaire link, readable only through that link, gone when the link is used, expires,
or the patient is erased."""

TABLES_IN_ORDER = (
    clinic,
    app_user,
    patient,
    episode,
    assessment,
    report,
    audit_event,
    account,
    web_session,
    account_link,
    api_token,
    patient_link,
    release,
    assessment_review,
    assessment_unsure,
    clinic_setting,
    episode_outcome,
    followup,
    programme,
    programme_link,
    programme_checkin,
    checkin_warning,
    patient_contact,
    reminder,
    checkin_reminder,
    questionnaire_draft,
)
"""Parents before children: the order to insert a dump in (every table but ``signin_failure``
and ``cds_jti``, whose short-lived rows a restored database does not need)."""
