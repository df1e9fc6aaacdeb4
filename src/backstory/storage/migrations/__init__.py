"""Alembic migrations for the stored records, shipped inside the package and run from code."""

HEAD = "0012"
"""The newest revision in ``versions/`` (a test checks it), known without importing Alembic."""
