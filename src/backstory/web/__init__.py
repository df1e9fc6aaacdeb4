"""The web adapter: clinician and patient pages, the JSON API, on top of core and storage."""
