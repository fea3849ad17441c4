"""Certification (DocMDP, fill-forms) followed by approvals stays legal when the approval fields are pre-created."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from docexchange.pki.keys import write_pkcs12
from docexchange.signing import FieldPlan, KeyHandle, SignOptions, load_pkcs12_key, prepare_stamp_image, seal_box
from tests.conftest import pdfsig
from tests.signing.conftest import (
    HEAD_NAME,
    SigningEnv,
    asn1_roots,
    pdfsig_blocks,
    pyhanko_check,
)


def test_certify_then_approve_stays_legal(signing_env: SigningEnv, nss_db: str, tmp_path: Path) -> None:
    env = signing_env
    page, pbox = env.engine.locate_person_box(env.doc, HEAD_NAME, env.signature_png)
    sbox = seal_box(pbox, 36, prepare_stamp_image(env.seal_png).aspect)
    certifier = _second_seal_key(env, tmp_path)
    certified = tmp_path / "certified.pdf"
    r0 = env.engine.sign(env.doc, certified, certifier, "seal", "B-LT", SignOptions(
        certify=True, invisible=True, field_name="Certification",
        precreate=(FieldPlan("Person1", page, pbox), FieldPlan("Seal1", page, sbox))))
    assert r0.box is None
    approved = tmp_path / "approved.pdf"
    r1 = env.engine.sign(certified, approved, env.person, "person", "B-LT",
                         SignOptions(image=env.signature_png, field_name="Person1"))
    assert r1.box == pbox
    final = tmp_path / "final.pdf"
    env.engine.sign(approved, final, env.seal, "seal", "B-LT", SignOptions(image=env.seal_png))  # fills Seal1
    results = pyhanko_check(final, env.roots)
    assert [r["field"] for r in results] == ["Certification", "Person1", "Seal1"]
    assert results[0]["docmdp_ok"] is True
    assert results[0]["modification_level"] == ModificationLevel.FORM_FILLING
    blocks = pdfsig_blocks(pdfsig(nss_db, final))
    assert len(blocks) == 3, blocks
    assert all("Signature is Valid" in b and "Certificate is Trusted" in b for b in blocks), "\n".join(blocks)


def _second_seal_key(env: SigningEnv, tmp_path: Path) -> KeyHandle:
    """A second agency certificate for the certification signature. poppler 22.12/NSS, checking several
    signatures in one run, reports "Unknown issue with Certificate" for some later signatures made with a
    certificate it has already checked in that run (reproduced with two plain attachment signatures); pyhanko
    validates them fine. Using distinct certificates keeps pdfsig a meaningful independent check here."""
    svc: Any = env.node.services
    with svc.db.transaction() as s:
        ident = svc.ca.issue(s, kind="seal", issuer="gov-int", common_name="Bộ Nội vụ (chứng nhận văn bản)")
    p12 = tmp_path / "cert.p12"
    write_pkcs12(p12, ident.key, ident.cert, list(ident.chain), b"1234")
    return load_pkcs12_key(p12, "1234")


def test_new_field_after_certification_would_be_illegal(signing_env: SigningEnv, tmp_path: Path) -> None:
    """The reason fields are pre-created: adding a new field after certifying breaks the certification."""
    env = signing_env
    certified = tmp_path / "certified.pdf"
    env.engine.sign(env.doc, certified, env.seal, "seal", "B-B",
                    SignOptions(certify=True, invisible=True, field_name="Certification"))
    late = tmp_path / "late.pdf"
    env.engine.sign(certified, late, env.person, "person", "B-B", SignOptions(image=env.signature_png))
    with open(late, "rb") as fh:
        sig = PdfFileReader(fh).embedded_signatures[0]
        st = validate_pdf_signature(sig, signer_validation_context=ValidationContext(
            trust_roots=asn1_roots(env.roots), allow_fetching=True))
        assert st.intact and st.valid
        assert st.bottom_line is False and st.modification_level == ModificationLevel.OTHER
