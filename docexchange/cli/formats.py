"""``docexchange formats``: normalize one document to a clean PDF, or one text value to Unicode NFC."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import click

from docexchange.errors import DomainError

EXIT_BAD_INPUT = 4


@click.group("formats")
def formats_group() -> None:
    """Format normalization on intake (documents → PDF, Vietnamese text → Unicode NFC)."""


@formats_group.command("convert")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the normalized PDF.")
@click.option("--ocr", is_flag=True, help="Add a Vietnamese OCR text layer to scanned images.")
@click.option("--timeout", type=float, default=None, help="Seconds allowed for an office conversion.")
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
def convert(source: Path, output: Path, ocr: bool, timeout: float | None, as_json: bool) -> None:
    """Convert SOURCE (PDF, DOCX, DOC, ODT, RTF, JPEG, PNG, TIFF; sniffed by content) to a clean PDF."""
    from docexchange.formats.documents import normalize_document

    work = Path(tempfile.mkdtemp(prefix="docexchange-cli-"))
    try:
        result = normalize_document(source, source.name, out_dir=work, ocr=ocr, timeout=timeout)
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(result.pdf_path), output)
    except DomainError as exc:
        click.echo(f"error: {exc.en} / {exc.vi}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = {"output": str(output), "kind": result.kind, "pdfa": result.pdfa, "unchanged": result.unchanged,
              "pages": result.pages, "removed": result.removed, "repairs": result.repairs,
              "normalizations": [n.as_dict() for n in result.normalizations]}
    click.echo(json.dumps(report, ensure_ascii=False, indent=2) if as_json else
               f"{output}: {result.kind} → PDF{'/A' if result.pdfa else ''}, {result.pages} page(s)"
               + (f", removed: {'; '.join(result.removed)}" if result.removed else ""))


@formats_group.command("text")
@click.argument("value")
@click.option("--field", default="value", help="Field name for the normalization record.")
def text(value: str, field: str) -> None:
    """Normalize one text VALUE (TCVN3/VNI → Unicode, NFC, whitespace) and print the result as JSON."""
    from docexchange.formats.text import normalize_field

    result = normalize_field(value)
    record = result.normalization(field)
    click.echo(json.dumps({"value": result.value, "encoding": result.encoding, "steps": list(result.steps),
                           "normalization": record.as_dict() if record else None}, ensure_ascii=False))


commands = [formats_group]
