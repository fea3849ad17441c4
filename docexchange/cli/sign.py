"""``docexchange sign``: one signature with the signing engine (interfaces.md). Exit 0 ok, 4 bad input."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from ..errors import DomainError

LEVELS = ["B-B", "B-T", "B-LT", "B-LTA"]
PROFILES = ["person", "seal", "attachment", "copy"]


def _fail(en: str, vi: str) -> None:
    click.echo(f"lỗi: {vi}", err=True)
    click.echo(f"error: {en}", err=True)
    sys.exit(4)


def _box(value: str) -> tuple[float, float, float, float]:
    try:
        parts = [float(v) for v in value.split(",")]
    except ValueError:
        parts = []
    if len(parts) != 4:
        _fail(f"--box must be X1,Y1,X2,Y2 in PDF points, got {value!r}",
              f"--box phải có dạng X1,Y1,X2,Y2 (điểm PDF), nhận được {value!r}")
    return parts[0], parts[1], parts[2], parts[3]


@click.command("sign")
@click.argument("input_pdf", metavar="IN.pdf", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Signed PDF to write (incremental update of IN.pdf).")
@click.option("--profile", required=True, type=click.Choice(PROFILES))
@click.option("--key", "key_ref", required=True,
              help="PKCS#12 file, pkcs11: URI (RFC 7512), officer:USERNAME or agency:ORGAN_ID.")
@click.option("--pin-env", default=None, help="Environment variable holding the PIN/password (else prompted).")
@click.option("--level", default="B-LT", show_default=True, type=click.Choice(LEVELS))
@click.option("--image", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Signature (person) or seal (seal) PNG with transparency.")
@click.option("--page", type=int, default=None, help="1-based page for --box.")
@click.option("--box", default=None, help="X1,Y1,X2,Y2 in PDF points (when the document gives no anchor).")
@click.option("--text", default=None, help="Number/notation (attachment) or copy form: SAO Y | SAO LỤC | TRÍCH SAO.")
@click.option("--signer-name", default=None, help="Full name to look for on the last page (person).")
@click.option("--authority", default=None, help="TM. | KT. | TL. | TUQ. | Q.")
@click.option("--position", default=None, help="Signer's position, e.g. 'Thứ trưởng'.")
@click.option("--agency-name", default=None, help="Copying agency (copy; default from the key).")
@click.option("--seal-mm", type=float, default=36.0, show_default=True)
@click.option("--certify", is_flag=True, help="Certification signature (DocMDP: form filling allowed).")
@click.option("--tsa-url", default=None, help="RFC 3161 TSA (default: <public url>/pki/tsa).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def sign_cmd(input_pdf: Path, output: Path, profile: str, key_ref: str, pin_env: str | None, level: str,
             image: Path | None, page: int | None, box: str | None, text: str | None, signer_name: str | None,
             authority: str | None, position: str | None, agency_name: str | None, seal_mm: float, certify: bool,
             tsa_url: str | None, as_json: bool) -> None:
    """Sign IN.pdf once (profile person | seal | attachment | copy) and write OUT.pdf."""
    from cryptography import x509

    from ..config import Settings
    from ..signing import KeyResolver, SigningEngine, SignOptions, http_timestamper

    settings = Settings.from_env()
    if pin_env:
        pin = os.environ.get(pin_env)
        if pin is None:
            _fail(f"environment variable {pin_env} is not set", f"biến môi trường {pin_env} chưa được đặt")
    else:
        pin = click.prompt("PIN", hide_input=True)
    assert pin is not None
    try:
        managed = key_ref.startswith(("officer:", "agency:"))
        db = blobs = None
        if managed:
            from ..blobstore import BlobStore
            from ..db import Database

            db = Database(settings.database_url)
            blobs = BlobStore(settings.blob_dir, settings.max_blob_bytes)
        anchors = sorted((settings.certs_dir / "anchors").glob("*.pem"))
        roots = [x509.load_pem_x509_certificate(p.read_bytes()) for p in anchors]
        resolver = KeyResolver(certs_dir=settings.certs_dir, db=db)
        key = resolver.resolve(key_ref, pin)
        engine = SigningEngine(
            timestamper=http_timestamper(tsa_url or f"{settings.public_url.rstrip('/')}/pki/tsa")
            if level != "B-B" else None,
            trust_roots=roots, image_loader=blobs.get_bytes if blobs is not None else None)
        img = None
        if image is not None:
            try:
                img = image.read_bytes()
            except OSError as exc:
                _fail(f"cannot read {image}: {exc.strerror}", f"không đọc được {image}: {exc.strerror}")
        result = engine.sign(input_pdf, output, key, profile, level, SignOptions(
            image=img, page=page, box=_box(box) if box else None, text=text, signer_name=signer_name,
            authority=authority, position=position, agency_name=agency_name, seal_mm=seal_mm, certify=certify))
    except DomainError as err:
        _fail(err.en, err.vi)
        return
    if as_json:
        click.echo(json.dumps({"output": str(output), "field": result.field_name, "profile": str(result.profile),
                               "level": str(result.level), "page": result.page, "box": result.box,
                               "signing_time": result.signing_time.isoformat(), "signer": result.signer_subject,
                               "serial": result.signer_serial, "size": result.size}, ensure_ascii=False))
    else:
        click.echo(f"signed {result.field_name} ({result.profile}, {result.level}) by {result.signer_subject} "
                   f"-> {output}")


commands = [sign_cmd]
