"""The self-management programme between visits: programmes, their links, weekly check-ins.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

Written out in full (not read from ``tables.py``) so that this revision never changes once
released. Three new tables, nothing changed in the old ones:

- ``programme``: a patient's programme as a clinician chose it from one assessment, one row
  per version, with who released it and when, and any override reason;
- ``programme_link``: the patient's link to it (a digest only), until it expires or is revoked;
- ``programme_checkin``: each weekly check-in, and who reviewed it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ID = sa.String(16)
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "programme",
        sa.Column("id", ID, nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("assessment_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("supersedes_id", ID, nullable=True),
        sa.Column("choices_json", sa.Text(), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("released_by", sa.String(100), nullable=True),
        sa.Column("released_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_programme"),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name="fk_programme_patient_id"),
        sa.ForeignKeyConstraint(
            ["assessment_id"], ["assessment.id"], name="fk_programme_assessment_id"
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"], ["programme.id"], name="fk_programme_supersedes_id"
        ),
    )
    op.create_index("ix_programme_patient_id", "programme", ["patient_id"])
    op.create_table(
        "programme_link",
        sa.Column("id", ID, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("revoked_by", sa.String(100), nullable=True),
        sa.Column("revoked_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_programme_link"),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name="fk_programme_link_patient_id"
        ),
        sa.UniqueConstraint("digest", name="uq_programme_link_digest"),
    )
    op.create_index("ix_programme_link_patient_id", "programme_link", ["patient_id"])
    op.create_table(
        "programme_checkin",
        sa.Column("id", ID, nullable=False),
        sa.Column("programme_id", ID, nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("link_id", ID, nullable=True),
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column("pain", sa.Integer(), nullable=False),
        sa.Column("confidence", sa.Integer(), nullable=False),
        sa.Column("fear", sa.Integer(), nullable=False),
        sa.Column("activity_days", sa.Integer(), nullable=False),
        sa.Column("exercise_days", sa.Integer(), nullable=False),
        sa.Column("flare_ups", sa.Integer(), nullable=False),
        sa.Column("warnings_json", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("reviewed_by", sa.String(100), nullable=True),
        sa.Column("reviewed_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_programme_checkin"),
        sa.ForeignKeyConstraint(
            ["programme_id"], ["programme.id"], name="fk_programme_checkin_programme_id"
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name="fk_programme_checkin_patient_id"
        ),
        sa.ForeignKeyConstraint(
            ["link_id"], ["programme_link.id"], name="fk_programme_checkin_link_id"
        ),
    )
    op.create_index("ix_programme_checkin_programme_id", "programme_checkin", ["programme_id"])
    op.create_index("ix_programme_checkin_patient_id", "programme_checkin", ["patient_id"])


def downgrade() -> None:
    op.drop_table("programme_checkin")
    op.drop_table("programme_link")
    op.drop_table("programme")
