"""``docexchange pki``: the dev CA."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import click
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from ..config import Settings
from ..models import Certificate
from ..pki.ca import ALL_CAS, INTERMEDIATES
from ..pki.keys import load_pkcs12, write_pkcs12
from ..services import Services


def _pin(pin_env: str | None, prompt: str) -> bytes:
    if pin_env:
        value = os.environ.get(pin_env)
        if value is None:
            raise click.UsageError(f"environment variable {pin_env} is not set")
        return value.encode()
    return click.prompt(prompt, hide_input=True).encode()


@click.group("pki")
def pki() -> None:
    """Dev CA: anchors, certificates, revocation (CRL/OCSP reflect it at once)."""


@pki.command("init")
@click.option("--key-type", default="rsa2048", type=click.Choice(["rsa2048", "rsa3072", "ec256"]))
def pki_init(key_type: str) -> None:
    """Create the two anchors, their intermediates, the TSA and OCSP responder certificates (idempotent)."""
    from ..migrate import upgrade

    svc = Services(Settings.from_env())
    upgrade(svc.settings.database_url)
    with svc.db.transaction() as s:
        svc.ca.init(s, key_type=key_type)
    click.echo(f"anchors in {svc.settings.certs_dir / 'anchors'}: {', '.join(sorted(ALL_CAS))}")


@pki.command("issue")
@click.option("--kind", type=click.Choice(["seal", "person"]), required=True)
@click.option("--cn", "common_name", required=True, help="Agency name (seal) or person name.")
@click.option("--org", "organization", default=None, help="Agency of a person.")
@click.option("--title", default=None, help="Position of a person, e.g. 'Chủ tịch'.")
@click.option("--issuer", default="gov-int", type=click.Choice(sorted(INTERMEDIATES)))
@click.option("--key-type", default="rsa2048", type=click.Choice(["rsa2048", "rsa3072", "ec256"]))
@click.option("--days", default=730, type=int)
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="PKCS#12 file to write.")
@click.option("--pin-env", default=None, help="Environment variable holding the PKCS#12 password.")
def pki_issue(kind: str, common_name: str, organization: str | None, title: str | None, issuer: str,
              key_type: str, days: int, out: Path, pin_env: str | None) -> None:
    """Issue an agency-seal or officer certificate into an encrypted PKCS#12 file."""
    svc = Services(Settings.from_env())
    pin = _pin(pin_env, "PKCS#12 password")
    with svc.db.transaction() as s:
        ident = svc.ca.issue(s, kind=kind, issuer=issuer, common_name=common_name, organization=organization,
                             title=title, key_type=key_type, days=days, key_ref=str(out))
        write_pkcs12(out, ident.key, ident.cert, list(ident.chain), pin, common_name)
    click.echo(f"issued serial {ident.serial_hex} -> {out}")


@pki.command("revoke")
@click.argument("serial")
@click.option("--reason", default="unspecified")
def pki_revoke(serial: str, reason: str) -> None:
    """Revoke a certificate by serial (hex)."""
    svc = Services(Settings.from_env())
    try:
        with svc.db.transaction() as s:
            row = svc.ca.revoke(s, serial, reason)
            svc.ledger.append(s, actor="operator", action="certificate_revoked", object_type="certificate",
                              object_id=row.serial, object_sha256=row.sha256, details={"reason": reason})
    except (LookupError, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(4)
    click.echo(f"revoked {row.serial} ({row.common_name}) reason={reason}")


@pki.command("list")
def pki_list() -> None:
    """List issued certificates with their status."""
    svc = Services(Settings.from_env())
    with svc.db.transaction() as s:
        for row in s.execute(select(Certificate).order_by(Certificate.id)).scalars():
            status = f"REVOKED {row.revocation_reason}" if row.revoked_at else "valid"
            click.echo(f"{row.serial:42} {row.kind:12} {row.issuer_name:10} {status:24} {row.common_name}")


@pki.command("import-to-token")
@click.argument("p12", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--module", default="/usr/lib/softhsm/libsofthsm2.so", show_default=True)
@click.option("--token-label", required=True)
@click.option("--label", required=True, help="Object label for key and certificate on the token.")
@click.option("--id", "object_id", default="01", help="Hex object id.")
@click.option("--p12-pin-env", default=None, help="Variable holding the PKCS#12 password.")
@click.option("--token-pin-env", default=None, help="Variable holding the token user PIN.")
def pki_import_to_token(p12: Path, module: str, token_label: str, label: str, object_id: str,
                        p12_pin_env: str | None, token_pin_env: str | None) -> None:
    """Copy a key and certificate from a PKCS#12 file to a PKCS#11 token (SoftHSM2 via pkcs11-tool)."""
    key, cert, _ = load_pkcs12(p12, _pin(p12_pin_env, "PKCS#12 password"))
    token_pin = _pin(token_pin_env, "token PIN").decode()
    with tempfile.TemporaryDirectory() as tmp:
        key_der = Path(tmp) / "key.der"
        cert_der = Path(tmp) / "cert.der"
        key_der.write_bytes(key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
        key_der.chmod(0o600)
        cert_der.write_bytes(cert.public_bytes(serialization.Encoding.DER))
        base = ["pkcs11-tool", "--module", module, "--token-label", token_label, "--login", "--pin", token_pin]
        for obj_type, path in (("privkey", key_der), ("cert", cert_der)):
            proc = subprocess.run(base + ["--write-object", str(path), "--type", obj_type, "--id", object_id,
                                          "--label", label, "--usage-sign"] if obj_type == "privkey" else
                                  base + ["--write-object", str(path), "--type", obj_type, "--id", object_id,
                                          "--label", label], capture_output=True, text=True)
            if proc.returncode != 0:
                click.echo(f"pkcs11-tool failed: {proc.stderr.strip()}", err=True)
                sys.exit(4)
    click.echo(f"imported {label} (id {object_id}) to token {token_label}")


commands = [pki]
