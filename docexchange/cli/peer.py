"""``docexchange peer``: what a hosted agency accepts from one sending agency (issue 13 §2).

By default a package must carry an XML-DSig signature by the sender's published seal certificate. For a legacy
system that cannot sign: ``docexchange peer set 000.00.00.H41 000.00.00.G09 --accept-unsigned``; its documents
are then marked "gói tin không ký" and never registered automatically."""

from __future__ import annotations

import getpass

import click
from sqlalchemy import select

from ..config import Settings
from ..exchange.models import PeerSetting
from ..exchange.trust import set_peer
from ..models import Agency
from ..services import Services


@click.group("peer")
def peer() -> None:
    """Per-peer exchange settings (unsigned packages from legacy systems)."""


@peer.command("set")
@click.argument("agency")
@click.argument("peer_code")
@click.option("--accept-unsigned/--require-signed", default=False, show_default=True)
@click.option("--note", default="", help="why (kept in the ledger)")
def peer_set(agency: str, peer_code: str, accept_unsigned: bool, note: str) -> None:
    """AGENCY (hosted here) accepts or refuses unsigned packages from PEER_CODE."""
    svc = Services(Settings.from_env())
    with svc.db.transaction() as s:
        set_peer(s, svc.ledger, agency, peer_code, accept_unsigned, f"cli:{getpass.getuser()}", note)
    click.echo(f"{agency} <- {peer_code}: {'accept unsigned' if accept_unsigned else 'signed packages only'}")


@peer.command("list")
def peer_list() -> None:
    svc = Services(Settings.from_env())
    with svc.db.reading() as s:
        for row, code in s.execute(select(PeerSetting, Agency.code).join(Agency, Agency.id == PeerSetting.agency_id)
                                   .order_by(Agency.code, PeerSetting.peer_code)):
            click.echo(f"{code} <- {row.peer_code}: accept_unsigned={row.accept_unsigned} {row.note}".rstrip())


commands = [peer]
