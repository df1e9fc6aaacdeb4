"""The web app's records: credentials, sessions, one-time links, API tokens and releases.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

Written out in full (not read from ``tables.py``) so that this revision never changes once
released. Secrets are never stored: sessions, links and tokens keep only a SHA-256 digest,
and passwords only an argon2id hash.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.String(16)
STAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("user_id", ID, nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("operator", sa.Boolean(), nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_account"),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name="fk_account_user_id"),
    )
    op.create_table(
        "web_session",
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("last_seen", STAMP, nullable=False),
        sa.Column("revoked_at", STAMP, nullable=True),
        sa.PrimaryKeyConstraint("digest", name="pk_web_session"),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name="fk_web_session_user_id"),
    )
    op.create_index("ix_web_session_user_id", "web_session", ["user_id"])
    op.create_table(
        "account_link",
        sa.Column("id", ID, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(10), nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("expires_at", STAMP, nullable=False),
        sa.Column("used_at", STAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_account_link"),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name="fk_account_link_user_id"),
        sa.UniqueConstraint("digest", name="uq_account_link_digest"),
        sa.CheckConstraint(
            "purpose IN ('setup', 'invite', 'reset')", name="ck_account_link_purpose"
        ),
    )
    op.create_index("ix_account_link_user_id", "account_link", ["user_id"])
    op.create_table(
        "api_token",
        sa.Column("id", ID, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("clinic_id", ID, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("scope", sa.String(10), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("revoked_at", STAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_token"),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name="fk_api_token_clinic_id"),
        sa.UniqueConstraint("digest", name="uq_api_token_digest"),
        sa.CheckConstraint("scope IN ('read', 'write')", name="ck_api_token_scope"),
    )
    op.create_index("ix_api_token_clinic_id", "api_token", ["clinic_id"])
    op.create_table(
        "patient_link",
        sa.Column("id", ID, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("assessment_id", ID, nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("expires_at", STAMP, nullable=False),
        sa.Column("used_at", STAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_patient_link"),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name="fk_patient_link_patient_id"),
        sa.ForeignKeyConstraint(
            ["assessment_id"], ["assessment.id"], name="fk_patient_link_assessment_id"
        ),
        sa.UniqueConstraint("digest", name="uq_patient_link_digest"),
        sa.CheckConstraint(
            "purpose IN ('questionnaire', 'explanation')", name="ck_patient_link_purpose"
        ),
    )
    op.create_index("ix_patient_link_patient_id", "patient_link", ["patient_id"])
    op.create_index("ix_patient_link_assessment_id", "patient_link", ["assessment_id"])
    op.create_table(
        "release",
        sa.Column("assessment_id", ID, nullable=False),
        sa.Column("released", sa.Boolean(), nullable=False),
        sa.Column("changed_at", STAMP, nullable=False),
        sa.Column("changed_by", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("assessment_id", name="pk_release"),
        sa.ForeignKeyConstraint(
            ["assessment_id"], ["assessment.id"], name="fk_release_assessment_id"
        ),
    )


def downgrade() -> None:
    for table in (
        "release",
        "patient_link",
        "api_token",
        "account_link",
        "web_session",
        "account",
    ):
        op.drop_table(table)
