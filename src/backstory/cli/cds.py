"""`backstory cds discovery|replay`: try the CDS Hooks service without an EHR."""

from __future__ import annotations

import json
import urllib.error

import click

from backstory.cds import discovery
from backstory.cds.replay import Signer, calls, post
from backstory.cli.common import fail


@click.group("cds")
def cds_group() -> None:
    """CDS Hooks: the discovery document and a replay tool for integrators."""


@cds_group.command("discovery")
def discovery_command() -> None:
    """Print the CDS Hooks discovery document."""
    click.echo(json.dumps(discovery(), indent=2))


@cds_group.command("replay")
@click.argument("url")
@click.option("--token", envvar="BACKSTORY_API_TOKEN", help="API token (or BACKSTORY_API_TOKEN).")
@click.option(
    "--hook",
    type=click.Choice(["patient-view", "order-select", "all"]),
    default="all",
    show_default=True,
)
@click.option("--json", "as_json", is_flag=True, help="Print the raw responses as JSON lines.")
@click.option(
    "--key",
    "key_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Sign a JWT for every call with this private key (PEM; EC P-384 or RSA), as an EHR does.",
)
@click.option("--iss", help="With --key: the issuer the service trusts (the EHR's iss).")
@click.option("--kid", help="With --key: the key id in the service's trusted-clients file.")
@click.option("--sub", help="With --key: the client id, when the service restricts it.")
def replay_command(
    url: str,
    token: str | None,
    hook: str,
    as_json: bool,
    key_file: str | None,
    iss: str | None,
    kid: str | None,
    sub: str | None,
) -> None:
    """Send synthetic patients' hook calls to a running service at URL and print the cards.

    Authenticate with an API token (--token), or as an EHR with a JWT signed for every call
    (--key, --iss and --kid; the audience is each endpoint's URL).
    """
    hooks = ("patient-view", "order-select") if hook == "all" else (hook,)
    signer: Signer | None = None
    if key_file is not None:
        if not iss or not kid:
            fail("--key needs --iss and --kid (as in the service's trusted-clients file)")
        with open(key_file, "rb") as fh:
            signer = Signer(fh.read(), iss, kid, sub)
        try:
            signer.token(url)
        except (ValueError, TypeError) as exc:
            fail(f"{key_file}: not a usable private key ({exc})")
    failures = 0
    for call in calls(hooks):
        try:
            status, body = post(url, call, token, signer=signer)
        except (urllib.error.URLError, OSError) as exc:
            fail(f"could not reach {url}: {getattr(exc, 'reason', exc)}")
        if as_json:
            click.echo(
                json.dumps(
                    {"case": call.case, "service": call.service, "status": status, "body": body}
                )
            )
            continue
        click.echo(f"{call.case} - {call.service}: HTTP {status}")
        if status != 200 or not isinstance(body, dict):
            failures += 1
            click.echo(f"  {body}")
            continue
        if not body.get("cards"):
            click.echo("  (no cards)")
        for card in body.get("cards", []):
            click.echo(f"  [{card.get('indicator')}] {card.get('summary')}")
            for s in card.get("suggestions", []):
                click.echo(f"      suggestion: {s.get('label')}")
    if failures:
        fail(f"{failures} call(s) did not succeed", code=1)
