"""Questionnaire drafts: a patient's answers saved page by page.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

Written out in full (not read from ``tables.py``) so that this revision never changes once
released. One new table, nothing changed in the old ones: ``questionnaire_draft`` holds the
answers given so far through one questionnaire link (one row per link) and the part the
patient reached; it is deleted when the link is used, expires, or the patient is erased.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "questionnaire_draft",
        sa.Column("link_id", sa.String(16), nullable=False),
        sa.Column("part", sa.String(40), nullable=False),
        sa.Column("answers_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"], ["patient_link.id"], name="fk_questionnaire_draft_link_id"
        ),
        sa.PrimaryKeyConstraint("link_id", name="pk_questionnaire_draft"),
    )


def downgrade() -> None:
    op.drop_table("questionnaire_draft")
