"""Command-line adapter: depends on the core, never the reverse."""
