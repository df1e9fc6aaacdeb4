"""Episode outcomes and scheduled follow-up questionnaires.

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-06

Written out in full (not read from ``tables.py``) so that this revision never changes once
released. ``episode_outcome`` records how an episode ended (discharged, referred, did not
return, other) with its last scores against its first as they stood at closing;
``followup`` holds the follow-up questionnaires due some weeks after an episode's first
assessment, until a link is made for one or the episode closes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ID = sa.String(16)


def upgrade() -> None:
    op.create_table(
        "episode_outcome",
        sa.Column("episode_id", ID, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("summary_json", sa.Text(), nullable=False),
        sa.Column("closed_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("episode_id", name="pk_episode_outcome"),
        sa.ForeignKeyConstraint(
            ["episode_id"], ["episode.id"], name="fk_episode_outcome_episode_id"
        ),
        sa.CheckConstraint(
            "kind IN ('discharged', 'referred', 'did_not_return', 'other')",
            name="ck_episode_outcome_kind",
        ),
    )
    op.create_table(
        "followup",
        sa.Column("id", ID, nullable=False),
        sa.Column("patient_id", ID, nullable=False),
        sa.Column("episode_id", ID, nullable=False),
        sa.Column("weeks", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("link_id", ID, nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_followup"),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name="fk_followup_patient_id"),
        sa.ForeignKeyConstraint(["episode_id"], ["episode.id"], name="fk_followup_episode_id"),
        sa.ForeignKeyConstraint(["link_id"], ["patient_link.id"], name="fk_followup_link_id"),
        sa.UniqueConstraint("episode_id", "weeks", name="uq_followup_episode_id_weeks"),
    )
    op.create_index("ix_followup_patient_id", "followup", ["patient_id"])
    op.create_index("ix_followup_episode_id", "followup", ["episode_id"])
    op.create_index("ix_followup_due_on", "followup", ["due_on"])


def downgrade() -> None:
    op.drop_table("followup")
    op.drop_table("episode_outcome")
