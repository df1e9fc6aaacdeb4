"""Alembic environment: migrations always run on a connection handed in by Backstory.

``backstory.storage.database`` opens the connection, begins the transaction (locked, so
two processes never migrate at once) and passes it in ``config.attributes["connection"]``;
there is no alembic.ini and no offline (SQL script) mode.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("Backstory migrations run through `backstory db upgrade`, not alembic")
context.configure(connection=connection, target_metadata=None, transaction_per_migration=False)
with context.begin_transaction():
    context.run_migrations()
