"""Clinics, users, patients, episodes, immutable assessments, reports and the audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-27

Written out in full (not read from ``tables.py``) so that this revision never changes once
released. Triggers make the promises of the repository hold for anyone with SQL access too:
an assessment or report is never updated, and the audit log is never updated or deleted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.String(16)
STAMP = sa.DateTime(timezone=True)

REFUSALS = {
    "assessment": ("UPDATE", "assessments are immutable; save a correction instead"),
    "report": ("UPDATE", "reports are immutable; store a report under a new knowledge version"),
    "audit_event": ("UPDATE OR DELETE", "the audit log is append-only"),
}


def upgrade() -> None:
    op.create_table(
        "clinic",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_clinic"),
        sa.UniqueConstraint("name", name="uq_clinic_name"),
    )
    op.create_table(
        "app_user",
        sa.Column("id", ID, nullable=False),
        sa.Column("clinic_id", ID, nullable=False),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_app_user"),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name="fk_app_user_clinic_id"),
        sa.UniqueConstraint("username", name="uq_app_user_username"),
        sa.CheckConstraint("role IN ('clinician', 'admin')", name="ck_app_user_role"),
    )
    op.create_table(
        "patient",
        sa.Column("id", ID, nullable=False),
        sa.Column("clinic_id", ID, nullable=False),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("sex", sa.String(10), nullable=True),
        sa.Column("created_at", STAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_patient"),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name="fk_patient_clinic_id"),
        sa.UniqueConstraint("clinic_id", "reference", name="uq_patient_clinic_id_reference"),
        sa.CheckConstraint("birth_year BETWEEN 1900 AND 2100", name="ck_patient_birth_year"),
        sa.CheckConstraint("sex IN ('female', 'male', 'other', 'unknown')", name="ck_patient_sex"),
    )
    op.create_table(
        "episode",
        sa.Column("id", ID, nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("created_at", STAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_episode"),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name="fk_episode_patient_id"),
        sa.CheckConstraint("closed_on IS NULL OR closed_on >= started_on", name="ck_episode_dates"),
    )
    op.create_index("ix_episode_patient_id", "episode", ["patient_id"])
    op.create_table(
        "assessment",
        sa.Column("id", ID, nullable=False),
        sa.Column("episode_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("supersedes_id", ID, nullable=True),
        sa.Column("correction_reason", sa.Text(), nullable=True),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("contract_version", sa.String(60), nullable=False),
        sa.Column("source_json", sa.Text(), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_assessment"),
        sa.ForeignKeyConstraint(["episode_id"], ["episode.id"], name="fk_assessment_episode_id"),
        sa.ForeignKeyConstraint(
            ["supersedes_id"], ["assessment.id"], name="fk_assessment_supersedes_id"
        ),
        sa.UniqueConstraint("supersedes_id", name="uq_assessment_supersedes_id"),
        sa.CheckConstraint("version >= 1", name="ck_assessment_version"),
        sa.CheckConstraint(
            "(version = 1 AND supersedes_id IS NULL AND correction_reason IS NULL) OR "
            "(version > 1 AND supersedes_id IS NOT NULL AND correction_reason IS NOT NULL)",
            name="ck_assessment_correction",
        ),
    )
    op.create_index("ix_assessment_episode_id", "assessment", ["episode_id"])
    op.create_table(
        "report",
        sa.Column("id", ID, nullable=False),
        sa.Column("assessment_id", ID, nullable=False),
        sa.Column("knowledge_version", sa.String(40), nullable=False),
        sa.Column("report_json", sa.Text(), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_report"),
        sa.ForeignKeyConstraint(
            ["assessment_id"], ["assessment.id"], name="fk_report_assessment_id"
        ),
        sa.UniqueConstraint(
            "assessment_id",
            "knowledge_version",
            name="uq_report_assessment_id_knowledge_version",
        ),
    )
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", STAMP, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("record_type", sa.String(20), nullable=False),
        sa.Column("record_id", sa.String(40), nullable=True),
        sa.Column("patient_id", ID, nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_event"),
    )
    op.create_index("ix_audit_event_patient_id", "audit_event", ["patient_id"])
    _create_guards()


def _create_guards() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION backstory_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '%', TG_ARGV[0] "
            "USING ERRCODE = 'integrity_constraint_violation'; END $$"
        )
        for table, (ops, message) in REFUSALS.items():
            op.execute(
                f"CREATE TRIGGER {table}_refuse_change BEFORE {ops} ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION backstory_refuse('{message}')"
            )
        op.execute(
            "CREATE TRIGGER audit_event_refuse_truncate BEFORE TRUNCATE ON audit_event "
            "FOR EACH STATEMENT EXECUTE FUNCTION backstory_refuse('the audit log is append-only')"
        )
        return
    for table, (ops, message) in REFUSALS.items():
        for verb in ops.split(" OR "):
            op.execute(
                f"CREATE TRIGGER {table}_refuse_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )


def downgrade() -> None:
    for table in ("audit_event", "report", "assessment", "episode", "patient", "app_user"):
        op.drop_table(table)
    op.drop_table("clinic")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION backstory_refuse()")
