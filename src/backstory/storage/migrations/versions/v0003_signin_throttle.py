"""Failed sign-ins, shared by every process of the web app and kept across restarts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Written out in full (not read from ``tables.py``) so that this revision never changes once
released. Rows hold a keyed digest (HMAC-SHA256 with the app's secret) of the normalised
user name or of the client address, never either in clear, and are deleted once older than
the throttling window.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signin_failure",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_signin_failure"),
        sa.CheckConstraint("kind IN ('user', 'address')", name="ck_signin_failure_kind"),
    )
    op.create_index("ix_signin_failure_key", "signin_failure", ["kind", "digest", "at"])
    op.create_index("ix_signin_failure_at", "signin_failure", ["at"])


def downgrade() -> None:
    op.drop_table("signin_failure")
