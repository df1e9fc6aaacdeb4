"""E-mail reminders: a patient's sealed address, and the reminders sent for follow-ups.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

Written out in full (not read from ``tables.py``) so that this revision never changes once
released. ``patient_contact`` keeps the address a patient agreed to receive follow-up
reminders at, sealed with AES-GCM under a key the database never holds (``backstory.delivery``);
``reminder`` holds one row per follow-up a reminder was claimed for, so that a reminder is
sent at most once, whatever runs at the same time or fails half-way.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ID = sa.String(16)


def upgrade() -> None:
    op.create_table(
        "patient_contact",
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("email_sealed", sa.String(600), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("patient_id", name="pk_patient_contact"),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name="fk_patient_contact_patient_id"
        ),
    )
    op.create_table(
        "reminder",
        sa.Column("followup_id", ID, nullable=False),
        sa.Column("link_id", ID, nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("followup_id", name="pk_reminder"),
        sa.ForeignKeyConstraint(["followup_id"], ["followup.id"], name="fk_reminder_followup_id"),
        sa.ForeignKeyConstraint(["link_id"], ["patient_link.id"], name="fk_reminder_link_id"),
    )


def downgrade() -> None:
    op.drop_table("reminder")
    op.drop_table("patient_contact")
