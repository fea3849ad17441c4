"""Signing benchmarks (names and definitions in interfaces.md):

- sign.visible_bt_vs_stock: our visible ``person`` B-T signature of a 1-page PDF ÷ stock pyhanko (SimpleSigner.load
  per call, TextStampStyle with a TTF font, stock DummyTimeStamper);
- sign.visible_bt_vs_floor: the same ÷ bare pyhanko invisible B-T (cached signer key, reserved bytes, the same
  in-process TSA object as ours);
- sign.large_rss_ratio: peak RSS growth signing a generated 100 MB PDF (in a subprocess) ÷ (64 MB + 10 % of size);
- sign.large_time_vs_hash: time to sign that PDF ÷ (SHA-256 of the file + one bare signature).

Our side does everything a real signing act does: pre-signing validity + OCSP check (answered in-process by the dev
CA's responder, as the node would over HTTP), the appearance, CAdES signer role attribute, B-T time-stamp."""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

FONT = "/usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf"


class _Env:
    def __init__(self, root: Path) -> None:
        from cryptography.hazmat.primitives import serialization

        from docexchange.db import Database
        from docexchange.demo_images import signature_png
        from docexchange.migrate import upgrade
        from docexchange.pki.ca import DevCA
        from docexchange.pki.keys import write_pkcs12
        from docexchange.pki.responders import TimeStampAuthority, build_ocsp_response

        url = f"sqlite:///{root / 'bench.db'}"
        upgrade(url)
        self.db = Database(url)
        self.ca = DevCA(root / "certs", b"bench-ca", "http://127.0.0.1:9")
        with self.db.transaction() as s:
            self.ca.init(s)
            ident = self.ca.issue(s, kind="person", issuer="gov-int", common_name="Trần Thị Hằng",
                                  organization="Bộ Nội vụ", title="Thứ trưởng")
        self.ident = ident
        self.p12 = root / "person.p12"
        write_pkcs12(self.p12, ident.key, ident.cert, list(ident.chain), b"1234")
        nenc = serialization.NoEncryption()
        (root / "key.pem").write_bytes(ident.key.private_bytes(serialization.Encoding.PEM,
                                                               serialization.PrivateFormat.PKCS8, nenc))
        (root / "cert.pem").write_bytes(ident.cert.public_bytes(serialization.Encoding.PEM))
        for i, c in enumerate(ident.chain):
            (root / f"chain{i}.pem").write_bytes(c.public_bytes(serialization.Encoding.PEM))
        self.root = root
        self.tsa = TimeStampAuthority(self.ca)
        self.session = self.db.sessions()
        self.ocsp = lambda _url, req: build_ocsp_response(self.session, self.ca, req)
        self.image = signature_png("Trần Thị Hằng")


def small(quick: bool) -> list[dict]:
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.sign import signers
    from pyhanko.sign.fields import SigFieldSpec, SigSeedSubFilter
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
    from pyhanko.stamp import TextStampStyle
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    from docexchange.signing import InProcessTimeStamper, SigningEngine, SignOptions, load_pkcs12_key
    from docexchange.signing.keys import to_asn1
    from tests.signing.pdfgen import decree30_pdf

    n = 12 if quick else 36
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = _Env(root)
        pdf_path = decree30_pdf(root / "doc.pdf")
        pdf = pdf_path.read_bytes()
        tsa = InProcessTimeStamper(env.tsa)  # the same object for ours and the floor
        engine = SigningEngine(timestamper=tsa, ocsp_fetch=env.ocsp)
        out = root / "ours.pdf"

        def ours() -> None:
            key = load_pkcs12_key(env.p12, "1234")  # the PIN is presented on every act (cache hit after the first)
            engine.sign(pdf_path, out, key, "person", "B-T",
                        SignOptions(image=env.image, authority="KT.", position="Thứ trưởng"))

        def ours_box() -> None:
            key = load_pkcs12_key(env.p12, "1234")
            engine.sign(pdf_path, out, key, "person", "B-T",
                        SignOptions(image=env.image, page=1, box=(330, 166, 530, 246), authority="KT.",
                                    position="Thứ trưởng"))

        tsa_cert = to_asn1(env.tsa.cert)
        from cryptography.hazmat.primitives import serialization
        from pyhanko.keys import load_private_key_from_pemder

        (root / "tsa.key.pem").write_bytes(env.tsa.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        chain_files = [str(root / f"chain{i}.pem") for i in range(len(env.ident.chain))]

        def stock() -> None:
            signer = signers.SimpleSigner.load(str(root / "key.pem"), str(root / "cert.pem"),
                                               ca_chain_files=chain_files)
            stamper = DummyTimeStamper(tsa_cert=tsa_cert,
                                       tsa_key=load_private_key_from_pemder(str(root / "tsa.key.pem"), None),
                                       certs_to_embed=SimpleCertificateStore.from_certs(
                                           [tsa_cert] + [to_asn1(c) for c in env.tsa_chain]))
            style = TextStampStyle(
                stamp_text="Ký bởi: %(signer)s\nThời gian: %(ts)s",
                text_box_style=TextBoxStyle(font=GlyphAccumulatorFactory(FONT, font_size=10), font_size=10),
                border_width=0)
            buf = io.BytesIO()
            signers.PdfSigner(signers.PdfSignatureMetadata(field_name="Sig1", subfilter=SigSeedSubFilter.PADES),
                              signer=signer, timestamper=stamper, stamp_style=style,
                              new_field_spec=SigFieldSpec("Sig1", on_page=0, box=(330, 166, 530, 246))
                              ).sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), output=buf)

        from docexchange.signing.keys import CachedKeySigner

        cached = CachedKeySigner(env.ident.key, env.ident.cert, env.ident.chain)

        def floor() -> None:
            buf = io.BytesIO()
            signers.PdfSigner(signers.PdfSignatureMetadata(field_name="Sig1", subfilter=SigSeedSubFilter.PADES),
                              signer=cached, timestamper=tsa).sign_pdf(
                IncrementalPdfFileWriter(io.BytesIO(pdf)), output=buf, bytes_reserved=32 * 1024)

        env.tsa_chain = env.ca.chain_for("gov-int")
        # interleaved rounds (stock, floor, ours, ours with an explicit box) so that machine noise hits all alike
        samples: dict[str, list[float]] = {"stock": [], "floor": [], "ours": [], "ours_box": []}
        fns = {"stock": stock, "floor": floor, "ours": ours, "ours_box": ours_box}
        for fn in fns.values():
            fn()  # warm-up: imports, caches (parsed key, encoded image, subset font)
        for i in range(n):
            for name, fn in fns.items():
                if name == "stock" and i % 3:
                    continue  # stock is ~20x slower; a third of the rounds gives enough samples
                t = time.perf_counter()
                fn()
                samples[name].append((time.perf_counter() - t) * 1000)
        t_stock, t_floor, t_ours, t_ours_box = (statistics.median(samples[k])
                                                for k in ("stock", "floor", "ours", "ours_box"))
        env.session.close()
    # Like for like: the stock and floor baselines are given the signature box, so the headline figures give our
    # engine the same box; locating the signer's name in the text layer (pdftotext, ~10-14 ms) is reported beside.
    common = {"unit": "ratio", "better": "lower", "ours_ms": round(t_ours_box, 2),
              "ours_with_name_search_ms": round(t_ours, 2),
              "stock_ms": round(t_stock, 2), "floor_ms": round(t_floor, 2), "repetitions": n}
    return [
        {"name": "sign.visible_bt_vs_stock", "value": round(t_ours_box / t_stock, 4),
         "value_with_name_search": round(t_ours / t_stock, 4),
         "baseline": "stock pyhanko visible B-T, same file, same box, same run", "target": 0.10, **common},
        {"name": "sign.visible_bt_vs_floor", "value": round(t_ours_box / t_floor, 4),
         "value_with_name_search": round(t_ours / t_floor, 4),
         "baseline": "bare pyhanko invisible B-T, cached keys, reserved bytes, same in-process TSA", "target": 1.5,
         **common},
    ]


# ---- 100 MB ----------------------------------------------------------------------------------------------
def make_large_pdf(path: Path, size: int) -> None:
    """A valid PDF of about ``size`` bytes: one page plus a large incompressible embedded stream."""
    chunk = 1 << 20
    with open(path, "wb") as fh:
        fh.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        offsets = []

        def obj(body: bytes) -> None:
            offsets.append(fh.tell())
            fh.write(b"%d 0 obj\n" % (len(offsets)) + body + b"\nendobj\n")

        obj(b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles << /Names [(data.bin) 5 0 R] >> >> >>")
        obj(b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
        obj(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> >>")
        content = b"BT /F1 12 Tf 72 720 Td (large) Tj ET"
        obj(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        obj(b"<< /Type /Filespec /F (data.bin) /EF << /F 6 0 R >> >>")
        n = max(size - 4096, chunk)
        offsets.append(fh.tell())
        fh.write(b"6 0 obj\n<< /Type /EmbeddedFile /Length %d >>\nstream\n" % n)
        rnd = os.urandom(chunk)
        written = 0
        while written < n:
            part = rnd[: min(chunk, n - written)]
            fh.write(part)
            written += len(part)
        fh.write(b"\nendstream\nendobj\n")
        xref = fh.tell()
        fh.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1))
        for off in offsets:
            fh.write(b"%010d 00000 n \n" % off)
        fh.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(offsets) + 1, xref))


_CHILD = r"""
import json, resource, sys, time, hashlib
from pathlib import Path
sys.path.insert(0, sys.argv[1])
mode, src, out, root = sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]), Path(sys.argv[5])
from bench.sign import _Env
from docexchange.signing import InProcessTimeStamper, SigningEngine, SignOptions, load_pkcs12_key
env = _Env(root)
engine = SigningEngine(timestamper=InProcessTimeStamper(env.tsa), ocsp_fetch=env.ocsp)
key = load_pkcs12_key(env.p12, "1234")
OPTS = SignOptions(image=env.image, page=1, box=(330, 166, 530, 246))
# warm up every code path on a tiny file so imports and caches are not counted as growth
from tests.signing.pdfgen import decree30_pdf
small = decree30_pdf(root / "small.pdf")
engine.sign(small, root / "small.out.pdf", key, "person", "B-T", OPTS)
if mode == "hash":
    t = time.perf_counter(); h = hashlib.sha256()
    with open(src, "rb") as fh:
        while b := fh.read(1 << 20): h.update(b)
    t_hash = time.perf_counter() - t
    t = time.perf_counter()
    engine.sign(small, root / "small.out.pdf", key, "person", "B-T", OPTS)
    print(json.dumps({"hash_s": t_hash, "one_sig_s": time.perf_counter() - t}))
    sys.exit(0)
def _status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0
open("/proc/self/clear_refs", "w").write("5")  # reset the peak-RSS counter (VmHWM) to the current RSS
before = _status("VmRSS")
t = time.perf_counter()
engine.sign(src, out, key, "person", "B-T", OPTS)
elapsed = time.perf_counter() - t
after = _status("VmHWM")
out.unlink()
print(json.dumps({"sign_s": elapsed, "rss_before_kb": before, "rss_peak_kb": after}))
"""


def large(quick: bool) -> list[dict]:
    size = 100 * 1024 * 1024
    repo = str(Path(__file__).resolve().parent.parent)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        src = root / "large.pdf"
        make_large_pdf(src, size)
        real = src.stat().st_size
        env_root = root / "env"
        env_root.mkdir()

        def child(mode: str) -> dict:
            os.sync()  # flush the generator's / previous run's dirty pages so writeback doesn't land in the timing
            r = env_root / mode
            r.mkdir(exist_ok=True)
            proc = subprocess.run([sys.executable, "-c", _CHILD, repo, mode, str(src), str(r / "out.pdf"), str(r)],
                                  capture_output=True, text=True, timeout=600)
            if proc.returncode != 0:
                raise RuntimeError(proc.stderr[-3000:])
            return json.loads(proc.stdout.strip().splitlines()[-1])

        runs = 3 if quick else 5
        signs = [child("sign") for _ in range(runs)]
        hashes = [child("hash") for _ in range(runs)]
    growth_kb = max(s["rss_peak_kb"] - s["rss_before_kb"] for s in signs)
    allowed_kb = (64 * 1024 * 1024 + 0.10 * real) / 1024
    t_sign = statistics.median(s["sign_s"] for s in signs)
    t_base = statistics.median(h["hash_s"] for h in hashes) + statistics.median(h["one_sig_s"] for h in hashes)
    return [
        {"name": "sign.large_rss_ratio", "unit": "ratio", "value": round(growth_kb / allowed_kb, 4),
         "baseline": "64 MB + 10 % of the file size", "target": 1.0, "better": "lower",
         "rss_growth_mb": round(growth_kb / 1024, 1), "file_mb": round(real / 2**20, 1),
         "rss_before_mb": round(statistics.median(s["rss_before_kb"] for s in signs) / 1024, 1)},
        {"name": "sign.large_time_vs_hash", "unit": "ratio", "value": round(t_sign / t_base, 4),
         "baseline": "SHA-256 of the file + one bare signature", "target": 1.5, "better": "lower",
         "sign_s": round(t_sign, 3), "hash_plus_sig_s": round(t_base, 3),
         "hash_s": round(statistics.median(h["hash_s"] for h in hashes), 3),
         "one_sig_s": round(statistics.median(h["one_sig_s"] for h in hashes), 3)},
    ]


def run(quick: bool = False) -> list[dict]:
    return small(quick) + large(quick)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    for row in run(args.quick):
        print(json.dumps(row, ensure_ascii=False))
