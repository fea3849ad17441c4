"""``docexchange copies certify|refuse|annul|book`` against a node's database (batch use)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from docexchange.cli import main

from .conftest import jpeg


@pytest.fixture
def env(node, svc, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    st = svc.settings
    for name, value in (("INSTANCE_DIR", st.instance_dir), ("DATABASE_URL", st.database_url),
                        ("BLOB_DIR", st.blob_dir), ("CERTS_DIR", st.certs_dir), ("PUBLIC_URL", st.public_url)):
        monkeypatch.setenv(f"DOCEXCHANGE_{name}", str(value))
    monkeypatch.setenv("CERT_PIN", svc.secrets["demo_pin"])


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_cli_certify_batch_book_annul(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.jpg").write_bytes(jpeg(seed=1))
    (tmp_path / "b.jpg").write_bytes(jpeg(seed=2))
    (tmp_path / "low.jpg").write_bytes(jpeg(dpi=120))
    runner = CliRunner()
    one = runner.invoke(main, ["copies", "certify", "--as", "nghiphu.chungthuc", "--requester-name", "Trần Văn An",
                               "--requester-id", "040190009999", "--original-type", "Bằng tốt nghiệp THPT",
                               "--issuer", "Sở Giáo dục và Đào tạo Nghệ An", "--pages", "1", "--scan",
                               str(tmp_path / "a.jpg"), "--key", "cli-1", "--pin-env", "CERT_PIN",
                               "--seal-pin-env", "CERT_PIN",
                               "-o", str(tmp_path / "out")])
    assert one.exit_code == 0, one.output
    rec = json.loads(one.output)
    assert rec["number"] == "01" and rec["fee_vnd"] == 2000 and Path(rec["file"]).is_file()
    # the certified copy verifies with the validation engine's CLI (interfaces.md: exit 0 = TOTAL_PASSED)
    verify = runner.invoke(main, ["verify", rec["file"], "--json"])
    assert verify.exit_code == 0, verify.output
    report = json.loads(verify.output)
    assert report["indication"] == "TOTAL_PASSED" and len(report["signatures"]) == 2
    assert {s["signer"]["common_name"] for s in report["signatures"]} == {"Hoàng Thị Mỹ Linh",
                                                                         "Ủy ban nhân dân xã Nghi Phú"}
    (tmp_path / "batch.csv").write_text(
        "requester_name,requester_id,original_type,issuer,number,issue_date,pages,copies,scan,key\n"
        "Lê Thị Bình,040190001111,Giấy khai sinh,UBND xã Nghi Phú,12,2000-01-02,2,1,a.jpg;b.jpg,b-1\n"
        "Lê Thị Bình,040190001111,Sổ hộ khẩu,Công an huyện,,,3,1,low.jpg,b-2\n"
        "Trần Văn An,040190009999,Bằng tốt nghiệp THPT,Sở GD&ĐT Nghệ An,,,1,1,a.jpg,cli-1\n", encoding="utf-8")
    batch = runner.invoke(main, ["copies", "certify", "--as", "nghiphu.chungthuc", "--batch",
                                 str(tmp_path / "batch.csv"), "--pin-env", "CERT_PIN", "--seal-pin-env", "CERT_PIN"])
    assert batch.exit_code == 1
    lines = [json.loads(x) for x in batch.output.strip().splitlines()]
    assert [(x["line"], x["ok"]) for x in lines] == [(2, True), (3, False), (4, True)]
    assert lines[0]["number"] == "02" and lines[1]["error"]["code"] == "scan_low_dpi"
    assert lines[2]["number"] == "01" and lines[2]["id"] == rec["id"]  # same key: the same certificate
    book = runner.invoke(main, ["copies", "book", "--as", "nghiphu.chungthuc", "--year", str(rec["year"]),
                                "--month", rec["date"][5:7], "-o", str(tmp_path / "book.pdf")])
    assert book.exit_code == 0 and book.output.startswith("2 entries")
    assert (tmp_path / "book.pdf").read_bytes().startswith(b"%PDF-")
    ok = runner.invoke(main, ["copies", "annul", "--as", "nghiphu.chungthuc", rec["code"], "--reason", "nhầm bản"])
    assert ok.exit_code == 0 and json.loads(ok.output)["status"] == "annulled"
    twice = runner.invoke(main, ["copies", "annul", "--as", "nghiphu.chungthuc", rec["code"],
                                 "--reason", "nhầm lần hai"])
    assert twice.exit_code == 4 and "already_annulled" in twice.output
    refused = runner.invoke(main, ["copies", "refuse", "--as", "nghiphu.chungthuc", "--requester-name", "X Y",
                                   "--requester-id", "040190001111", "--original-type", "Đơn", "--issuer", "Tự lập",
                                   "--pages", "1"])
    assert refused.exit_code == 4 and "refusal_ground_required" in refused.output
    not_certifier = runner.invoke(main, ["copies", "book", "--as", "nghiphu.vanthu", "--year", "2026", "--month",
                                         "1", "-o", str(tmp_path / "x.pdf")])
    assert not_certifier.exit_code == 2
