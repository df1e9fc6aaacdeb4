"""`backstory serve [--host 127.0.0.1] [--port 8000] [--database URL] [--demo]`: the web app.

One process (uvicorn, started from code). The first start creates the database and its
schema and prints a one-time set-up link for the first admin; ``--demo`` adds synthetic
patients. Settings come from ``BACKSTORY_*`` variables (see docs/deployment.md); outside
development a missing or weak ``BACKSTORY_SECRET_KEY`` stops the server before it starts.
"""

from __future__ import annotations

import click

from backstory.cli.common import fail
from backstory.cli.stored import plain_errors
from backstory.storage import Database, resolve_url


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port."
)
@click.option(
    "--database",
    metavar="URL",
    help="Database URL (default: $BACKSTORY_DATABASE_URL, else SQLite in your data folder).",
)
@click.option("--demo", is_flag=True, help="Add a few synthetic demo patients (once).")
def serve_command(host: str, port: int, database: str | None, demo: bool) -> None:
    """Run the web app: clinician pages, patient links and the JSON API (/api/v1)."""
    import uvicorn

    from backstory.web.app import create_app
    from backstory.web.settings import SettingsError, settings_from_env
    from backstory.web.startup import LOGGING, configure_logging, prepare

    try:
        settings = settings_from_env()
    except SettingsError as exc:
        fail(str(exc))
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    shown = f"[{shown}]" if ":" in shown else shown
    base = f"http://{shown}:{port}"
    with plain_errors():
        db = Database(resolve_url(database or settings.database_url))
        ready = prepare(db, settings, base, demo=demo)
    click.echo(f"Backstory web app on {settings.public_url or base}/ (database {db.display_url()})")
    if ready.demo_added:
        click.echo(f"Added {ready.demo_added} synthetic demo patients to {ready.demo_clinic}.")
    if ready.demo_after_setup:
        click.echo("The synthetic demo patients will be added to the clinic that set-up creates.")
    if ready.setup_url:
        click.echo("")
        click.echo("First start: open this one-time link to create the first admin account")
        click.echo(f"(it works once and expires in {settings.link_hours} hours):")
        click.echo("")
        click.echo(f"    {ready.setup_url}")
        click.echo("")
    if not settings.production:
        click.echo("Development mode (BACKSTORY_ENV unset): not for real patient data.")
    try:
        app = create_app(settings, db)
    except SettingsError as exc:
        db.close()
        fail(str(exc))
    trusted = app.state.web.cds_clients
    if trusted:
        names = ", ".join(sorted(c.name for c in trusted.clients.values()))
        click.echo(f"CDS Hooks: trusting signed JWTs from {len(trusted)} EHR(s): {names}.")
    if settings.cds_fhir_servers:
        click.echo(
            "CDS Hooks: a missing prefetch may be fetched from "
            + ", ".join(settings.cds_fhir_servers)
            + " (BACKSTORY_CDS_FHIR_SERVERS)."
        )
    if ready.demo_after_setup:
        app.state.web.extra["demo_after_setup"] = True
    configure_logging()
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_config=LOGGING,
            access_log=False,
            proxy_headers=False,
            server_header=False,
            date_header=False,
        )
    finally:
        db.close()
