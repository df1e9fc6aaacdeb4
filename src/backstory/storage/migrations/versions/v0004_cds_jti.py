"""CDS client JWT ids already used, shared by every process of the web app.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

Written out in full (not read from ``tables.py``) so that this revision never changes once
released. Each row is a SHA-256 digest of one accepted JWT's ``jti`` and the configured
client's name, kept until the token has expired; the primary key (client, digest) is what
makes exactly one of two racing calls with one ``jti`` succeed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cds_jti",
        sa.Column("client", sa.String(40), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client", "digest", name="pk_cds_jti"),
    )
    op.create_index("ix_cds_jti_expires_at", "cds_jti", ["expires_at"])


def downgrade() -> None:
    op.drop_table("cds_jti")
