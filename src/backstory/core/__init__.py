"""The pure reasoning core: assessment in, report out."""
