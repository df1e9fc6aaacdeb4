"""The worklist: assessment reviews, a patient's "not sure" answers, clinic settings.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-06

Written out in full (not read from ``tables.py``) so that this revision never changes once
released. Three new tables, nothing changed in the old ones:

- ``assessment_review``: who reviewed an assessment and when (one row per assessment);
- ``assessment_unsure``: the questions a patient answered "not sure" (a JSON list of contract
  field names; in the assessment itself they stay unanswered);
- ``clinic_setting``: a clinic's country (emergency number, urgent advice service) and its
  same-day contact, as its admin set them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assessment_review",
        sa.Column("assessment_id", sa.String(16), nullable=False),
        sa.Column("reviewed_by", sa.String(100), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"], ["assessment.id"], name="fk_assessment_review_assessment_id"
        ),
        sa.PrimaryKeyConstraint("assessment_id", name="pk_assessment_review"),
    )
    op.create_table(
        "assessment_unsure",
        sa.Column("assessment_id", sa.String(16), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"], ["assessment.id"], name="fk_assessment_unsure_assessment_id"
        ),
        sa.PrimaryKeyConstraint("assessment_id", name="pk_assessment_unsure"),
    )
    op.create_table(
        "clinic_setting",
        sa.Column("clinic_id", sa.String(16), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("contact", sa.String(200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinic.id"], name="fk_clinic_setting_clinic_id"),
        sa.PrimaryKeyConstraint("clinic_id", name="pk_clinic_setting"),
    )


def downgrade() -> None:
    op.drop_table("clinic_setting")
    op.drop_table("assessment_unsure")
    op.drop_table("assessment_review")
