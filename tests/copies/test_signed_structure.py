"""Done-when of issue 6 against the live node (real HTTP, so NSS can reach the node's OCSP responder): a copy
certified by the service is valid and trusted in poppler's ``pdfsig`` and TOTAL_PASSED in the validation
engine, both signatures cover the attestation (it is inside the first signed revision), and the public page
over HTTP shows the copy valid, then annulled."""

from __future__ import annotations

import io
import json
import urllib.request
from pathlib import Path

import pikepdf
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import select

from docexchange.auth import principal_for_user
from docexchange.copies import service
from docexchange.copies.engine import deps_for, validator_for
from docexchange.models import User
from tests.conftest import pdfsig

from .conftest import REQUEST, jpeg


def test_certified_copy_is_valid_in_pdfsig_and_the_engine(live_node, nss_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    svc = live_node.services
    deps = deps_for(svc)
    with svc.db.transaction() as s:
        user = s.execute(select(User).where(User.username == "nghiphu.chungthuc")).scalar_one()
        p = principal_for_user(s, user, "certifier")
    row = service.certify(svc.db, deps, p, service.CopyRequest(**REQUEST),  # type: ignore[arg-type]
                          [service.Upload("a.jpg", io.BytesIO(jpeg(seed=3))), service.Upload("b.jpg",
                                                                                          io.BytesIO(jpeg(seed=4)))],
                          pin=live_node.demo_pin, seal_pin=live_node.demo_pin)
    data = svc.blobs.get_bytes(row.pdf_sha256)
    out = tmp_path / "copy.pdf"
    out.write_bytes(data)

    report = pdfsig(nss_db, out)
    assert report.count("Signature is Valid") == 2, report
    assert report.count("Certificate is Trusted") == 2, report
    assert "Hoàng Thị Mỹ Linh" in report and "Ủy ban nhân dân xã Nghi Phú" in report

    verdict = validator_for(svc)(out)
    assert verdict["indication"] == "TOTAL_PASSED", verdict
    assert [s["indication"] for s in verdict["signatures"]] == ["TOTAL_PASSED", "TOTAL_PASSED"]
    # after the personal signature only the seal's form filling was added; after the seal only B-LT data (DSS)
    assert [(s["field"], s["level"], s["coverage"], s["modifications"]) for s in verdict["signatures"]] == [
        ("Person1", "B-LT", "ENTIRE_REVISION", "FORM_FILLING"), ("Seal1", "B-LT", "ENTIRE_REVISION", "LTA_UPDATES")]

    # the attestation is covered: it is already in the revision the FIRST signature signs, byte-identical to
    # the final file's, and it is the row's attestation
    first = PdfFileReader(io.BytesIO(data)).embedded_signatures[0]
    br = list(first.byte_range)
    signed_revision = data[:br[2] + br[3]]
    with pikepdf.open(io.BytesIO(signed_revision)) as rev, pikepdf.open(out) as final:
        signed_att = rev.attachments["attestation.json"].get_file().read_bytes()
        assert final.attachments["attestation.json"].get_file().read_bytes() == signed_att
        assert len(rev.pages) == len(final.pages) == 3
    att = json.loads(signed_att)
    assert att == json.loads(row.attestation) and att["code"] == row.code

    # the public page over HTTP: valid, then annulled (read from the database on each request)
    url = f"{live_node.url}/verify/copy/{row.code}"
    with urllib.request.urlopen(url, timeout=30) as resp:
        html = resp.read().decode()
    assert "Bản sao có hiệu lực" in html and "Kết quả: hợp lệ" in html and "ĐÃ HỦY BỎ" not in html
    service.annul(svc.db, deps, p, row.code, "Chứng thực nhầm, bản chính bị tẩy xóa")
    with urllib.request.urlopen(url, timeout=30) as resp:
        html = resp.read().decode()
    assert "ĐÃ HỦY BỎ" in html and "bản chính bị tẩy xóa" in html and "Bản sao có hiệu lực" not in html
