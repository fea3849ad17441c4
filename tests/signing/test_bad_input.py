"""Bad input: a clear Vietnamese + English error and nothing written."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from PIL import Image

from docexchange.errors import BadInput, DomainError
from docexchange.pki.ca import DevCA
from docexchange.pki.keys import write_pkcs12
from docexchange.signing import (
    CertificateRefused,
    SignOptions,
    WrongPin,
    load_pkcs12_key,
    validate_stamp_image,
)
from tests.signing.conftest import SigningEnv


def _refused(env: SigningEnv, tmp_path: Path, src: Path, exc_type: type[DomainError], code: str,
             **kw: Any) -> DomainError:
    out = tmp_path / "out.pdf"
    key = kw.pop("key", env.seal)
    profile = kw.pop("profile", "attachment")
    opts = kw.pop("opts", SignOptions(text="15/QĐ-BNV"))
    with pytest.raises(exc_type) as info:
        env.engine.sign(src, out, key, profile, kw.pop("level", "B-T"), opts)
    err = info.value
    assert err.code == code, (err.code, err.en)
    assert err.en and err.vi and err.en != err.vi
    assert not out.exists()
    assert not list(tmp_path.glob(".out.pdf.*"))  # no temp file left behind
    return err


def test_not_a_pdf(signing_env: SigningEnv, tmp_path: Path) -> None:
    src = tmp_path / "x.pdf"
    src.write_bytes(b"PK\x03\x04 this is a zip, not a pdf" * 10)
    err = _refused(signing_env, tmp_path, src, BadInput, "not_pdf")
    assert "PDF" in err.vi


def test_encrypted_pdf(signing_env: SigningEnv, tmp_path: Path) -> None:
    src = tmp_path / "enc.pdf"
    with pikepdf.open(signing_env.doc) as pdf:
        pdf.save(src, encryption=pikepdf.Encryption(user="u", owner="o", R=6))
    err = _refused(signing_env, tmp_path, src, BadInput, "encrypted_pdf")
    assert "mã hóa" in err.vi


def test_broken_xref_is_rejected(signing_env: SigningEnv, tmp_path: Path) -> None:
    data = signing_env.doc.read_bytes()
    pos = data.rindex(b"startxref")
    src = tmp_path / "broken.pdf"
    src.write_bytes(data[:pos] + b"startxref\n999999\n%%EOF\n")
    err = _refused(signing_env, tmp_path, src, BadInput, "broken_pdf")
    assert "hỏng" in err.vi


def test_truncated_pdf_is_rejected(signing_env: SigningEnv, tmp_path: Path) -> None:
    data = signing_env.doc.read_bytes()
    src = tmp_path / "trunc.pdf"
    src.write_bytes(data[: len(data) // 2])
    _refused(signing_env, tmp_path, src, BadInput, "broken_pdf")


def test_wrong_pin(signing_env: SigningEnv) -> None:
    with pytest.raises(WrongPin) as info:
        signing_env.resolver.resolve("officer:bnv.lanhdao", signing_env.pin + "x")
    assert info.value.code == "wrong_pin" and "PIN" in info.value.vi
    with pytest.raises(WrongPin):
        signing_env.resolver.resolve("agency:000.00.00.G09", "")


def _issue(env: SigningEnv, tmp_path: Path, **kw: Any) -> Path:
    svc: Any = env.node.services
    with svc.db.transaction() as s:
        ident = svc.ca.issue(s, kind="seal", issuer="gov-int", common_name="Cơ quan thử nghiệm", **kw)
    p12 = tmp_path / "k.p12"
    write_pkcs12(p12, ident.key, ident.cert, list(ident.chain), b"1234")
    return p12


def test_revoked_certificate_refused_before_signing(signing_env: SigningEnv, tmp_path: Path) -> None:
    env = signing_env
    p12 = _issue(env, tmp_path)
    key = load_pkcs12_key(p12, "1234")
    ok = tmp_path / "ok.pdf"
    env.engine.sign(env.doc, ok, key, "attachment", "B-B", SignOptions(text="1/QĐ-X"))  # good before revocation
    svc: Any = env.node.services
    with svc.db.transaction() as s:
        DevCA.revoke(s, format(key.certificate.serial_number, "x"), "key_compromise")
    err = _refused(env, tmp_path, env.doc, CertificateRefused, "certificate_revoked", key=key)
    assert "thu hồi" in err.vi and "revoked" in err.en


def test_expired_certificate_refused(signing_env: SigningEnv, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    p12 = _issue(signing_env, tmp_path, not_before=now - timedelta(days=400), not_after=now - timedelta(days=1))
    key = load_pkcs12_key(p12, "1234")
    err = _refused(signing_env, tmp_path, signing_env.doc, CertificateRefused, "certificate_expired", key=key)
    assert "hết hạn" in err.vi and "expired" in err.en


def test_not_yet_valid_certificate_refused(signing_env: SigningEnv, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    p12 = _issue(signing_env, tmp_path, not_before=now + timedelta(days=2), not_after=now + timedelta(days=30))
    key = load_pkcs12_key(p12, "1234")
    _refused(signing_env, tmp_path, signing_env.doc, CertificateRefused, "certificate_not_yet_valid", key=key)


def _png(mode: str) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (60, 30), (200, 0, 0) if mode == "RGB" else (200, 0, 0, 128)).save(buf, "PNG")
    return buf.getvalue()


def test_seal_image_must_be_png_with_alpha(signing_env: SigningEnv, tmp_path: Path) -> None:
    jpeg = io.BytesIO()
    Image.new("RGB", (60, 30), (200, 0, 0)).save(jpeg, "JPEG")
    for data, words in ((jpeg.getvalue(), "PNG"), (_png("RGB"), "trong suốt"), (b"\x89PNG\r\n\x1a\ngarbage", "hỏng")):
        with pytest.raises(BadInput) as info:
            validate_stamp_image(data)
        assert info.value.code == "bad_image" and words in info.value.vi
    assert validate_stamp_image(_png("RGBA")) == (60, 30)
    # and the engine refuses before signing
    p = tmp_path / "p.pdf"
    signing_env.engine.sign(signing_env.doc, p, signing_env.person, "person", "B-B",
                            SignOptions(image=signing_env.signature_png))
    _refused(signing_env, tmp_path, p, BadInput, "bad_image", profile="seal", level="B-B",
             opts=SignOptions(image=jpeg.getvalue()))


def test_signer_name_not_found(signing_env: SigningEnv, tmp_path: Path) -> None:
    err = _refused(signing_env, tmp_path, signing_env.doc, BadInput, "signer_name_not_found", key=signing_env.person,
                   profile="person", level="B-B",
                   opts=SignOptions(image=signing_env.signature_png, signer_name="Lê Văn Không Có"))
    assert "Lê Văn Không Có" in err.vi and "trang" in err.vi
    # the explicit box is the documented fallback
    out = tmp_path / "out.pdf"
    r = signing_env.engine.sign(signing_env.doc, out, signing_env.person, "person", "B-B",
                                SignOptions(image=signing_env.signature_png, signer_name="Lê Văn Không Có", page=1,
                                            box=(330, 600, 530, 680)))
    assert out.exists() and r.page == 1


def test_bad_options(signing_env: SigningEnv, tmp_path: Path) -> None:
    env = signing_env
    _refused(env, tmp_path, env.doc, BadInput, "missing_text", opts=SignOptions())
    _refused(env, tmp_path, env.doc, BadInput, "bad_copy_form", profile="copy", opts=SignOptions(text="BẢN CHÍNH"))
    _refused(env, tmp_path, env.doc, BadInput, "bad_placement", opts=SignOptions(text="1/X", page=9, box=(1, 1, 2, 2)))
    _refused(env, tmp_path, env.doc, BadInput, "bad_authority", key=env.person, profile="person",
             opts=SignOptions(image=env.signature_png, authority="XX."))
    _refused(env, tmp_path, env.doc, BadInput, "no_person_signature", profile="seal",
             opts=SignOptions(image=env.seal_png))
