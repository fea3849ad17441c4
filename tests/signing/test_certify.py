"""Certification (DocMDP, fill-forms) followed by approvals stays legal when the approval fields are pre-created."""

from __future__ import annotations

from pathlib import Path

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from docexchange.signing import FieldPlan, SignOptions, prepare_stamp_image, seal_box
from tests.conftest import pdfsig
from tests.signing.conftest import HEAD_NAME, SigningEnv, asn1_roots, pdfsig_blocks, pyhanko_check


def test_certify_then_approve_stays_legal(signing_env: SigningEnv, nss_db: str, tmp_path: Path) -> None:
    env = signing_env
    page, pbox = env.engine.locate_person_box(env.doc, HEAD_NAME, env.signature_png)
    sbox = seal_box(pbox, 36, prepare_stamp_image(env.seal_png).aspect)
    certified = tmp_path / "certified.pdf"
    r0 = env.engine.sign(env.doc, certified, env.seal, "seal", "B-LT", SignOptions(
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
    assert len(blocks) == 3 and all("Signature is Valid" in b and "Certificate is Trusted" in b for b in blocks)


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
