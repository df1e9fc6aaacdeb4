"""Server-rendered pages (Jinja2): plain, accessible HTML that works without JavaScript."""
