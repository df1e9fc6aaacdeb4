"""Renderers turn reports into text for people; the core never formats output."""
