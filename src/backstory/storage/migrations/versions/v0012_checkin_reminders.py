"""Weekly check-in reminders: one row per programme and due day a reminder was claimed for.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

Written out in full (not read from ``tables.py``) so that this revision never changes once
released. ``checkin_reminder`` lets ``backstory reminders send`` e-mail a patient following a
released programme at most one reminder per due week (its primary key is the programme and
the day the check-in fell due), whatever runs at the same time or fails half-way; it keeps
the fresh programme link the reminder carried, and the patient's id so that erasing the
patient erases it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ID = sa.String(16)
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "checkin_reminder",
        sa.Column("programme_id", ID, nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("link_id", ID, nullable=True),
        sa.Column("claimed_at", WHEN, nullable=False),
        sa.Column("sent_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("programme_id", "due_on", name="pk_checkin_reminder"),
        sa.ForeignKeyConstraint(
            ["programme_id"], ["programme.id"], name="fk_checkin_reminder_programme_id"
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name="fk_checkin_reminder_patient_id"
        ),
        sa.ForeignKeyConstraint(
            ["link_id"], ["programme_link.id"], name="fk_checkin_reminder_link_id"
        ),
    )
    op.create_index("ix_checkin_reminder_patient_id", "checkin_reminder", ["patient_id"])


def downgrade() -> None:
    op.drop_table("checkin_reminder")
