"""Node lifecycle: init, db upgrade, serve, ledger verify."""

from __future__ import annotations

import signal
import sys
from urllib.parse import urlparse

import click

from ..config import Settings
from ..services import Services


def _services() -> Services:
    return Services(Settings.from_env())


@click.command("init")
@click.option("--no-demo", is_flag=True, help="Only migrate and create the dev PKI; no demo agencies.")
@click.option("--key-type", default="rsa2048", type=click.Choice(["rsa2048", "rsa3072", "ec256"]))
@click.option("--no-hub", is_flag=True, help="Do not register the agencies on the embedded axis hub.")
def init_cmd(no_demo: bool, key_type: str, no_hub: bool) -> None:
    """Migrate the database, create the dev PKI and the demo agencies, register them on the embedded hub
    (idempotent)."""
    from ..seed import init_node

    svc = _services()
    logins = init_node(svc, demo=not no_demo, key_type=key_type)
    if not no_hub and not no_demo:
        from ..exchange.engine import embedded_hub, register_on_hub

        codes = register_on_hub(svc, embedded_hub(svc))
        click.echo(f"registered on the embedded axis hub: {', '.join(codes)}")
    click.echo(f"database: {svc.settings.database_url}")
    click.echo(f"trust anchors: {svc.settings.certs_dir / 'anchors'}")
    if logins:
        click.echo("demo logins (password and key PIN are in instance/secrets.json):")
        for username, roles, agency in logins:
            click.echo(f"  {username:22} {roles:16} {agency}")


@click.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations."""
    from ..migrate import upgrade

    svc = _services()
    upgrade(svc.settings.database_url)
    click.echo("database at head revision")


@click.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=None, type=int, help="Defaults to the port of DOCEXCHANGE_PUBLIC_URL.")
@click.option("--no-hub", is_flag=True, help="Do not start the embedded axis hub.")
@click.option("--workers", default=1, type=int, show_default=True, help="Exchange worker processes (0: none).")
@click.option("--threads", default=8, type=int)
def serve_cmd(host: str, port: int | None, no_hub: bool, workers: int, threads: int) -> None:
    """Run the node (web + API + PKI endpoints), the exchange workers and, unless --no-hub, the embedded axis
    hub, the last two as child processes."""
    from waitress import serve

    from ..app import create_app
    from ..exchange.worker import Supervisor

    settings = Settings.from_env()
    port = port or urlparse(settings.public_url).port or 8080
    supervisor = Supervisor()
    exe = [sys.executable, "-m", "docexchange.cli"]
    if not no_hub:
        hub_port = urlparse(settings.hub_url).port or 8090
        supervisor.add("axis hub", exe + ["axis", "serve", "--host", host, "--port", str(hub_port)])
        click.echo(f"axis hub: {settings.hub_url}")
    for i in range(workers):
        supervisor.add(f"exchange worker {i + 1}", exe + ["worker"])
    supervisor.start_thread()  # a child that dies (killed, crashed) is restarted with bounded back-off

    def _stop(*_: object) -> None:
        supervisor.stop()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    app = create_app(settings)
    click.echo(f"docexchange node: http://{host}:{port}/  (API docs: /api/docs, health: /healthz)")
    try:
        serve(app, host=host, port=port, threads=threads, max_request_body_size=settings.max_upload_bytes + 65536,
              ident="docexchange")
    finally:
        supervisor.stop()


@click.group("ledger")
def ledger_group() -> None:
    """The tamper-evident audit ledger."""


@ledger_group.command("verify")
def ledger_verify() -> None:
    """Re-check the whole hash chain and its time-stamps. Exit 0 intact, 1 broken."""
    from ..ledger import verify_ledger
    from ..pki.responders import token_time_if_valid

    svc = _services()
    tsa_cert = svc.tsa.cert
    with svc.db.transaction() as s:
        result = verify_ledger(s, lambda tok, dg: token_time_if_valid(tok, dg, tsa_cert))
    if result.intact:
        click.echo(f"ledger intact: {result.entries} entries, {result.anchors} time-stamped anchors")
        return
    click.echo(f"ledger BROKEN at entry {result.first_bad_seq}: {result.problem}")
    sys.exit(1)


commands = [init_cmd, db_group, serve_cmd, ledger_group]
