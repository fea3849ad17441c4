"""``docexchange verify FILE.pdf``: the validation engine on one file (exit codes per interfaces.md)."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from ..signing.validation import ValidationPolicy, VerificationReport, bounded, validate_pdf
from ..signing.validation.report import EXIT_UNREADABLE


def _text(report: VerificationReport) -> str:
    f = report.file
    lines = [f"{f.name}  ({f.size} bytes, {f.pages} pages, {f.revisions} revisions, sha256 {f.sha256[:16]}…)",
             f"Kết quả / Result: {report.indication}" + (f" / {report.subindication}" if report.subindication else ""),
             f"Thời điểm kiểm tra / Validation time: {report.validation_time}"]
    for m in report.messages:
        lines.append(f"  [{m.code}] {m.vi} / {m.en}")
    for s in report.signatures:
        lines.append("")
        who = s.signer.common_name if s.signer else "?"
        seal = " (con dấu cơ quan / organization seal)" if s.signer and s.signer.is_organization_seal else ""
        lines.append(f"* {s.field} — {s.kind}, revision {s.revision}, level {s.level}: {who}{seal}")
        lines.append(f"  {s.indication}" + (f" / {s.subindication}" if s.subindication else ""))
        lines.append(f"  integrity={s.integrity} coverage={s.coverage} modifications={s.modifications}"
                     f" signing_time={s.signing_time}" + (f" timestamp={s.timestamp.time}" if s.timestamp else ""))
        if s.chain:
            lines.append("  chain: " + " → ".join(s.chain))
        for c in s.changes:
            lines.append("  change: " + ", ".join(f"{k}={v}" for k, v in c.items()))
        for v in s.visual_changes:
            lines.append(f"  visual change: page {v['page']} ({v['changed_ratio']:.3%} of pixels)")
        for m in s.messages:
            lines.append(f"  [{m.code}] {m.vi} / {m.en}")
    return "\n".join(lines)


def _parse_at(value: str | None) -> datetime | None:
    if not value:
        return None
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@click.command("verify")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report (interfaces.md v1).")
@click.option("--trust", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Trust anchor certificate (PEM/DER); repeatable. Default: certs/anchors/*.pem.")
@click.option("--at", "at", default=None, help="Validate as of this ISO 8601 time (past-time validation).")
@click.option("--offline", is_flag=True, help="Use only revocation data embedded in the PDF; fetch nothing.")
def verify(file: Path, as_json: bool, trust: tuple[Path, ...], at: str | None, offline: bool) -> None:
    """Validate every signature and document time-stamp in FILE.pdf."""
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    logging.getLogger("pyhanko_certvalidator").setLevel(logging.CRITICAL)
    try:
        moment = _parse_at(at)
        from ..config import Settings

        policy = ValidationPolicy.from_paths(list(trust) or None, offline=offline, at=moment,
                                             fetch_allow=Settings.from_env().fetch_allow_list())
    except Exception as exc:
        click.echo(f"Lỗi / Error: {exc}", err=True)
        sys.exit(EXIT_UNREADABLE)
    # a hard limit without a pool: the analysis runs in a child forked from this (single-threaded, engine already
    # imported) process and killed at the limit (docs/validation.md, "Time limit")
    with bounded.forked_child():
        report = validate_pdf(file, policy)
    click.echo(report.to_json(indent=2) if as_json else _text(report))
    sys.exit(report.exit_code)


commands = [verify]
