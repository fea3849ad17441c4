"""``docexchange axis …``: run the mock national axis hub and administer its directory and credentials."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click

from docexchange.errors import DomainError

F = TypeVar("F", bound=Callable[..., Any])


def _domain_errors(fn: F) -> F:
    """Bad input → message in English and Vietnamese on stderr, exit 4."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DomainError as exc:
            click.echo(f"error: {exc.en}\nlỗi: {exc.vi}", err=True)
            sys.exit(4)

    return wrapper  # type: ignore[return-value]


def _service() -> Any:
    from docexchange.axis.hub.db import migrate
    from docexchange.axis.hub.service import HubService
    from docexchange.axis.hub.settings import HubSettings
    from docexchange.blobstore import BlobStore
    from docexchange.db import Database

    hs = HubSettings.from_env()
    db = Database(hs.database_url)
    migrate(db)
    return HubService(db, BlobStore(hs.blob_dir, max_bytes=hs.max_package_bytes), hs)


@click.group("axis")
def axis() -> None:
    """The mock national document-exchange axis (VDXP-style hub)."""


@axis.command("serve")
@click.option(
    "--host", default=None, help="Listen address (default: host of DOCEXCHANGE_HUB_URL, else 127.0.0.1)."
)
@click.option(
    "--port", type=int, default=None, help="Port (default: port of DOCEXCHANGE_HUB_URL, else 8090)."
)
@click.option("--threads", type=int, default=8, show_default=True)
def serve_cmd(host: str | None, port: int | None, threads: int) -> None:
    """Run the axis hub alone (migrates its database first)."""
    from docexchange.axis.hub.server import serve
    from docexchange.axis.hub.settings import HubSettings
    from docexchange.config import Settings

    url = urlsplit(Settings.from_env().hub_url)
    serve(HubSettings.from_env(), host or url.hostname or "127.0.0.1", port or url.port or 8090, threads)


@axis.command("migrate")
def migrate_cmd() -> None:
    """Bring the hub database schema to head."""
    _service()
    click.echo("hub database at head")


@axis.command("register-agency")
@click.argument("code")
@click.argument("name")
@click.option("--parent", default=None, help="Parent agency code.")
@click.option(
    "--seal-cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="PEM file of the agency's seal certificate.",
)
@_domain_errors
def register_agency(code: str, name: str, parent: str | None, seal_cert: Path | None) -> None:
    """Register (or update) an agency in the hub directory."""
    pem = seal_cert.read_text() if seal_cert else None
    click.echo(json.dumps(_service().register_agency(code, name, parent, pem), ensure_ascii=False))


@axis.command("delete-agency")
@click.argument("code")
@_domain_errors
def delete_agency(code: str) -> None:
    """Deactivate an agency (its mail and history are kept)."""
    _service().delete_agency(code)
    click.echo(f"{code} deactivated")


@axis.command("list-agencies")
def list_agencies() -> None:
    """Print the active agencies as JSON lines."""
    for agency in _service().list_agencies():
        agency.pop("sealCertificatePem", None)
        click.echo(json.dumps(agency, ensure_ascii=False))


@axis.command("issue-credentials")
@click.argument("agency_code")
@click.option("--system-id", default=None, help="Chosen systemId (default: generated).")
@click.option("--expires", default=None, help="Expiry, ISO 8601 (default: none).")
@click.option(
    "--scheme",
    type=click.Choice(["dxhub1", "vdxp"]),
    default="dxhub1",
    show_default=True,
    help="Wire scheme the credential works with: dxhub1 (docexchange nodes) or vdxp (the VNPT VDXP SDK).",
)
@_domain_errors
def issue_credentials(agency_code: str, system_id: str | None, expires: str | None, scheme: str) -> None:
    """Issue system credentials (systemId + secret) for an agency; the secret is printed once."""
    from docexchange.axis.hub.service import parse_time

    expires_at: datetime | None = parse_time(expires, "expires")
    sid, secret = _service().issue_credentials(agency_code, system_id, expires_at, scheme)
    click.echo(json.dumps({"systemId": sid, "secret": secret, "scheme": scheme}))


@axis.command("disable-credentials")
@click.argument("system_id")
@_domain_errors
def disable_credentials(system_id: str) -> None:
    """Disable a systemId at once."""
    _service().set_credentials(system_id, disabled=True)
    click.echo(f"{system_id} disabled")


@axis.command("alerts")
@click.option("--after", type=int, default=0, help="Only alerts with a larger id.")
def alerts(after: int) -> None:
    """Print operator alerts (e.g. DocumentId reused with other content) as JSON lines."""
    for alert in _service().list_alerts(after):
        click.echo(json.dumps(alert, ensure_ascii=False))


@axis.command("purge")
def purge() -> None:
    """Drop package bytes acknowledged by every recipient longer ago than the retention period."""
    click.echo(f"purged {_service().purge()} package(s)")


commands = [axis]
