"""The unmodified VNPT VDXP SDK against a docexchange hub, and EdXML102 against docexchange's edXML codec.

Every SDK call must answer ErrorCode "0" with no exception inside the SDK (it prints stack traces and returns null
when an answer does not fit it), and a downloaded package must be byte for byte what was sent."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from docexchange.axis.edxml import (
    Attachment,
    EdocMessage,
    Organ,
    ResponseFor,
    StaffInfo,
    StatusMessage,
    build_edoc,
    build_status,
    parse_package,
)
from tests.hub._hubutil import HubProcess, next_code
from tests.interop.conftest import Driver, DriverRun, vdxp_credentials

VN = timezone(timedelta(hours=7))
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
APPENDIX = b"%PDF-1.4\nphu luc " + bytes(range(256)) * 40 + b"\n%%EOF\n"


def docexchange_package(sender: str, recipient: str, document_id: str) -> tuple[bytes, EdocMessage]:
    msg = EdocMessage(
        sender=Organ(sender, "Sở Nội vụ tỉnh Nghệ An", address="Số 3 Trường Thi, Vinh", email="snv@nghean.gov.vn",
                     telephone="02383840418"),
        recipients=[Organ(recipient, "UBND huyện Nam Đàn")],
        code_number="215",
        code_notation="SNV-VP",
        promulgation_date=date(2026, 12, 4),
        subject="Về việc thử nghiệm liên thông qua trục VDXP",
        type_code=1,
        type_name="Công văn",
        signer_position="Phó Giám đốc",
        signer_full_name="Nguyễn Văn Ánh",
        signer_competence="KT. GIÁM ĐỐC",
        promulgation_place="Nghệ An",
        document_id=document_id,
        attachments=[
            Attachment("215_SNV-VP.pdf", "application/pdf", PDF, description="Văn bản chính"),
            Attachment("phu-luc.pdf", "application/pdf", APPENDIX, description="Phụ lục", zip_payload=True),
        ],
    )
    return build_edoc(msg), msg


def status_package(sender: str, original_sender: str, document_id: str) -> bytes:
    return build_status(StatusMessage(
        sender=Organ(sender, "UBND huyện Nam Đàn"),
        response_for=ResponseFor(organ_id=original_sender, code="215/SNV-VP", promulgation_date=date(2026, 12, 4),
                                 document_id=document_id),
        status_code="01", timestamp=datetime(2026, 12, 4, 9, 30, tzinfo=VN), description="Đã đến",
        staff=StaffInfo(department="Văn thư", staff="Trần Thị Bình")))


def clean(run: DriverRun) -> None:
    """No exception inside the SDK (it catches them and prints the stack trace) and no null result."""
    assert "Exception" not in run.stderr and "Exception" not in run.stdout, run.stderr[-3000:] + run.stdout[-3000:]
    for r in run.results:
        assert "driverError" not in r, r
        assert r.get("isNull") is False, r


def ok(r: dict[str, object]) -> None:
    assert (r["ErrorCode"], r["status"]) == ("0", "OK"), r


@pytest.fixture(scope="module")
def agencies(vdxp_hub: HubProcess) -> dict[str, tuple[str, str, str]]:
    out = {}
    for role, name in (("sender", "Sở Nội vụ tỉnh Nghệ An"), ("recipient", "UBND huyện Nam Đàn")):
        code = next_code("H41")
        vdxp_hub.register(code, name)
        out[role] = (code, *vdxp_credentials(vdxp_hub, code))
    return out


def endpoint(hub: HubProcess) -> str:
    return hub.url + "/XrdAdapter/adapter"


@pytest.mark.parametrize("builder", ["docexchange", "edxml102"])
def test_sdk_full_cycle(builder: str, driver: Driver, vdxp_hub: HubProcess, agencies: dict[str, tuple[str, str, str]],
                        tmp_path: Path) -> None:
    a_code, a_sys, a_secret = agencies["sender"]
    b_code, b_sys, b_secret = agencies["recipient"]
    document_id = f"{a_code},2026/12/04,{builder}-{tmp_path.name}/SNV-VP"
    package = tmp_path / "out.edxml"
    if builder == "docexchange":
        package.write_bytes(docexchange_package(a_code, b_code, document_id)[0])
    else:
        main = tmp_path / "vanban.pdf"
        main.write_bytes(PDF)
        built = driver.run([["edxml-build", str(tmp_path / "built"), a_code, b_code, document_id, str(main)]])
        clean_build = built.one("edxml-build")
        assert "driverError" not in clean_build, clean_build
        package = Path(clean_build["path"])
    sent_bytes = package.read_bytes()

    # the sender: directory, send, delivery report (one SDK service object for the whole run, like BKAV's)
    run = driver.run([["agencies"], ["sync"], ["send", str(package), a_code, b_code, "edoc"], ["sent"]],
                     endpoint(vdxp_hub), a_sys, a_secret, tmp_path / "a-store")
    clean(run)
    for op in ("agencies", "sync", "send", "sent"):
        ok(run.one(op))
    codes = {r["code"]: r for r in run.one("agencies")["rows"]}
    assert {a_code, b_code} <= codes.keys()
    assert codes[b_code]["name"] == "UBND huyện Nam Đàn" and codes[b_code]["pid"] == "" and codes[b_code]["mail"] == ""
    unit = next(r for r in run.one("sync")["rows"] if r["code"] == a_code)
    assert unit["deleted"] is False and unit["isAgency"] is True and unit["version"] > 0 and unit["modifyDate"]
    doc_id = run.one("send")["DocId"]
    assert doc_id
    row = next(r for r in run.one("sent")["rows"] if r["senderDocId"] == doc_id)
    assert (row["fromCode"], row["toCode"], row["serviceType"]) == (a_code, b_code, "eDoc")
    expected_title = ("Về việc thử nghiệm liên thông qua trục VDXP" if builder == "docexchange"
                      else "V/v thử nghiệm liên thông EdXML102")
    assert row["title"] == expected_title
    assert row["notation"] == ("215/SNV-VP")

    # the recipient: list, download, acknowledge, answer with a status package
    status_file = tmp_path / "status.edxml"
    status_file.write_bytes(status_package(b_code, a_code, document_id))
    run = driver.run([["received", "edoc"], ["get", doc_id, str(tmp_path / "b-files")], ["ack", doc_id, "done"],
                      ["send", str(status_file), b_code, a_code, "status"], ["received", "edoc"]],
                     endpoint(vdxp_hub), b_sys, b_secret, tmp_path / "b-store")
    clean(run)
    listed, after = (r for r in run.results if r["op"] == "received")
    ok(listed)
    item = next(r for r in listed["rows"] if r["docId"] == doc_id)
    assert (item["from"], item["to"], item["messageType"], item["serviceType"]) == (a_code, b_code, "edoc", "eDoc")
    got = run.one("get")
    ok(got)
    assert Path(got["filePath"]).read_bytes() == sent_bytes
    ok(run.one("ack"))
    ok(run.one("send"))
    assert doc_id not in {r["docId"] for r in after["rows"]}
    status_doc = run.one("send")["DocId"]

    # the sender gets the status back and acknowledges it; its report shows the recipient's "done"
    run = driver.run([["received", "status"], ["get", status_doc, str(tmp_path / "a-files")],
                      ["ack", status_doc, "done"], ["sent"]],
                     endpoint(vdxp_hub), a_sys, a_secret, tmp_path / "a-store")
    clean(run)
    listed = run.one("received")
    ok(listed)
    assert {r["docId"]: r["messageType"] for r in listed["rows"]}[status_doc] == "status"
    ok(run.one("get"))
    assert Path(run.one("get")["filePath"]).read_bytes() == status_file.read_bytes()
    ok(run.one("ack"))
    row = next(r for r in run.one("sent")["rows"] if r["senderDocId"] == doc_id)
    assert row["receiveStatus"] == "done"


def test_sdk_at_root_and_error_answers(driver: Driver, vdxp_hub: HubProcess,
                                       agencies: dict[str, tuple[str, str, str]], tmp_path: Path) -> None:
    """The root path works too (dispatched by the XroadVnpt headers), and refusals reach the SDK as answers with a
    non-zero ErrorCode, never as an exception inside it."""
    a_code, a_sys, a_secret = agencies["sender"]
    b_code = agencies["recipient"][0]
    forged = tmp_path / "forged.edxml"
    forged.write_bytes(docexchange_package(b_code, a_code, f"{b_code},2026/12/04,9/X")[0])  # From is not A
    run = driver.run([["agencies"], ["get", "no-such-doc", str(tmp_path)],
                      ["send", str(forged), a_code, a_code, "edoc"], ["ack", "no-such-doc", "done"]],
                     vdxp_hub.url, a_sys, a_secret, tmp_path / "store")
    clean(run)
    ok(run.one("agencies"))
    assert run.one("get")["ErrorCode"] == "404" and run.one("get")["status"] == "FAIL"
    assert run.one("send")["ErrorCode"] == "403" and run.one("send")["DocId"] == ""
    assert "From" in run.one("send")["ErrorDesc"]  # the refusal names the package sender
    assert run.one("ack")["ErrorCode"] == "404"

    # a wrong secret: 401 as an answer
    bad = driver.run([["agencies"]], vdxp_hub.url, a_sys, "not-the-secret", tmp_path / "store")
    clean(bad)
    assert bad.one("agencies")["ErrorCode"] == "401"


def test_edxml102_reads_docexchange_packages(driver: Driver, tmp_path: Path) -> None:
    package, msg = docexchange_package("000.00.00.H41", "000.00.12.H41", "000.00.00.H41,2026/12/04,215/SNV-VP")
    path = tmp_path / "dx.edxml"
    path.write_bytes(package)
    run = driver.run([["edxml-parse", str(path)]])
    got = run.one("edxml-parse")
    assert "driverError" not in got, got
    assert got["from"] == {"organId": "000.00.00.H41", "organName": "Sở Nội vụ tỉnh Nghệ An",
                           "organizationInCharge": got["from"]["organizationInCharge"],
                           "organAdd": "Số 3 Trường Thi, Vinh", "email": "snv@nghean.gov.vn",
                           "telephone": "02383840418"}
    assert [t["organId"] for t in got["to"]] == ["000.00.12.H41"]
    assert got["to"][0]["organName"] == "UBND huyện Nam Đàn"
    assert (got["codeNumber"], got["codeNotation"]) == ("215", "SNV-VP")
    assert (got["place"], got["promulgationDate"]) == ("Nghệ An", "2026/12/04")
    assert (got["type"], got["typeName"]) == (1, "Công văn")
    assert got["subject"] == msg.subject
    assert (got["signerCompetence"], got["signerPosition"], got["signerFullName"]) == (
        "KT. GIÁM ĐỐC", "Phó Giám đốc", "Nguyễn Văn Ánh")
    assert got["documentId"] == "000.00.00.H41,2026/12/04,215/SNV-VP"
    assert got["bussinessDocType"] == "0"
    atts = got["attachments"]
    assert [a["sha256"] for a in atts] == [hashlib.sha256(PDF).hexdigest(), hashlib.sha256(APPENDIX).hexdigest()]
    assert atts[0]["name"] == "215_SNV-VP.pdf" and atts[0]["contentType"] == "application/pdf"
    assert atts[1]["contentType"] == "application/zip"  # unzipped by EdXML102 because it is labelled so


def test_docexchange_reads_edxml102_packages(driver: Driver, tmp_path: Path) -> None:
    main = tmp_path / "vanban.pdf"
    main.write_bytes(PDF)
    run = driver.run([["edxml-build", str(tmp_path / "out"), "000.00.00.H41", "000.00.12.H41",
                       "000.00.00.H41,2026/12/04,215/SNV-VP", str(main)]])
    built = run.one("edxml-build")
    assert "driverError" not in built, built
    parsed = parse_package(Path(built["path"]))
    assert parsed.readable, parsed.errors
    m = parsed.message
    assert isinstance(m, EdocMessage)
    assert m.sender.organ_id == "000.00.00.H41" and m.sender.organ_name == "Sở Nội vụ thử nghiệm"
    assert [r.organ_id for r in m.recipients] == ["000.00.12.H41"]
    assert (m.code_number, m.code_notation, m.subject) == ("215", "SNV-VP", "V/v thử nghiệm liên thông EdXML102")
    assert m.document_id == "000.00.00.H41,2026/12/04,215/SNV-VP"
    assert (m.signer_full_name, m.signer_competence) == ("Nguyễn Văn Thử", "KT. GIÁM ĐỐC")
    assert m.promulgation_date == date(2026, 12, 4)
    assert [a.sha256 for a in parsed.attachments] == [built["attachmentSha256"]]
    assert parsed.attachments[0].is_pdf


def test_zipped_attachment_is_labelled_zip() -> None:
    """Issue 19 §3: a zipped payload travels as application/zip (EdXML102 unzips only that), not as the PDF's
    own type; docexchange still unzips it and sees the PDF."""
    package, _ = docexchange_package("000.00.00.H41", "000.00.12.H41", "000.00.00.H41,2026/12/04,1/X")
    text = package.decode()
    assert text.count("<edXML:ContentType>application/zip</edXML:ContentType>") + text.count(
        "<ContentType>application/zip</ContentType>") >= 1
    parsed = parse_package(package)
    zipped = [a for a in parsed.attachments if a.zipped]
    assert len(zipped) == 1 and zipped[0].is_pdf and zipped[0].sha256 == hashlib.sha256(APPENDIX).hexdigest()
