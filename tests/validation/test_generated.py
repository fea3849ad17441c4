"""Generated cases with the dev PKI and the live node's OCSP/CRL/TSA: attacks, revocation, policy, bad input."""

from __future__ import annotations

import io
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from docexchange.signing.validation import ValidationPolicy, validate_pdf
from tests.conftest import LiveNode
from tests.validation import helpers as h


class Kit:
    def __init__(self, node: LiveNode) -> None:
        from pyhanko_certvalidator import ValidationContext

        self.node = node
        self.svc: Any = node.services
        self.tsa = f"{node.url}/pki/tsa"
        self.online = ValidationPolicy(trust_anchors=self.svc.ca.anchors())
        self.offline = ValidationPolicy(trust_anchors=self.svc.ca.anchors(), offline=True)
        self.lt_vc = ValidationContext(trust_roots=[h.asn1_cert(c) for c in self.svc.ca.anchors()],
                                       allow_fetching=True, revocation_mode="hard-fail")

    def identity(self, kind: str = "person", **kw: Any) -> Any:
        with self.svc.db.transaction() as s:
            return self.svc.ca.issue(s, kind=kind, issuer="gov-int", common_name=kw.pop("cn", "Nguyễn Văn Thử"),
                                     **kw)

    def signer(self, ident: Any) -> Any:
        return h.signer_for(ident.key, ident.cert, list(ident.chain))

    def revoke(self, ident: Any, when: datetime | None = None) -> None:
        from docexchange.pki.ca import DevCA

        with self.svc.db.transaction() as s:
            DevCA.revoke(s, ident.serial_hex, "key_compromise", when=when)


@pytest.fixture(scope="module")
def kit(live_node: LiveNode) -> Kit:
    return Kit(live_node)


@pytest.fixture(scope="module")
def person(kit: Kit) -> Any:
    return kit.identity("person", organization="UBND tỉnh Nghệ An", title="Chuyên viên")


@pytest.fixture(scope="module")
def signed_bt(kit: Kit, person: Any) -> bytes:
    return h.sign(h.make_pdf(2), kit.signer(person), tsa_url=kit.tsa)


def _sig(report: Any, i: int = 0) -> Any:
    assert report.signatures, report.to_json()
    return report.signatures[i]


# ---- positive ------------------------------------------------------------------------------------------------
def test_good_bt_person_passes_online(kit: Kit, signed_bt: bytes) -> None:
    r = validate_pdf(signed_bt, kit.online)
    s = _sig(r)
    assert (r.indication, s.indication, s.subindication) == ("TOTAL_PASSED", "TOTAL_PASSED", None), r.to_json()
    assert (s.integrity, s.coverage, s.modifications, s.level) == (True, "ENTIRE_FILE", "NONE", "B-T")
    assert s.signer.common_name == "Nguyễn Văn Thử" and s.signer.is_organization_seal is False
    assert s.timestamp is not None and s.timestamp.valid and s.timestamp.time
    assert r.file.pages == 2 and r.file.revisions == 2 and r.exit_code == 0
    assert s.signing_time and s.signing_time.endswith("+07:00")


def test_seal_is_organization(kit: Kit) -> None:
    seal = kit.identity("seal", cn="Ủy ban nhân dân xã Thử Nghiệm")
    r = validate_pdf(h.sign(h.make_pdf(), kit.signer(seal), tsa_url=kit.tsa), kit.online)
    assert r.indication == "TOTAL_PASSED", r.to_json()
    assert _sig(r).signer.is_organization_seal is True
    assert any(m.code == "ORGANIZATION_SEAL" for m in _sig(r).messages)


def test_two_signature_blt_offline_passes(kit: Kit, person: Any) -> None:
    seal = kit.identity("seal", cn="Sở Thử Nghiệm")
    one = h.sign(h.make_pdf(), kit.signer(person), field="Sig1", tsa_url=kit.tsa, lt_context=kit.lt_vc)
    two = h.sign(one, kit.signer(seal), field="Seal", tsa_url=kit.tsa, lt_context=kit.lt_vc)
    r = validate_pdf(two, kit.offline)
    assert r.indication == "TOTAL_PASSED", r.to_json()
    a, b = r.signatures
    assert (a.field, a.modifications, a.level) == ("Sig1", "FORM_FILLING", "B-LT")
    assert {"what": "signature_added", "field": "Seal", "revision": b.revision} in a.changes
    assert (b.coverage, b.modifications) == ("ENTIRE_REVISION", "LTA_UPDATES")
    assert a.visual_changes == [] and b.visual_changes == []


def test_document_timestamp_over_everything(kit: Kit, signed_bt: bytes) -> None:
    r = validate_pdf(h.doc_timestamp(signed_bt, kit.tsa), kit.online)
    assert [s.kind for s in r.signatures] == ["signature", "document_timestamp"]
    ts = r.signatures[1]
    assert (ts.integrity, ts.coverage, ts.indication) == (True, "ENTIRE_FILE", "TOTAL_PASSED"), r.to_json()
    assert ts.timestamp is not None and ts.timestamp.valid
    assert r.signatures[0].modifications == "LTA_UPDATES" and r.indication == "TOTAL_PASSED"


# ---- attacks -------------------------------------------------------------------------------------------------
def test_byte_flipped_inside_signed_range(kit: Kit, signed_bt: bytes) -> None:
    data = bytearray(signed_bt)
    i = data.index(b"Contents") - 200  # inside the first signed part (page content / objects)
    data[i] ^= 0x01
    r = validate_pdf(bytes(data), kit.online)
    s = _sig(r)
    assert (s.integrity, s.indication, s.subindication) == (False, "TOTAL_FAILED", "HASH_FAILURE"), r.to_json()
    assert r.exit_code == 1


@pytest.mark.parametrize("attack,what", [(h.add_page, "page_added"), (h.remove_last_page, "page_removed"),
                                         (h.replace_content, "content_changed")])
def test_incremental_update_after_signing(kit: Kit, signed_bt: bytes, attack: Any, what: str) -> None:
    r = validate_pdf(attack(signed_bt), kit.online)
    s = _sig(r)
    assert s.integrity is True and s.coverage == "ENTIRE_REVISION"
    assert (s.modifications, s.indication, s.subindication) == ("OTHER", "TOTAL_FAILED", "FORMAT_FAILURE")
    assert any(c["what"] == what and c["revision"] == 3 for c in s.changes), s.changes
    if what == "content_changed":
        assert [v["page"] for v in s.visual_changes] == [1]


def test_annotation_overlay_is_visual_change(kit: Kit, signed_bt: bytes) -> None:
    r = validate_pdf(h.add_overlay_annotation(signed_bt), kit.online)
    s = _sig(r)
    assert s.integrity is True and s.modifications in ("ANNOTATIONS", "OTHER")
    assert any(c["what"] == "annotation_added" and c["page"] == 1 for c in s.changes)
    assert s.visual_changes and s.visual_changes[0]["page"] == 1 and s.visual_changes[0]["changed_ratio"] > 0.005
    assert s.indication == "TOTAL_FAILED" and "visual_difference" in s.flags


def test_new_signature_over_shadowed_revision(kit: Kit, person: Any, signed_bt: bytes) -> None:
    seal = kit.identity("seal", cn="Cơ quan Thử Che Giấu")
    shadowed = h.replace_content(signed_bt)
    r = validate_pdf(h.sign(shadowed, kit.signer(seal), field="Seal", tsa_url=kit.tsa), kit.online)
    first, second = r.signatures
    assert (first.modifications, first.indication) == ("OTHER", "TOTAL_FAILED"), r.to_json()
    assert any(c["what"] == "content_changed" for c in first.changes) and first.visual_changes
    assert (second.integrity, second.indication) == (True, "TOTAL_PASSED")
    assert r.indication == "TOTAL_FAILED"


# ---- revocation and time -------------------------------------------------------------------------------------
def test_revoked_before_signing_without_timestamp(kit: Kit) -> None:
    ident = kit.identity()
    kit.revoke(ident, when=datetime.now(UTC) - timedelta(minutes=2))
    r = validate_pdf(h.sign(h.make_pdf(), kit.signer(ident)), kit.online)
    s = _sig(r)
    assert (s.integrity, s.indication, s.subindication) == (True, "TOTAL_FAILED", "REVOKED"), r.to_json()


def test_revoked_before_signing_with_timestamp(kit: Kit) -> None:
    ident = kit.identity()
    kit.revoke(ident, when=datetime.now(UTC) - timedelta(minutes=2))
    r = validate_pdf(h.sign(h.make_pdf(), kit.signer(ident), tsa_url=kit.tsa), kit.online)
    assert (_sig(r).indication, _sig(r).subindication) == ("TOTAL_FAILED", "REVOKED"), r.to_json()


def test_revoked_after_signing_with_and_without_timestamp(kit: Kit) -> None:
    ident = kit.identity()
    with_ts = h.sign(h.make_pdf(), kit.signer(ident), tsa_url=kit.tsa)
    without_ts = h.sign(h.make_pdf(), kit.signer(ident))
    time.sleep(1.1)
    kit.revoke(ident, when=datetime.now(UTC))
    r = validate_pdf(with_ts, kit.online)
    assert _sig(r).indication == "TOTAL_PASSED", r.to_json()
    assert any(m.code == "REVOKED_AFTER_SIGNING" for m in _sig(r).messages)
    r = validate_pdf(without_ts, kit.online)
    assert (_sig(r).indication, _sig(r).subindication) == ("INDETERMINATE", "REVOKED_NO_POE"), r.to_json()


def test_expired_certificate(kit: Kit) -> None:
    now = datetime.now(UTC)
    ident = kit.identity(not_before=now - timedelta(days=10), not_after=now - timedelta(days=1))
    r = validate_pdf(h.sign(h.make_pdf(), kit.signer(ident)), kit.online)
    s = _sig(r)
    assert (s.integrity, s.indication, s.subindication) == (True, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"), r.to_json()


def test_past_time_validation_at(kit: Kit, signed_bt: bytes) -> None:
    before_ca = datetime.now(UTC) - timedelta(days=30)  # before the dev CA existed
    r = validate_pdf(signed_bt, ValidationPolicy(trust_anchors=kit.svc.ca.anchors(), at=before_ca))
    assert r.indication in ("INDETERMINATE", "TOTAL_FAILED") and _sig(r).integrity is True, r.to_json()
    assert r.validation_time.startswith((before_ca + timedelta(hours=7)).strftime("%Y-%m-%d"))


# ---- policy --------------------------------------------------------------------------------------------------
def test_untrusted_root(kit: Kit, signed_bt: bytes) -> None:
    other_root = kit.svc.ca.cert("tsa")  # any certificate that is not an ancestor
    r = validate_pdf(signed_bt, ValidationPolicy(trust_anchors=[other_root]))
    s = _sig(r)
    assert (s.integrity, s.modifications, s.coverage) == (True, "NONE", "ENTIRE_FILE")
    assert (s.indication, s.subindication) == ("INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND"), r.to_json()
    assert r.exit_code == 2


def test_wrong_key_usage(kit: Kit) -> None:
    ident = kit.identity("ocsp", cn="Not a signing certificate")  # digitalSignature only, OCSP-signing EKU
    r = validate_pdf(h.sign(h.make_pdf(), kit.signer(ident)), kit.online)
    s = _sig(r)
    assert s.integrity is True and s.indication == "INDETERMINATE", r.to_json()
    assert s.subindication == "SIG_CONSTRAINTS_FAILURE"  # docs/validation.md: the signer-certificate policy
    assert "SIGNER_EXTENDED_KEY_USAGE" in {m.code for m in s.messages}


def test_rsa_1024_rejected_by_algorithm_policy(kit: Kit) -> None:
    ident = kit.identity(key=rsa.generate_private_key(65537, 1024))
    r = validate_pdf(h.sign(h.make_pdf(), kit.signer(ident), tsa_url=kit.tsa), kit.online)
    s = _sig(r)
    assert (s.integrity, s.indication, s.subindication) == (True, "INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE")
    assert any(m.code == "WEAK_KEY" for m in s.messages)


def test_sha1_digest_rejected_by_algorithm_policy(kit: Kit, person: Any) -> None:
    r = validate_pdf(h.sign(h.make_pdf(), kit.signer(person), md="sha1"), kit.online)
    s = _sig(r)
    assert (s.integrity, s.digest_algorithm) == (True, "sha1")
    assert (s.indication, s.subindication) == ("INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE"), r.to_json()


def test_offline_without_revocation_data_is_try_later(kit: Kit, signed_bt: bytes) -> None:
    r = validate_pdf(signed_bt, kit.offline)
    assert (_sig(r).indication, _sig(r).subindication) == ("INDETERMINATE", "TRY_LATER"), r.to_json()


# ---- bad input -----------------------------------------------------------------------------------------------
def _unreadable(r: Any, code: str) -> None:
    assert r.readable is False and r.exit_code == 4 and r.indication == "INDETERMINATE", r.to_json()
    assert r.subindication == "FORMAT_FAILURE" and r.messages[0].code == code
    assert r.messages[0].vi and r.messages[0].en


def test_zero_length_truncated_non_pdf(kit: Kit, signed_bt: bytes) -> None:
    _unreadable(validate_pdf(b"", kit.online), "EMPTY_FILE")
    _unreadable(validate_pdf(b"PK\x03\x04 this is a zip, not a pdf" * 10, kit.online), "NOT_PDF")
    _unreadable(validate_pdf(signed_bt[: len(signed_bt) // 2], kit.online), "TRUNCATED")


def test_pdf_bomb_many_revisions_is_fast(kit: Kit) -> None:
    base = h.make_pdf()
    upd = b"".join(b"\n%d 0 obj\n<<>>\nendobj\nxref\n0 0\ntrailer\n<<>>\nstartxref\n0\n%%%%EOF\n" % (9000 + i)
                   for i in range(5000))
    t = time.monotonic()
    _unreadable(validate_pdf(base + upd, kit.online), "TOO_MANY_REVISIONS")
    assert time.monotonic() - t < 2


def test_pdf_bomb_deep_nesting_is_fast(kit: Kit) -> None:
    bomb = b"%PDF-1.7\n1 0 obj\n" + b"[" * 200_000 + b"]" * 200_000 + b"\nendobj\ntrailer<<>>\n%%EOF\n"
    t = time.monotonic()
    _unreadable(validate_pdf(bomb, kit.online), "NESTING_TOO_DEEP")
    assert time.monotonic() - t < 2


def test_garbage_contents(kit: Kit, signed_bt: bytes) -> None:
    start = signed_bt.index(b"/Contents <") + len(b"/Contents <")
    end = signed_bt.index(b">", start)
    garbage = os.urandom((end - start) // 2).hex().encode()
    r = validate_pdf(signed_bt[:start] + garbage + signed_bt[end:], kit.online)
    s = _sig(r)
    assert (s.integrity, s.indication, s.subindication) == (False, "TOTAL_FAILED", "FORMAT_FAILURE"), r.to_json()


def test_encrypted_pdf(kit: Kit) -> None:
    import pikepdf

    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(h.make_pdf())) as pdf:
        pdf.save(out, encryption=pikepdf.Encryption(owner="o", user="u", R=6))
    _unreadable(validate_pdf(out.getvalue(), kit.online), "ENCRYPTED")


def test_time_limit_yields_verdict(kit: Kit, signed_bt: bytes) -> None:
    from dataclasses import replace

    r = validate_pdf(h.replace_content(signed_bt), replace(kit.online, time_limit_s=0.001))
    _unreadable(r, "TIME_LIMIT")
