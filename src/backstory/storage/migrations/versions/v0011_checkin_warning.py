"""Warning signs reported in an unfinished check-in.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

Written out in full (not read from ``tables.py``) so that this revision never changes once
released. ``checkin_warning`` keeps the cauda equina answers of a weekly check-in the patient
sent with other answers missing or invalid, when any of them is yes or "not sure": the form is
refused, but the clinician must still be told (HZ-100). A separate table, not nullable scores
on ``programme_checkin``, so that nothing counting weeks, adherence or charts can mistake it
for a completed check-in.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ID = sa.String(16)
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "checkin_warning",
        sa.Column("id", ID, nullable=False),
        sa.Column("programme_id", ID, nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("link_id", ID, nullable=True),
        sa.Column("warnings_json", sa.Text(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("reviewed_by", sa.String(100), nullable=True),
        sa.Column("reviewed_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_checkin_warning"),
        sa.ForeignKeyConstraint(
            ["programme_id"], ["programme.id"], name="fk_checkin_warning_programme_id"
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name="fk_checkin_warning_patient_id"
        ),
        sa.ForeignKeyConstraint(
            ["link_id"], ["programme_link.id"], name="fk_checkin_warning_link_id"
        ),
    )
    op.create_index("ix_checkin_warning_programme_id", "checkin_warning", ["programme_id"])
    op.create_index("ix_checkin_warning_patient_id", "checkin_warning", ["patient_id"])


def downgrade() -> None:
    op.drop_table("checkin_warning")
