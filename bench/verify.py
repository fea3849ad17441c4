"""verify.report_vs_pyhanko: our full report on a 2-signature B-LT PDF (offline, nothing changed after signing),
as the services get it (the analysis in a pooled worker process, docs/validation.md "Time limit"), ÷ pyHanko
``validate_pdf_signature`` on the same signatures in the same run (``in_process_ms``: the engine without the
worker); plus the time of a report that needs
the visual comparison (10-page document, one annotation added after signing)."""

from __future__ import annotations

import io
import json
import logging
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _node(tmp: Path) -> tuple[Any, str, Any]:
    """A throw-away node (dev PKI only) served on a loopback port for the TSA, OCSP and CRLs."""
    from waitress.server import create_server

    from docexchange.app import create_app
    from docexchange.config import Settings
    from docexchange.seed import init_node
    from docexchange.services import Services
    from tests.conftest import free_port, wait_http

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings.from_env(instance_dir=tmp, database_url=f"sqlite:///{tmp / 'node.db'}", blob_dir=tmp / "blobs",
                                 certs_dir=tmp / "certs", public_url=url, secret_key="bench")
    init_node(Services(settings), demo=False)
    app = create_app(settings)
    server = create_server(app, host="127.0.0.1", port=port, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    wait_http(f"{url}/healthz")
    return app.extensions["docexchange"], url, server


def _median_ms(fn: Any, reps: int) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def run(quick: bool = False) -> list[dict[str, Any]]:
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    from pyhanko_certvalidator import ValidationContext

    from docexchange.signing.validation import ValidationPolicy, bounded, validate_pdf
    from tests.validation import helpers as h

    reps = 15 if quick else 40
    with tempfile.TemporaryDirectory(prefix="dx-bench-verify-") as d:
        svc, url, server = _node(Path(d))
        try:
            anchors = svc.ca.anchors()
            roots = [h.asn1_cert(c) for c in anchors]
            lt_vc = ValidationContext(trust_roots=roots, allow_fetching=True, revocation_mode="hard-fail")
            with svc.db.transaction() as s:
                person = svc.ca.issue(s, kind="person", issuer="gov-int", common_name="Nguyễn Văn Đo")
                seal = svc.ca.issue(s, kind="seal", issuer="gov-int", common_name="Văn phòng Đo Hiệu Năng")
            tsa = f"{url}/pki/tsa"
            one = h.sign(h.make_pdf(2), h.signer_for(person.key, person.cert, list(person.chain)), field="Sig1",
                         tsa_url=tsa, lt_context=lt_vc)
            two = h.sign(one, h.signer_for(seal.key, seal.cert, list(seal.chain)), field="Seal", tsa_url=tsa,
                         lt_context=lt_vc)
            policy = ValidationPolicy(trust_anchors=anchors, offline=True)

            def ours() -> None:
                r = validate_pdf(two, policy)
                assert r.indication == "TOTAL_PASSED", r.to_json()

            def stock() -> None:
                reader = PdfFileReader(io.BytesIO(two))
                vc = DocumentSecurityStore.read_dss(reader).as_validation_context(
                    {"trust_roots": roots, "allow_fetching": False, "revocation_mode": "hard-fail"})
                for sig in reader.embedded_signatures:
                    st = validate_pdf_signature(sig, signer_validation_context=vc)
                    assert st.bottom_line, st.summary()

            def ours_in_process() -> None:  # the engine without the worker process (pool overhead = ours - this)
                with bounded.in_process():
                    ours()

            ours()
            stock()
            ours_in_process()
            a, b, c = [], [], []
            for _ in range(reps):  # interleaved so that machine noise hits all alike
                a.append(_median_ms(ours, 1))
                b.append(_median_ms(stock, 1))
                c.append(_median_ms(ours_in_process, 1))
            ours_ms, stock_ms, inline_ms = statistics.median(a), statistics.median(b), statistics.median(c)

            ten = h.sign(h.make_pdf(10), h.signer_for(person.key, person.cert, list(person.chain)), tsa_url=tsa)
            annotated = h.add_overlay_annotation(ten)
            online = ValidationPolicy(trust_anchors=anchors)

            def visual() -> None:
                r = validate_pdf(annotated, online)
                assert r.signatures[0].visual_changes, r.to_json()

            visual()
            visual_ms = _median_ms(visual, max(3, reps // 4))
            no_visual_ms = _median_ms(lambda: validate_pdf(ten, online), max(3, reps // 4))
        finally:
            server.close()
    return [
        {"name": "verify.report_vs_pyhanko", "unit": "ratio", "value": round(ours_ms / stock_ms, 3),
         "baseline": "pyhanko validate_pdf_signature on the same 2 B-LT signatures (DSS revinfo, offline), same run",
         "target": 1.3, "better": "lower", "ours_ms": round(ours_ms, 2), "pyhanko_ms": round(stock_ms, 2),
         "in_process_ms": round(inline_ms, 2), "repetitions": reps,
         "note": "ours = validate_pdf as the services call it (analysis in a pooled worker process, killed at the "
                 "time limit); in_process_ms = the same engine run in the calling thread (bounded.in_process())"},
        {"name": "verify.visual_10_pages_ms", "unit": "ms", "value": round(visual_ms, 1),
         "baseline": "same 10-page B-T file without the annotation (no rendering needed)",
         "baseline_ms": round(no_visual_ms, 1), "target": None, "better": "lower"},
    ]


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(json.dumps(row, ensure_ascii=False))
