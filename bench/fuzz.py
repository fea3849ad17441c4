"""fuzz.*: the hostile-input targets of tests/hostile run for longer (random crafted case + byte mutations,
per target for ``--seconds`` each). One JSON line per target: failures (expected 0), cases run, worst time per
case and worst peak-RSS growth. A failure is an unhandled exception, a 5xx, a case past its time or memory
limit, or a TOTAL_PASSED verdict after a signed byte changed.

    python bench/fuzz.py [--quick] [--seconds N] [--seed S]
"""

from __future__ import annotations

import io
import json
import logging
import random
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LIMITS = {"edxml": (10.0, 300), "formats": (20.0, 400), "verify": (30.0, 400), "http": (30.0, 400)}


def _node(tmp: Path) -> tuple[Any, Any, str, Any]:
    """A throw-away node with the demo data, served on loopback for its TSA/OCSP/CRLs; plus its Flask app."""
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
    svc = Services(settings)
    init_node(svc, demo=True)
    app = create_app(settings)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    server = create_server(app, host="127.0.0.1", port=port, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    wait_http(f"{url}/healthz")
    return app, svc, url, server


def _loop(target: str, seconds: float, rng: random.Random, one: Callable[[random.Random], None]) -> dict[str, Any]:
    from tests.hostile._guard import STATS, CaseTimeout, Stats

    STATS[target] = stats = Stats()
    lim_s, lim_mib = LIMITS[target]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        seed = rng.randrange(2**32)
        try:
            one(random.Random(seed))
        except (AssertionError, CaseTimeout, Exception) as exc:  # every escape is a failure, with its seed
            stats.failures += 1
            if len(stats.failure_examples) < 5:
                stats.failure_examples.append(f"seed={seed}: {type(exc).__name__}: {exc}"[:300])
                logging.getLogger("fuzz").debug("%s", traceback.format_exc())
    return {"name": f"fuzz.{target}_failures", "unit": "count", "value": stats.failures, "baseline": 0,
            "target": 0, "better": "lower", "cases": stats.cases, "seconds": seconds,
            "worst_seconds": round(stats.worst_seconds, 3),
            "worst_rss_growth_mib": round(stats.worst_rss_growth_kib / 1024, 1),
            "limit_seconds": lim_s, "limit_rss_growth_mib": lim_mib, "failure_examples": stats.failure_examples}


def run(quick: bool = False, seconds: float | None = None, seed: int = 20261123) -> list[dict[str, Any]]:
    """``seconds`` per target (default 8 quick, 120 full)."""
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    logging.getLogger("docexchange").setLevel(logging.CRITICAL)
    from docexchange.axis.edxml import parse_package
    from docexchange.errors import DomainError
    from docexchange.formats.documents import normalize_document
    from docexchange.signing.validation import ValidationPolicy, validate_pdf
    from tests.conftest import login
    from tests.hostile import _corpus as C
    from tests.hostile._guard import bounded
    from tests.validation import helpers as h

    per = seconds if seconds is not None else (8.0 if quick else 120.0)
    rng = random.Random(seed)
    edxml = C.edxml_cases()
    edxml.pop("zip_bomb_attachment")  # 5 s to build; the tests run it once
    pdfs = C.pdf_cases()
    cache: dict[str, Any] = {}

    def built(kind: str, name: str) -> Any:
        key = f"{kind}:{name}"
        if key not in cache:
            cache[key] = (edxml if kind == "edxml" else pdfs)[name]()
        return cache[key]

    def pick(r: random.Random, kind: str, names: list[str]) -> Any:
        name = r.choice(names)
        data = built(kind, name)
        return name, data

    rows: list[dict[str, Any]] = []

    def edxml_case(r: random.Random) -> None:
        _, data = pick(r, "edxml", sorted(edxml))
        data = C.mutate(data, r.randrange(2**32), rounds=r.randint(1, 8)) if r.random() < 0.8 else data
        with bounded("edxml", *LIMITS["edxml"]):
            pkg = parse_package(data)
        json.dumps(pkg.normalized)
        assert all(i.code and i.message and i.message_vi for i in pkg.issues)
        assert "root:x:0:0" not in json.dumps(pkg.normalized)

    rows.append(_loop("edxml", per, rng, edxml_case))

    fmt_names = sorted(n for n in pdfs if not n.startswith("zip_bomb"))  # the 64 MB bombs: once, below
    with tempfile.TemporaryDirectory(prefix="dx-fuzz-") as d:
        tmp = Path(d)

        def formats_case(r: random.Random) -> None:
            name, (data, filename) = pick(r, "pdf", fmt_names if r.random() < 0.95 else sorted(pdfs))
            if r.random() < 0.8 and not name.startswith("zip"):
                data = C.mutate(data, r.randrange(2**32), rounds=r.randint(1, 8))
            out = Path(tempfile.mkdtemp(dir=tmp))
            try:
                with bounded("formats", *LIMITS["formats"]):
                    res = normalize_document(data, filename, out_dir=out)
                assert [p.name for p in out.iterdir()] == [res.pdf_path.name]
            except DomainError as exc:
                assert exc.en and exc.vi and exc.code
                assert list(out.iterdir()) == []

        rows.append(_loop("formats", per, rng, formats_case))

        app, svc, url, server = _node(tmp / "node")
        try:
            anchors = svc.ca.anchors()
            from pyhanko_certvalidator import ValidationContext

            with svc.db.transaction() as s:
                seal = svc.ca.issue(s, kind="seal", issuer="gov-int", common_name="Văn phòng Fuzz")
            vc = ValidationContext(trust_roots=[h.asn1_cert(c) for c in anchors], allow_fetching=True,
                                   revocation_mode="hard-fail")
            signed = h.sign(h.make_pdf(2), h.signer_for(seal.key, seal.cert, list(seal.chain)),
                            tsa_url=f"{url}/pki/tsa", lt_context=vc)
            policy = ValidationPolicy(trust_anchors=anchors, offline=True, visual_check=False)
            assert validate_pdf(signed, policy).indication == "TOTAL_PASSED"
            import re

            m = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", signed)
            assert m is not None
            a, b, c, dd = (int(x) for x in m.groups())

            def verify_case(r: random.Random) -> None:
                buf = bytearray(signed)
                if r.random() < 0.5:  # one signed byte changed: must never pass
                    k = r.randrange(b + dd)
                    pos = a + k if k < b else c + (k - b)
                    buf[pos] = (buf[pos] + r.randint(1, 255)) % 256
                    must_fail = True
                else:
                    buf = bytearray(C.mutate(signed, r.randrange(2**32), rounds=r.randint(1, 8)))
                    must_fail = False
                with bounded("verify", *LIMITS["verify"]):
                    rep = validate_pdf(bytes(buf), policy, name="fuzz.pdf")
                json.loads(rep.to_json())
                if must_fail:
                    assert rep.indication != "TOTAL_PASSED", "changed signed byte passed"

            rows.append(_loop("verify", per, rng, verify_case))

            client = app.test_client()
            pw = svc.secrets["demo_password"]
            tok = login(client, "nghean.vanthu", pw)

            def http_case(r: random.Random) -> None:
                name, (data, filename) = pick(r, "pdf", fmt_names)
                if r.random() < 0.7:
                    data = C.mutate(data, r.randrange(2**32), rounds=r.randint(1, 8))
                path = r.choice(["/api/v1/documents", "/api/v1/verify?offline=1"])
                form: dict[str, Any] = {"file": (io.BytesIO(data), filename)}
                if path == "/api/v1/documents":
                    form |= {"type_name": "Công văn", "subject": "Fuzz", "signer": "nghean.lanhdao"}
                with bounded("http", *LIMITS["http"]):
                    resp = client.post(path, headers=tok, data=form, content_type="multipart/form-data")
                assert resp.status_code < 500, (resp.status_code, resp.get_data(as_text=True)[:200])
                if resp.status_code >= 400:
                    p = resp.get_json()
                    assert p["code"] and p["detail_vi"], p

            rows.append(_loop("http", per, rng, http_case))
        finally:
            server.close()
            svc.db.dispose()
    return rows


if __name__ == "__main__":
    args = sys.argv[1:]
    secs = float(args[args.index("--seconds") + 1]) if "--seconds" in args else None
    s = int(args[args.index("--seed") + 1]) if "--seed" in args else 20261123
    for row in run(quick="--quick" in args, seconds=secs, seed=s):
        print(json.dumps(row, ensure_ascii=False))
