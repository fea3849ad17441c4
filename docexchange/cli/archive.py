"""``docexchange archive inventory|refresh``: long-term validity of the stored signed PDFs."""

from __future__ import annotations

import json
import sys

import click

from ..config import Settings
from ..errors import DomainError
from ..services import Services


@click.group("archive")
def archive_group() -> None:
    """Long-term validity: "verifiable until" dates and archive re-time-stamping (PAdES B-LTA)."""


@archive_group.command("inventory")
@click.option("--json", "as_json", is_flag=True, help="One JSON array on stdout.")
@click.option("--agency", default=None, help="Only this agency (code).")
def inventory_cmd(as_json: bool, agency: str | None) -> None:
    """List every issued document, received document and certified/agency copy with its signature level,
    "verifiable until" date and days left, soonest first. Exit 0; 1 when a stored file is missing or unreadable."""
    from ..archive.service import inventory

    svc = Services(Settings.from_env())
    items = inventory(svc)
    if agency:
        items = [i for i in items if i.agency_code == agency]
    if as_json:
        click.echo(json.dumps([i.to_dict() for i in items], ensure_ascii=False, indent=1))
    else:
        click.echo(f"{'kind':<15} {'id':>6} {'agency':<14} {'level':<6} {'verifiable until':<20} {'days':>6}  sha256")
        for i in items:
            until = i.verifiable_until.strftime("%Y-%m-%d %H:%M") if i.verifiable_until else "-"
            days = "-" if i.days_left is None else str(i.days_left)
            click.echo(f"{i.kind:<15} {i.id:>6} {i.agency_code:<14} {i.level:<6} {until:<20} {days:>6}  "
                       f"{i.sha256[:16]}{'  ERROR ' + i.error if i.error else ''}")
    sys.exit(1 if any(i.error for i in items) else 0)


@archive_group.command("refresh")
@click.option("--before-days", default=90, show_default=True, type=int,
              help="Re-time-stamp files whose verifiable-until date is within this many days.")
@click.option("--dry-run", is_flag=True, help="Only list what would be refreshed.")
@click.option("--json", "as_json", is_flag=True, help="One JSON array on stdout.")
def refresh_cmd(before_days: int, dry_run: bool, as_json: bool) -> None:
    """Add validation data and a new document time-stamp by the node's TSA to every stored PDF near its
    verifiable-until date; the record points at the new version (the old one is kept). Run it daily (cron or a
    systemd timer). Exit 0 ok, 1 some files failed (listed), 4 bad input."""
    from ..archive.service import refresh

    svc = Services(Settings.from_env())
    try:
        done = refresh(svc, before_days=before_days, dry_run=dry_run)
    except DomainError as exc:
        click.echo(f"{exc.en} / {exc.vi}", err=True)
        sys.exit(4)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in done], ensure_ascii=False, indent=1))
    else:
        for r in done:
            if r.error:
                status = f"FAILED {r.error}"
            elif dry_run:
                status = "would refresh"
            else:
                status = f"-> {r.sha256[:16]} until {r.verifiable_until:%Y-%m-%d}"
            click.echo(f"{r.kind} {r.id} {r.previous_sha256[:16]} (until {r.previous_verifiable_until:%Y-%m-%d}) "
                       f"{status}")
        click.echo(f"{len(done)} file(s) {'to refresh' if dry_run else 'refreshed'} "
                   f"(before-days {before_days})")
    sys.exit(1 if any(r.error for r in done) else 0)


commands = [archive_group]
