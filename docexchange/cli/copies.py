"""``docexchange copies …``: certify (one request or a CSV batch), refuse, annul, print the book.

The CLI runs on the node as its operator, acting for a named certifier (``--as USERNAME``), like the other node
commands. Exit status: 0 ok, 1 some batch rows failed, 3 signing engine unavailable, 4 bad input."""

from __future__ import annotations

import csv
import json
import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from ..config import Settings
from ..errors import DomainError


def _ctx(username: str) -> tuple[Any, Any, Any]:
    from sqlalchemy import select

    from ..auth import principal_for_user
    from ..copies.engine import deps_for
    from ..models import User
    from ..services import Services

    svc = Services(Settings.from_env())
    with svc.db.transaction() as s:
        user = s.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if user is None or not user.active or "certifier" not in user.role_set:
            raise click.UsageError(f"{username!r} is not an active certifier of this node")
        p = principal_for_user(s, user, "certifier")
    return svc, deps_for(svc), p


def _pin(var: str | None) -> str:
    return os.environ.get(var, "") if var else ""


def _fail(exc: DomainError) -> None:
    click.echo(f"error [{exc.code}]: {exc.en}\nlỗi: {exc.vi}", err=True)
    sys.exit(3 if exc.status == 503 else 4)


@click.group("copies")
def copies_group() -> None:
    """Certified copies from originals (book SCT/BS)."""


def _certify_one(svc: Any, deps: Any, p: Any, row: dict[str, str], pin: str, seal_pin: str,
                 out_dir: Path | None) -> dict[str, Any]:
    from ..api.copies import out
    from ..copies import service

    req = service.CopyRequest(
        requester_name=row.get("requester_name", ""), requester_id_number=row.get("requester_id", ""),
        original_type=row.get("original_type", ""), original_issuer=row.get("issuer", ""),
        original_number=row.get("number", ""), original_issue_date=row.get("issue_date", ""),
        page_count=int(row.get("pages") or 0), copies=int(row.get("copies") or 1),
        idempotency_key=row.get("key") or None)
    scans = [Path(x) for x in row.get("scan", "").split(";") if x]
    with ExitStack() as stack:
        uploads = [service.Upload(path.name, stack.enter_context(open(path, "rb"))) for path in scans]
        rec = service.certify(svc.db, deps, p, req, uploads, pin=pin, seal_pin=seal_pin)
    result = out(rec, deps.public_url)
    if out_dir is not None and rec.pdf_sha256:
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / f"ban-sao-{rec.year}-{rec.number:04d}-{rec.code}.pdf"
        target.write_bytes(svc.blobs.get_bytes(rec.pdf_sha256))
        result["file"] = str(target)
    return result


@copies_group.command("certify")
@click.option("--as", "username", required=True, help="User name of the certifier acting.")
@click.option("--requester-name")
@click.option("--requester-id", help="CCCD / passport number of the requester.")
@click.option("--original-type", help="e.g. 'Giấy khai sinh'.")
@click.option("--issuer", help="Who issued the original.")
@click.option("--number", default="", help="Number/notation of the original.")
@click.option("--issue-date", default="", help="YYYY-MM-DD.")
@click.option("--pages", type=int, help="Pages of the original (fee basis).")
@click.option("--copies", "n_copies", type=int, default=1)
@click.option("--scan", "scans", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Scan file (JPEG/PNG/TIFF/PDF); repeat for more files.")
@click.option("--key", default=None, help="Idempotency key: re-running with the same key returns the same copy.")
@click.option("--batch", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV with columns requester_name,requester_id,original_type,issuer,number,issue_date,pages,"
                   "copies,scan (';'-separated paths),key. One certification per row.")
@click.option("--pin-env", default=None, help="Environment variable holding the certifier's key PIN.")
@click.option("--seal-pin-env", default=None, help="Environment variable holding the agency seal key PIN.")
@click.option("-o", "--out-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write each certified PDF here.")
def certify_cmd(username: str, requester_name: str | None, requester_id: str | None, original_type: str | None,
                issuer: str | None, number: str, issue_date: str, pages: int | None, n_copies: int,
                scans: tuple[Path, ...], key: str | None, batch: Path | None, pin_env: str | None,
                seal_pin_env: str | None, out_dir: Path | None) -> None:
    """Certify one request, or every row of a CSV batch (one JSON line per row on stdout)."""
    svc, deps, p = _ctx(username)
    pin, seal_pin = _pin(pin_env), _pin(seal_pin_env)
    if batch is None:
        row = {"requester_name": requester_name or "", "requester_id": requester_id or "",
               "original_type": original_type or "", "issuer": issuer or "", "number": number,
               "issue_date": issue_date, "pages": str(pages or 0), "copies": str(n_copies),
               "scan": ";".join(str(s) for s in scans), "key": key or ""}
        try:
            click.echo(json.dumps(_certify_one(svc, deps, p, row, pin, seal_pin, out_dir), ensure_ascii=False))
        except DomainError as exc:
            _fail(exc)
        return
    failures = 0
    base = batch.parent
    with open(batch, newline="", encoding="utf-8-sig") as fh:
        for line_no, row in enumerate(csv.DictReader(fh), start=2):
            row["scan"] = ";".join(str(base / s) if not Path(s).is_absolute() else s
                                   for s in (row.get("scan") or "").split(";") if s)
            try:
                result = _certify_one(svc, deps, p, row, pin, seal_pin, out_dir)
                click.echo(json.dumps({"line": line_no, "ok": True, **result}, ensure_ascii=False))
            except (DomainError, ValueError) as exc:
                failures += 1
                err = {"code": exc.code, "en": exc.en, "vi": exc.vi} if isinstance(exc, DomainError) else \
                    {"code": "bad_input", "en": str(exc), "vi": "dữ liệu không hợp lệ"}
                click.echo(json.dumps({"line": line_no, "ok": False, "error": err}, ensure_ascii=False))
    if failures:
        sys.exit(1)


@copies_group.command("refuse")
@click.option("--as", "username", required=True)
@click.option("--requester-name", required=True)
@click.option("--requester-id", required=True)
@click.option("--original-type", required=True)
@click.option("--issuer", required=True)
@click.option("--pages", type=int, required=True)
@click.option("--ground", type=int, default=None, help="Decree 23/2015 Art. 22 ground 1..6.")
@click.option("--reason", default="")
@click.option("-o", "--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the refusal note PDF here.")
def refuse_cmd(username: str, requester_name: str, requester_id: str, original_type: str, issuer: str, pages: int,
               ground: int | None, reason: str, out_file: Path | None) -> None:
    """Record a refusal on one of the six grounds and print the refusal note."""
    from ..api.copies import out
    from ..copies import service

    svc, deps, p = _ctx(username)
    try:
        rec = service.refuse(svc.db, deps, p, service.CopyRequest(
            requester_name=requester_name, requester_id_number=requester_id, original_type=original_type,
            original_issuer=issuer, page_count=pages), ground=ground, reason=reason)
    except DomainError as exc:
        _fail(exc)
        return
    if out_file is not None and rec.refusal_note_sha256:
        out_file.write_bytes(svc.blobs.get_bytes(rec.refusal_note_sha256))
    click.echo(json.dumps(out(rec, deps.public_url), ensure_ascii=False))


@copies_group.command("annul")
@click.option("--as", "username", required=True)
@click.argument("code")
@click.option("--reason", required=True)
def annul_cmd(username: str, code: str, reason: str) -> None:
    """Annul a wrongly certified copy (the public page shows it at once)."""
    from ..copies import service

    svc, deps, p = _ctx(username)
    try:
        rec = service.annul(svc.db, deps, p, code, reason)
    except DomainError as exc:
        _fail(exc)
        return
    click.echo(json.dumps({"code": rec.code, "status": rec.status, "annulled_at": rec.annulled_at.isoformat()
                           if rec.annulled_at else None}))


@copies_group.command("book")
@click.option("--as", "username", required=True)
@click.option("--year", type=int, required=True)
@click.option("--month", type=click.IntRange(1, 12), required=True)
@click.option("-o", "--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), required=True)
def book_cmd(username: str, year: int, month: int, out_file: Path) -> None:
    """Print the SCT/BS book of one month as PDF (all columns), for binding."""
    from ..copies import service
    from ..models import Agency

    svc, _deps, p = _ctx(username)
    with svc.db.transaction() as s:
        rows = service.book_rows(s, p.agency_id, year, month)
        agency = s.get(Agency, p.agency_id)
        assert agency is not None
        out_file.write_bytes(service.book_pdf(agency, year, month, rows))
    click.echo(f"{len(rows)} entries -> {out_file}")


commands = [copies_group]
