"""``docexchange edxml inspect FILE [--json]``: parse and normalize one edXML package.

Exit status: 0 valid (warnings allowed), 1 parsed with errors (listed), 4 unreadable (missing file, not XML,
malformed XML, not an edXML package)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..axis.edxml import parse_package


@click.group("edxml")
def edxml() -> None:
    """edXML (QCVN 102:2016) packages."""


@edxml.command("inspect")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="print the normalized package as JSON")
def inspect(file: Path, as_json: bool) -> None:
    """Parse FILE and print the normalized package (or a short summary)."""
    if not file.is_file():
        click.echo(f"cannot read {file} / không đọc được tệp {file}", err=True)
        sys.exit(4)
    pkg = parse_package(file)
    n = pkg.normalized
    if as_json:
        click.echo(json.dumps(n, ensure_ascii=False, indent=2))
    else:
        click.echo(_summary(n))
    if not pkg.readable:
        sys.exit(4)
    sys.exit(0 if pkg.ok else 1)


def _summary(n: dict) -> str:  # type: ignore[type-arg]
    lines = [f"kind: {n['kind'] or '-'}"]
    if n["kind"] == "edoc":
        code = n["code"] or {}
        lines += [
            f"document: {code.get('number')}/{code.get('notation')}  id {n['document_id']}",
            f"from: {(n['from'] or {}).get('organ_id')} {(n['from'] or {}).get('organ_name') or ''}".rstrip(),
            "to: " + ", ".join(t["organ_id"] or "?" for t in n["to"] or []),
            f"date: {(n['promulgation'] or {}).get('date')}",
            f"type: {(n['document_type'] or {}).get('type_name')}",
            f"subject: {n['subject']}",
            f"business: {(n['business'] or {}).get('doc_type_name')}",
        ]
        for a in n["attachments"]:
            extra = " (zipped)" if a["zipped"] else ""
            extra += " [nested edXML]" if a["nested"] else ""
            lines.append(
                f"attachment: {a['name']} {a['content_type']} {a['size']} B sha256 {a['sha256']}{extra}"
            )
    elif n["kind"] == "status":
        st = n["status"]
        lines += [
            f"from: {(n['from'] or {}).get('organ_id')}",
            f"status: {st['code']} {st['meaning']} at {st['timestamp']}",
            f"for document: {st['response_for']['document_id']}",
        ]
    sig = n["package_signature"]
    lines.append(f"package signature: {sig['note']}" + (f" ({sig['signer']})" if sig.get("signer") else ""))
    for e in n["errors"]:
        lines.append(f"{e['severity']}: {e['code']}: {e['message']}")
    for x in n["normalizations"]:
        lines.append(f"normalized {x['field']}: {x['from']!r} -> {x['to']!r}")
    return "\n".join(lines)


commands = [edxml]
