"""Benchmarks for docexchange.formats (interfaces.md): pooled LibreOffice vs cold soffice, text
normalization."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from docexchange.formats.office import OfficePool  # noqa: E402
from docexchange.formats.text import encode_tcvn3, encode_vni, normalize_field  # noqa: E402

PARAGRAPH = (
    "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015; căn cứ Nghị định số 30/2020/NĐ-CP "
    "ngày 05 tháng 3 năm 2020 của Chính phủ về công tác văn thư; xét đề nghị của Chánh Văn phòng "
    "Ủy ban nhân dân tỉnh, Ủy ban nhân dân tỉnh quyết định ban hành quy chế làm việc, "
    "tiếp nhận và xử lý văn bản điện tử."
)
PDFA2 = 'pdf:writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"2"}}'


def _docx(path: Path, pages: int = 3) -> None:
    from docx import Document
    from docx.enum.text import WD_BREAK
    from docx.shared import Pt

    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(13)
    for page in range(pages):
        doc.add_paragraph("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM").runs[0].bold = True
        for _ in range(7):
            doc.add_paragraph(PARAGRAPH)
        if page < pages - 1:
            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    doc.save(str(path))


def docx_pool_vs_cold(quick: bool) -> dict[str, object]:
    n = 4 if quick else 20
    work = Path(tempfile.mkdtemp(prefix="bench-formats-"))
    try:
        files = []
        for i in range(n):
            _docx(work / f"doc{i}.docx")
            files.append(work / f"doc{i}.docx")
        # Cold: one soffice process per file (profile created once beforehand, so each run is a cold process
        # with a warm profile, the cheaper case for the baseline).
        profile = work / "cold-profile"
        env = dict(os.environ, HOME=str(profile))
        cmd = ["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
               "--convert-to", PDFA2, "--outdir"]
        subprocess.run(cmd + [str(work / "warm"), str(files[0])], env=env, check=True, capture_output=True)
        cold_times = []
        for f in files:
            t0 = time.perf_counter()
            subprocess.run(cmd + [str(work / "cold"), str(f)], env=env, check=True, capture_output=True,
                           timeout=120)
            cold_times.append(time.perf_counter() - t0)
        # Pool: started once (timed separately), then the same files one at a time.
        t0 = time.perf_counter()
        pool = OfficePool(2)
        pool.warm()
        start_s = time.perf_counter() - t0
        pool_times = []
        try:
            (work / "pool").mkdir()
            for f in files:
                t0 = time.perf_counter()
                pool.convert(f, work / "pool" / (f.stem + ".pdf"), "docx")
                pool_times.append(time.perf_counter() - t0)
        finally:
            pool.close()
        for f in files:  # both produced a PDF for every file
            assert (work / "cold" / (f.stem + ".pdf")).stat().st_size > 0
            assert (work / "pool" / (f.stem + ".pdf")).stat().st_size > 0
        return {
            "name": "formats.docx_pool_vs_cold", "unit": "ratio",
            "value": round(sum(pool_times) / sum(cold_times), 3),
            "baseline": f"one cold `soffice --headless --convert-to` per file, same {n} three-page DOCX, "
                        "same run, one file at a time in both",
            "target": 0.4, "better": "lower", "files": n, "quick": quick,
            "pool_median_s": round(statistics.median(pool_times), 3),
            "cold_median_s": round(statistics.median(cold_times), 3),
            "pool_start_s": round(start_s, 3),
            "ratio_including_pool_start": round((sum(pool_times) + start_s) / sum(cold_times), 3),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def text_normalize_mb_s(quick: bool) -> dict[str, object]:
    sentences = [PARAGRAPH, "Cộng hòa xã hội chủ nghĩa Việt Nam - Độc lập - Tự do - Hạnh phúc",
                 "QUYẾT ĐỊNH Về việc ban hành quy chế tiếp nhận văn bản đến", "Số: 05/QĐ-UBND"]
    kinds = {
        "unicode": sentences,
        "nfd": [unicodedata.normalize("NFD", s) for s in sentences],
        "tcvn3": [encode_tcvn3(s) for s in sentences],
        "vni": [encode_vni(s) for s in sentences],
    }
    # Intake mix: mostly Unicode, a share of decomposed and legacy fields.
    weights = {"unicode": 6, "nfd": 1, "tcvn3": 2, "vni": 1}
    reps = 3 if quick else 7
    target_bytes = 1_000_000 if quick else 3_000_000
    corpus: list[str] = []
    for kind, w in weights.items():
        for s in kinds[kind] * w:
            corpus.append(s)
    total = sum(len(s.encode("utf-8")) for s in corpus)
    corpus = corpus * max(1, target_bytes // total)
    size = sum(len(s.encode("utf-8")) for s in corpus)

    def rate(fields: list[str]) -> float:
        nbytes = sum(len(s.encode("utf-8")) for s in fields)
        runs = []
        for _ in range(reps):
            t0 = time.perf_counter()
            for s in fields:
                normalize_field(s)
            runs.append(time.perf_counter() - t0)
        return nbytes / statistics.median(runs) / 1e6

    per_kind = {k: round(rate(v * 2000), 2) for k, v in kinds.items()}
    return {
        "name": "formats.text_normalize_mb_s", "unit": "MB/s", "value": round(rate(corpus), 2),
        "baseline": "one core; mix 60% Unicode NFC, 10% NFD, 20% TCVN3, 10% VNI metadata fields "
                    "(UTF-8 bytes)",
        "target": 1, "better": "higher", "corpus_mb": round(size / 1e6, 2),
        "per_kind_mb_s": per_kind, "quick": quick,
    }


def run(quick: bool = False) -> list[dict[str, object]]:
    return [docx_pool_vs_cold(quick), text_normalize_mb_s(quick)]


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv[1:]):
        print(json.dumps(row, ensure_ascii=False), flush=True)
