"""``docexchange sign`` end to end (subprocess), including PKCS#11 keys on SoftHSM2 (RSA and ECDSA), each test
with its own SOFTHSM2_CONF and token directory (the module reads its configuration once per process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from docexchange.pki.keys import write_pkcs12
from tests.conftest import pdfsig
from tests.signing.conftest import BNV_CODE, SigningEnv, pdfsig_blocks, pyhanko_check

MODULE = "/usr/lib/softhsm/libsofthsm2.so"


def _env(env: SigningEnv, **extra: str) -> dict[str, str]:
    node = env.node
    svc: Any = node.services
    e = dict(os.environ)
    e.update({"DOCEXCHANGE_CERTS_DIR": str(node.certs_dir), "DOCEXCHANGE_PUBLIC_URL": node.url,
              "DOCEXCHANGE_DATABASE_URL": svc.settings.database_url, "DOCEXCHANGE_BLOB_DIR": str(svc.settings.blob_dir),
              "DOCEXCHANGE_INSTANCE_DIR": str(node.instance_dir), "SIGN_PIN": node.demo_pin})
    e.update(extra)
    return e


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "docexchange.cli", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_cli_officer_then_agency_seal(signing_env: SigningEnv, nss_db: str, tmp_path: Path) -> None:
    env = _env(signing_env)
    p = tmp_path / "p.pdf"
    r = _cli(["sign", str(signing_env.doc), "-o", str(p), "--profile", "person", "--key", "officer:bnv.lanhdao",
              "--pin-env", "SIGN_PIN", "--level", "B-T", "--position", "Bộ trưởng"], env)
    assert r.returncode == 0, r.stderr
    s = tmp_path / "s.pdf"
    r = _cli(["sign", str(p), "-o", str(s), "--profile", "seal", "--key", f"agency:{BNV_CODE}",
              "--pin-env", "SIGN_PIN", "--json"], env)
    assert r.returncode == 0, r.stderr
    assert '"field": "Seal1"' in r.stdout and '"level": "B-LT"' in r.stdout
    pyhanko_check(s, signing_env.roots)
    blocks = pdfsig_blocks(pdfsig(nss_db, s))
    assert len(blocks) == 2 and all("Signature is Valid" in b and "Certificate is Trusted" in b for b in blocks)


def test_cli_bad_input_exits_4(signing_env: SigningEnv, tmp_path: Path) -> None:
    env = _env(signing_env, WRONG="nope")
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"hello")
    out = tmp_path / "o.pdf"
    r = _cli(["sign", str(junk), "-o", str(out), "--profile", "attachment", "--key", f"agency:{BNV_CODE}",
              "--pin-env", "SIGN_PIN", "--text", "1/QĐ-BNV"], env)
    assert r.returncode == 4 and "không phải" in r.stderr and "not a PDF" in r.stderr
    r = _cli(["sign", str(signing_env.doc), "-o", str(out), "--profile", "attachment", "--key", f"agency:{BNV_CODE}",
              "--pin-env", "WRONG", "--text", "1/QĐ-BNV"], env)
    assert r.returncode == 4 and "PIN" in r.stderr
    r = _cli(["sign", str(signing_env.doc), "-o", str(out), "--profile", "person", "--key", "officer:bnv.lanhdao",
              "--pin-env", "SIGN_PIN", "--box", "1,2,3"], env)
    assert r.returncode == 4
    r = _cli(["sign", str(signing_env.doc), "-o", str(out), "--profile", "seal", "--key", f"agency:{BNV_CODE}",
              "--pin-env", "SIGN_PIN", "--image", str(junk), "--page", "1", "--box", "10,10,100,100"], env)
    assert r.returncode == 4 and "PNG" in r.stderr
    assert not out.exists()


@pytest.mark.parametrize("key_type", ["rsa2048", "ec256"])
def test_pkcs11_softhsm(signing_env: SigningEnv, nss_db: str, tmp_path: Path, key_type: str) -> None:
    svc: Any = signing_env.node.services
    tok = tmp_path / "tokens"
    tok.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tok}\nobjectstore.backend = file\nlog.level = ERROR\n")
    env = _env(signing_env, SOFTHSM2_CONF=str(conf), TOKEN_PIN="1234", P12_PIN="p12pw")
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "dx-test", "--so-pin", "5678", "--pin",
                    "1234"], check=True, capture_output=True, env=env)
    with svc.db.transaction() as s:
        ident = svc.ca.issue(s, kind="person", issuer="gov-int", common_name="Trần Thị Hằng",
                             organization="Bộ Nội vụ", title="Thứ trưởng", key_type=key_type)
    p12 = tmp_path / "k.p12"
    write_pkcs12(p12, ident.key, ident.cert, list(ident.chain), b"p12pw")
    r = _cli(["pki", "import-to-token", str(p12), "--module", MODULE, "--token-label", "dx-test", "--label",
              "signer", "--p12-pin-env", "P12_PIN", "--token-pin-env", "TOKEN_PIN"], env)
    assert r.returncode == 0, r.stderr
    img = tmp_path / "sig.png"
    img.write_bytes(signing_env.signature_png)
    out = tmp_path / "p11.pdf"
    uri = f"pkcs11:token=dx-test;object=signer?module-path={MODULE}"
    r = _cli(["sign", str(signing_env.doc), "-o", str(out), "--profile", "person", "--key", uri, "--pin-env",
              "TOKEN_PIN", "--image", str(img), "--signer-name", "Nguyễn Văn Thắng", "--level", "B-LT"], env)
    assert r.returncode == 0, r.stderr
    results = pyhanko_check(out, signing_env.roots)
    assert len(results) == 1
    blocks = pdfsig_blocks(pdfsig(nss_db, out))
    assert len(blocks) == 1 and "Signature is Valid" in blocks[0] and "Certificate is Trusted" in blocks[0]
    # wrong token PIN: exit 4, nothing written
    bad = tmp_path / "bad.pdf"
    r = _cli(["sign", str(signing_env.doc), "-o", str(bad), "--profile", "person", "--key", uri, "--pin-env",
              "P12_PIN", "--image", str(img), "--page", "1", "--box", "330,600,530,680", "--level", "B-B"], env)
    assert r.returncode == 4 and "PIN" in r.stderr and not bad.exists()
