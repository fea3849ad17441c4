"""The signing engine: one entry point for every flow (person, seal, attachment, copy, certification).

``SigningEngine.sign(input, output, key, profile, level, options)`` streams the input PDF (a path or a seekable
binary stream), appends ONE signature as an incremental update (earlier signatures stay intact) and writes the
result to ``output`` (a path, written atomically, or a writable+readable+seekable stream)."""

from __future__ import annotations

import enum
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, cast

from asn1crypto import cms as acms
from asn1crypto import x509 as ax509
from cryptography import x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError, PdfReadError
from pyhanko.sign import fields as pfields
from pyhanko.sign.ades.api import CAdESSignedAttrSpec, SignerAttrSpec
from pyhanko.sign.fields import MDPPerm, SigFieldSpec, SigSeedSubFilter
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner
from pyhanko.sign.timestamps import TimeStamper
from pyhanko_certvalidator import ValidationContext

from ..errors import DomainError, scrub_paths
from .appearance import ImageStampStyle, TextLinesStampStyle
from .errors import BadInput, SigningFailed
from .images import StampImage, prepare_stamp_image
from .keys import KeyHandle, to_asn1
from .layout import (
    DEFAULT_SEAL_MM,
    Box,
    TextLinesJob,
    fit_box,
    name_not_found,
    person_box,
    seal_box,
    text_lines,
    top_right_box,
)
from .revocation import CrlFetcher, OcspFetcher, RevocationStatus, check_revocation, check_validity, http_crl, http_ocsp

AUTHORITY_MARKERS = ("TM.", "KT.", "TL.", "TUQ.", "Q.")
COPY_FORMS = ("SAO Y", "SAO LỤC", "TRÍCH SAO")
DEFAULT_BYTES_RESERVED = 32 * 1024  # hex digits in /Contents: room for a 16 KB CMS
_HEADER_WINDOW = 1024
_EARLY_TEXT_MAX = 2 * 1024 * 1024  # below this, extract all pages' text at once instead of waiting for the parse
_CHUNK = 1 << 20  # copy/hash in 1 MiB chunks (pyHanko's default is 4 KiB: 25 000 Python calls per 100 MB)


class Profile(enum.StrEnum):
    PERSON = "person"
    SEAL = "seal"
    ATTACHMENT = "attachment"
    COPY = "copy"


class Level(enum.StrEnum):
    B_B = "B-B"
    B_T = "B-T"
    B_LT = "B-LT"
    B_LTA = "B-LTA"


@dataclass(frozen=True)
class FieldPlan:
    """An empty signature field to create (e.g. before a certification signature)."""

    name: str
    page: int  # 1-based
    box: Box


@dataclass(frozen=True)
class SignOptions:
    """Per-signature parameters. Everything is optional; profile defaults apply.

    - ``image``: signature (person) or seal (seal) PNG bytes with alpha; defaults to the key owner's image if
      ``image_loader`` is configured on the engine.
    - ``page``/``box``: explicit placement (1-based page, PDF points); for person the box is shrunk to the image's
      aspect ratio; for seal the box is used as given.
    - ``signer_name``: the full name to look for on the last page (person; default: key owner / certificate CN).
    - ``seal_mm``: seal diameter (default 36 mm); ``anchor_field``: the person field the seal overlaps (default:
      the last ``Person*`` field).
    - ``text``: number/notation (attachment) or copy form (copy: SAO Y, SAO LỤC, TRÍCH SAO);
      ``agency_name``: copying agency (copy; default: key owner agency / certificate O).
    - ``authority``: TM., KT., TL., TUQ. or Q.; ``position``: signer's title — both go into the signature as a
      claimed signer role (CAdES signer-attributes-v2) and into /Reason.
    - ``field_name``: name of the new field, or of a pre-created empty field to fill (default: the first empty
      pre-created field of the profile — ``Person*``, ``Seal*``, ``Attachment*``, ``Copy*`` — else a new one).
    - ``invisible``: no widget/appearance (e.g. a certification signature before the visible approvals);
    - ``certify``: DocMDP certification (fill-forms); ``precreate``: empty fields created in the same revision
      so that later approvals only fill fields (keeps the certification valid).
    - ``ocsp_responses``/``crls``: DER revocation info to embed instead of fetching (B-LT/B-LTA).
    """

    image: bytes | None = None
    page: int | None = None
    box: Box | None = None
    signer_name: str | None = None
    seal_mm: float = DEFAULT_SEAL_MM
    anchor_field: str | None = None
    text: str | None = None
    agency_name: str | None = None
    authority: str | None = None
    position: str | None = None
    reason: str | None = None
    location: str | None = None
    field_name: str | None = None
    certify: bool = False
    invisible: bool = False
    precreate: tuple[FieldPlan, ...] = ()
    ocsp_responses: tuple[bytes, ...] = ()
    crls: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class SignResult:
    field_name: str
    profile: Profile
    level: Level
    page: int | None  # 1-based; None for invisible
    box: Box | None
    signing_time: datetime
    signer_subject: str
    signer_serial: str  # hex
    size: int  # bytes of the output
    revocation_source: str  # ocsp | crl | none (pre-signing check)
    output_path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _without_cert_req(req: Any) -> Any:
    req["cert_req"] = False
    return req


class InProcessTimeStamper(TimeStamper):
    """A pyhanko ``TimeStamper`` that calls an RFC 3161 responder object in-process (``respond(req_der)``), e.g.
    ``docexchange.pki.responders.TimeStampAuthority``. For benchmarks and tests; production uses the node's
    /pki/tsa over HTTP. ``cert_req`` as in ``http_timestamper``."""

    def __init__(self, authority: Any, cert_req: bool = False) -> None:
        super().__init__(include_nonce=True)
        self.authority = authority
        self.cert_req = cert_req

    def request_cms(self, message_digest: bytes, md_algorithm: str) -> Any:
        nonce, req = super().request_cms(message_digest, md_algorithm)
        return nonce, (req if self.cert_req else _without_cert_req(req))

    async def async_request_tsa_response(self, req: Any) -> Any:
        from asn1crypto import tsp

        return tsp.TimeStampResp.load(self.authority.respond(req.dump()))


def http_timestamper(url: str, cert_req: bool = False, timeout: float = 15) -> TimeStamper:
    """RFC 3161 over HTTP (the node's ``/pki/tsa``). By default the request does not ask for the TSA's chain
    (``certReq`` false; the node's TSA still includes its own certificate): poppler/NSS (pdfsig 22.12) reports
    "Unknown issue with Certificate" for a later signature by an already-seen certificate when its token carries
    the CA chain again. The chain is in the signer's CMS and, from B-LT on, in the DSS."""
    from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper

    class _Stamper(RequestsHTTPTimeStamper):  # type: ignore[misc]
        def request_cms(self, message_digest: bytes, md_algorithm: str) -> Any:
            nonce, req = super().request_cms(message_digest, md_algorithm)
            return nonce, (req if cert_req else _without_cert_req(req))

    return _Stamper(url, timeout=timeout)


class WaitingTimeStamper(TimeStamper):
    """Retries another ``TimeStamper`` (e.g. ``http_timestamper``) with a short back-off for up to ``wait_s``
    seconds, then raises ``TsaUnavailable`` (503, code ``tsa_unavailable``). Every attempt is a fresh request
    with a fresh nonce and pyHanko's own response checks (status granted, nonce echoed); an unreachable TSA, an
    HTTP error and a garbage answer all count as failed attempts. See docs/decisions.md, "TSA wait policy"."""

    def __init__(self, inner: TimeStamper, wait_s: float, *, name: str = "", first_delay: float = 0.2,
                 max_delay: float = 2.0) -> None:
        super().__init__(include_nonce=True)
        self.inner = inner
        self.wait_s = max(0.0, wait_s)
        self.name = name
        self.first_delay = first_delay
        self.max_delay = max_delay
        self._down_until = 0.0  # after a whole wait failed: until then, one attempt and no waiting

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> Any:
        import asyncio

        from .errors import TsaUnavailable

        # Signatures are made one at a time per process; without this, every signer queued behind a dead TSA
        # would wait the whole period in turn (four clerks: four times the wait).
        recently_down = time.monotonic() < self._down_until
        deadline = time.monotonic() + (0.0 if recently_down else self.wait_s)
        delay = self.first_delay
        attempts = 0
        while True:
            attempts += 1
            try:
                token = await self.inner.async_timestamp(message_digest, md_algorithm)
                self._down_until = 0.0
                return token
            except Exception as exc:  # I/O, HTTP status, content type, ASN.1 garbage, refused, bad nonce
                last = exc
            left = deadline - time.monotonic()
            if left <= 0:
                break
            await asyncio.sleep(min(delay, left))
            delay = min(delay * 2, self.max_delay)
        self._down_until = time.monotonic() + max(self.wait_s, 1.0)
        where = f" ({self.name})" if self.name else ""
        reason = scrub_paths(f"{type(last).__name__}: {last}")
        raise TsaUnavailable(
            f"The time-stamping server{where} could not be reached or gave no valid answer within "
            f"{self.wait_s:g} s ({attempts} attempts; last error {reason}). Nothing was signed; try again later.",
            f"Không kết nối được máy chủ cấp dấu thời gian{where} hoặc máy chủ không trả lời hợp lệ trong "
            f"{self.wait_s:g} giây ({attempts} lần thử). Chưa ký gì; vui lòng thử lại sau.")


_SIGN_LOCK = threading.RLock()


class SigningEngine:
    """Shared, thread-safe after construction. Configure once per process:

    - ``timestamper``: a pyhanko ``TimeStamper`` (``http_timestamper(node_url + "/pki/tsa")`` in real flows,
      ``InProcessTimeStamper(tsa)`` in benchmarks/tests); required for B-T and above;
    - ``trust_roots``: anchors used to build the paths whose revocation info goes into the DSS (B-LT/B-LTA);
      defaults to the self-signed root at the end of each key's chain;
    - ``ocsp_fetch``/``crl_fetch``: how the pre-signing revocation check reaches OCSP/CRL (default: HTTP to the
      certificate's AIA/CRLDP URLs);
    - ``check_revocation``: set False only where the caller has already checked it;
    - ``fetch_allow``: non-public addresses the B-LT revocation fetch may reach (docs/security.md §3); None:
      ``DOCEXCHANGE_FETCH_ALLOW`` plus the node's own /pki/;
    - ``image_loader``: ``sha256 -> bytes`` for the owner images of service-managed keys (e.g. ``BlobStore``).
    """

    def __init__(self, *, timestamper: TimeStamper | None = None, trust_roots: Sequence[x509.Certificate] = (),
                 ocsp_fetch: OcspFetcher = http_ocsp, crl_fetch: CrlFetcher = http_crl,
                 check_revocation: bool = True, image_loader: Any = None,
                 bytes_reserved: int = DEFAULT_BYTES_RESERVED, fetch_allow: tuple[str, ...] | None = None) -> None:
        self.timestamper = timestamper
        self.fetch_allow = fetch_allow
        self.trust_roots = list(trust_roots)
        self.ocsp_fetch = ocsp_fetch
        self.crl_fetch = crl_fetch
        self.revocation_check = check_revocation
        self.image_loader = image_loader
        self.bytes_reserved = bytes_reserved
        self._styles: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()

    # ---- public ---------------------------------------------------------------------------------------
    def sign(self, input: str | Path | IO[bytes], output: str | Path | IO[bytes], key: KeyHandle,
             profile: Profile | str, level: Level | str = Level.B_LT,
             options: SignOptions | None = None) -> SignResult:
        """One signature. Serialised per process: the cached, lazily parsed asn1crypto certificates shared by
        keys and appearances are not safe to parse from two threads at once (seen as "No field numbered 2 …
        in this asn1crypto.x509.Extension" under concurrent issuance)."""
        with _SIGN_LOCK:
            return self._sign(input, output, key, profile, level, options)

    def _sign(self, input: str | Path | IO[bytes], output: str | Path | IO[bytes], key: KeyHandle,
              profile: Profile | str, level: Level | str = Level.B_LT,
              options: SignOptions | None = None) -> SignResult:
        profile = Profile(profile)
        level = Level(level)
        opts = options or SignOptions()
        if level != Level.B_B and self.timestamper is None:
            raise BadInput(f"Level {level} needs a time-stamping authority",
                           f"Mức {level} cần dịch vụ cấp dấu thời gian",
                           code="no_tsa")
        self._check_options(profile, opts)
        tbs = self.timestamper if level != Level.B_B else None
        with ExitStack() as stack:
            src, src_path = stack.enter_context(_open_input(input))
            out, finalize = stack.enter_context(_open_output(output))
            job = None
            wants_text = (profile == Profile.PERSON and opts.box is None and not opts.invisible
                          and opts.field_name is None)
            if wants_text and src_path is not None and src_path.stat().st_size <= _EARLY_TEXT_MAX:
                job = TextLinesJob(src_path, None)  # small file: all pages, started before anything else
                stack.callback(job.cancel)  # reaped on any error below (no-op once the result was read)
            in_place = src_path is not None and isinstance(output, str | Path)
            if in_place:
                # path to path: let the kernel copy the bytes (copy_file_range/sendfile, reflink where the file
                # system can), then append the signature in place; Python never touches the unchanged content
                assert src_path is not None
                shutil.copyfile(src_path, finalize.tmp)
                out.seek(0)
                writer = _open_writer(out)
            else:
                writer = _open_writer(src)
            # person without a box: start the text extraction now, check the certificate while it runs
            spooled: Path | None = None
            n_pages = int(writer.prev.root["/Pages"]["/Count"])
            if wants_text and any(f.startswith("Person") and not v.filled for f, v in _sig_fields(writer.prev).items()):
                wants_text = False  # a pre-created person field will be filled: no search
                if job is not None:
                    job.cancel()
                    job = None
            if wants_text and job is None:
                if src_path is None:
                    spooled = _spool(src)
                job = TextLinesJob(src_path or spooled, n_pages)  # type: ignore[arg-type]
                stack.callback(job.cancel)
            try:
                # nothing is signed before the signer certificate is known to be valid and not revoked
                check_validity(key.certificate)
                rev = RevocationStatus("skipped")
                if self.revocation_check:
                    rev = check_revocation(key.certificate, key.issuer, ocsp_fetch=self.ocsp_fetch,
                                           crl_fetch=self.crl_fetch)
                plan = self._plan(writer, src, key, profile, opts, job)
            finally:
                if spooled is not None:
                    spooled.unlink(missing_ok=True)
            meta = self._metadata(key, profile, level, opts, plan, rev)
            if opts.precreate:
                if not plan.existing:
                    # this signature's own field goes first, so that /Fields order stays chronological
                    pfields.append_signature_field(writer, _field_spec(plan.field_name, plan.page, plan.box))
                    plan.existing = True
                for fp in opts.precreate:
                    pfields.append_signature_field(writer, _field_spec(fp.name, fp.page, fp.box))
            pdf_signer = PdfSigner(meta, signer=key.signer, timestamper=tbs, stamp_style=plan.style,
                                   new_field_spec=None if plan.existing else _field_spec(
                                       plan.field_name, plan.page, plan.box))
            try:
                if in_place:
                    pdf_signer.sign_pdf(writer, in_place=True, bytes_reserved=self.bytes_reserved,
                                        existing_fields_only=plan.existing, chunk_size=_CHUNK)
                else:
                    pdf_signer.sign_pdf(writer, output=out, bytes_reserved=self.bytes_reserved,
                                        existing_fields_only=plan.existing, chunk_size=_CHUNK)
            except DomainError:
                raise
            except Exception as exc:  # pyhanko signing/path-building/TSA errors; nothing is published
                raise SigningFailed(f"Signing failed: {exc}", f"Ký số không thành công: {exc}") from exc
            out.seek(0, os.SEEK_END)
            size = out.tell()
            out_path = finalize()
        return SignResult(field_name=plan.field_name, profile=profile, level=level, page=plan.page, box=plan.box,
                          signing_time=plan.when, signer_subject=key.certificate.subject.rfc4514_string(),
                          signer_serial=format(key.certificate.serial_number, "x"), size=size,
                          revocation_source=rev.source, output_path=out_path)

    # ---- helpers usable by workflows ------------------------------------------------------------------
    def locate_person_box(self, pdf_path: Path, full_name: str, image: bytes | StampImage) -> tuple[int, Box]:
        """(page, box) where the ``person`` profile would put the signature on ``pdf_path`` (last page)."""
        img = image if isinstance(image, StampImage) else prepare_stamp_image(image)
        n = _page_count_of(pdf_path)
        lines, _, _ = text_lines(pdf_path, n)
        box = person_box(lines, full_name, img.aspect)
        if box is None:
            raise name_not_found(full_name)
        return n, box

    # ---- internals ------------------------------------------------------------------------------------
    @staticmethod
    def _check_options(profile: Profile, opts: SignOptions) -> None:
        if (opts.page is None) != (opts.box is None):
            raise BadInput("Give both page and box, or neither", "Cần chỉ định cả trang và vị trí, hoặc bỏ cả hai",
                           code="bad_placement")
        if opts.box is not None:
            x1, y1, x2, y2 = opts.box
            if not (x2 > x1 and y2 > y1):
                raise BadInput("The box must be X1,Y1,X2,Y2 with X2>X1 and Y2>Y1",
                               "Vị trí phải có dạng X1,Y1,X2,Y2 với X2>X1 và Y2>Y1", code="bad_placement")
        if opts.authority and opts.authority not in AUTHORITY_MARKERS:
            raise BadInput(f"Unknown authority marker {opts.authority!r}; use one of {', '.join(AUTHORITY_MARKERS)}",
                           f"Ký hiệu thẩm quyền không hợp lệ {opts.authority!r}; dùng một trong "
                           f"{', '.join(AUTHORITY_MARKERS)}", code="bad_authority")
        if profile == Profile.ATTACHMENT and not (opts.text and opts.text.strip()):
            raise BadInput("An attachment signature needs the main document's number and notation (text)",
                           "Chữ ký tệp đính kèm cần số, ký hiệu của văn bản chính", code="missing_text")
        if profile == Profile.COPY and (opts.text or "").strip().upper() not in COPY_FORMS:
            raise BadInput(f"Copy form must be one of {', '.join(COPY_FORMS)}",
                           f"Hình thức sao phải là một trong {', '.join(COPY_FORMS)}", code="bad_copy_form")

    def _image(self, key: KeyHandle, opts: SignOptions, what: str) -> StampImage:
        data = opts.image
        if data is None and self.image_loader is not None and key.owner.get("image_sha256"):
            data = self.image_loader(key.owner["image_sha256"])
        if data is None:
            vi_what = "chữ ký" if what == "signature" else "con dấu"
            raise BadInput(f"The {what} image (PNG) is required", f"Cần ảnh {vi_what}"
                           " (PNG)", code="missing_image")
        return prepare_stamp_image(data)

    def _style(self, cache_key: tuple[Any, ...], factory: Any) -> Any:
        with self._lock:
            style = self._styles.get(cache_key)
            if style is None:
                style = self._styles[cache_key] = factory()
                if len(self._styles) > 256:
                    self._styles.pop(next(iter(self._styles)))
            return style

    def _plan(self, writer: IncrementalPdfFileWriter, src: IO[bytes], key: KeyHandle, profile: Profile,
              opts: SignOptions, job: TextLinesJob | None) -> _Plan:
        reader = writer.prev
        existing = _sig_fields(reader)
        when = datetime.now(UTC)
        n_pages = int(reader.root["/Pages"]["/Count"])
        if opts.page is not None and not 1 <= opts.page <= n_pages:
            raise BadInput(f"Page {opts.page} does not exist (the document has {n_pages})",
                           f"Không có trang {opts.page} (văn bản có {n_pages} trang)", code="bad_placement")
        prefix = {Profile.PERSON: "Person", Profile.SEAL: "Seal", Profile.ATTACHMENT: "Attachment",
                  Profile.COPY: "Copy"}[profile]
        empty = [f.name for f in existing.values() if f.name.startswith(prefix) and not f.filled]
        name = opts.field_name or (empty[0] if empty and not opts.invisible else _next_name(prefix, existing))
        pre = existing.get(name)
        if pre is not None and pre.filled:
            raise BadInput(f"Signature field {name!r} is already signed", f"Trường chữ ký {name!r} đã được ký",
                           code="field_signed")
        plan = _Plan(field_name=name, existing=pre is not None, when=when)
        if pre is not None:
            plan.page, plan.box = pre.page, pre.box
        if opts.invisible:
            if pre is not None and pre.box is not None:
                raise BadInput(f"Field {name!r} is visible", f"Trường {name!r} là trường hiển thị",
                               code="bad_placement")
            return plan
        if profile == Profile.PERSON:
            img = self._image(key, opts, "signature")
            plan.style = self._style(("img", img.sha256), lambda: ImageStampStyle(image=img))
            if pre is None:
                if opts.box is not None:
                    plan.page, plan.box = opts.page, fit_box(opts.box, img.aspect)
                else:
                    full_name = opts.signer_name or key.owner.get("full_name") or key.common_name
                    if job is None:
                        spooled = _spool(src)
                        try:
                            lines, _, _ = text_lines(spooled, n_pages)
                        finally:
                            spooled.unlink(missing_ok=True)
                    else:
                        lines, _, _ = job.result()
                    box = person_box(lines, full_name, img.aspect)
                    if box is None:
                        raise name_not_found(full_name)
                    plan.page, plan.box = n_pages, box
        elif profile == Profile.SEAL:
            img = self._image(key, opts, "seal")
            plan.style = self._style(("img", img.sha256), lambda: ImageStampStyle(image=img))
            if pre is None:
                if opts.box is not None:
                    plan.page, plan.box = opts.page, opts.box
                else:
                    anchor = _anchor(existing, opts.anchor_field)
                    if anchor is None or anchor.box is None:
                        raise BadInput("No person signature to place the seal over; sign as person first or give a box",
                                       "Chưa có chữ ký của người có thẩm quyền để đóng dấu lên; hãy ký trước hoặc chỉ "
                                       "định vị trí", code="no_person_signature")
                    plan.page, plan.box = anchor.page, seal_box(anchor.box, opts.seal_mm, img.aspect)
        else:
            if profile == Profile.ATTACHMENT:
                lines_t: tuple[str, ...] = (opts.text or "").strip(), "{time}"
            else:
                agency = opts.agency_name or key.owner.get("agency_name") or _org(key.certificate)
                lines_t = ((opts.text or "").strip().upper(), agency, "{time}")
            style: TextLinesStampStyle = self._style(("text",) + lines_t,
                                                     lambda: TextLinesStampStyle(lines=lines_t))
            plan.style = style
            if pre is None:
                if opts.box is not None:
                    plan.page, plan.box = opts.page, opts.box
                else:
                    pw, ph = _page_size(reader, 0)
                    plan.page, plan.box = 1, top_right_box(pw, ph, style.natural_size(when))
        return plan

    def _metadata(self, key: KeyHandle, profile: Profile, level: Level, opts: SignOptions, plan: _Plan,
                  rev: RevocationStatus) -> PdfSignatureMetadata:
        role = " ".join(x for x in (opts.authority, opts.position) if x)
        reason = opts.reason or {
            Profile.PERSON: "Ký ban hành văn bản", Profile.SEAL: "Đóng dấu cơ quan",
            Profile.ATTACHMENT: f"Ký số tệp đính kèm văn bản số {opts.text or ''}".strip(),
            Profile.COPY: f"{(opts.text or '').upper()} điện tử"}[profile]
        if role:
            reason = f"{reason} ({role})"
        cades = None
        if role:
            claimed = acms.AttCertAttribute({"type": "role", "values": [
                {"role_name": ax509.GeneralName({"directory_name": ax509.Name.build({"title": role})})}]})
            cades = CAdESSignedAttrSpec(signer_attributes=SignerAttrSpec(claimed_attrs=[claimed], certified_attrs=[]))
        vc = None
        if level in (Level.B_LT, Level.B_LTA):
            vc = self._validation_context(key, opts, rev)
        return PdfSignatureMetadata(
            field_name=plan.field_name, subfilter=SigSeedSubFilter.PADES, reason=reason, location=opts.location,
            certify=opts.certify, docmdp_permissions=MDPPerm.FILL_FORMS, embed_validation_info=vc is not None,
            validation_context=vc, use_pades_lta=level == Level.B_LTA, cades_signed_attr_spec=cades,
            md_algorithm="sha256")

    def _validation_context(self, key: KeyHandle, opts: SignOptions, rev: RevocationStatus) -> ValidationContext:
        roots = list(self.trust_roots) or [c for c in key.chain if c.subject == c.issuer]
        if not roots:
            raise BadInput("B-LT needs the root certificate of the signer's chain",
                           "Mức B-LT cần chứng thư gốc của chuỗi chứng thư người ký", code="no_trust_root")
        others = [to_asn1(c) for c in key.chain]
        supplied = bool(opts.ocsp_responses or opts.crls)
        ocsps = list(opts.ocsp_responses)
        if rev.ocsp_response and not supplied:
            ocsps.append(rev.ocsp_response)
        backend = None
        if not supplied:  # fetched only for a verified chain to an anchor, through the guarded fetch
            from .fetchers import GuardedFetcherBackend
            from .revocation import allow_entries

            backend = GuardedFetcherBackend(allow_entries(self.fetch_allow))
        vc = ValidationContext(
            trust_roots=[to_asn1(c) for c in roots], other_certs=others, allow_fetching=not supplied,
            revocation_mode="hard-fail", ocsps=ocsps, crls=list(opts.crls), fetcher_backend=backend)
        return backend.bind(vc) if backend is not None else vc


# ---- small internals ---------------------------------------------------------------------------------------
@dataclass
class _Plan:
    field_name: str
    existing: bool
    when: datetime
    page: int | None = None
    box: Box | None = None
    style: Any = None


@dataclass(frozen=True)
class _Field:
    name: str
    filled: bool
    page: int | None
    box: Box | None


def _field_spec(name: str, page: int | None, box: Box | None) -> SigFieldSpec:
    # pyhanko annotates the box as ints but writes any number; keep sub-point precision
    return SigFieldSpec(name, on_page=(page - 1) if page else 0, box=cast(Any, box))


def _org(cert: x509.Certificate) -> str:
    attrs = cert.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
    return str(attrs[0].value) if attrs else ""


def _next_name(prefix: str, existing: dict[str, _Field]) -> str:
    i = 1
    while f"{prefix}{i}" in existing:
        i += 1
    return f"{prefix}{i}"


def _anchor(existing: dict[str, _Field], name: str | None) -> _Field | None:
    if name is not None:
        return existing.get(name)
    persons = [f for f in existing.values() if f.name.startswith("Person") and f.filled]
    return persons[-1] if persons else None


def _page_refs(reader: Any) -> list[Any]:
    n = int(reader.root["/Pages"]["/Count"])
    return [reader.find_page_for_modification(i)[0] for i in range(n)]


def _sig_fields(reader: Any) -> dict[str, _Field]:
    out: dict[str, _Field] = {}
    refs: list[Any] | None = None
    for name, value, ref in pfields.enumerate_sig_fields(reader):
        fd = ref.get_object()
        widget = fd
        if "/Kids" in fd:
            widget = fd["/Kids"][0].get_object()
        box: Box | None = None
        page: int | None = None
        if "/Rect" in widget:
            r = [float(v) for v in widget["/Rect"]]
            box = (min(r[0], r[2]), min(r[1], r[3]), max(r[0], r[2]), max(r[1], r[3]))
            if box[2] - box[0] <= 0 or box[3] - box[1] <= 0:
                box = None
        if "/P" in widget:
            if refs is None:
                refs = _page_refs(reader)
            p_ref = widget.raw_get("/P")
            for i, pr in enumerate(refs):
                if getattr(pr, "reference", pr) == getattr(p_ref, "reference", p_ref):
                    page = i + 1
                    break
        out[str(name)] = _Field(str(name), value is not None, page, box)
    return out


def _page_size(reader: Any, index: int) -> tuple[float, float]:
    page = reader.find_page_for_modification(index)[0].get_object()
    node = page
    while node is not None:
        if "/MediaBox" in node:
            x0, y0, x1, y1 = (float(v) for v in node["/MediaBox"])
            return abs(x1 - x0), abs(y1 - y0)
        node = node.get("/Parent")
        node = node.get_object() if node is not None else None
    return 595.28, 841.89


def _page_count_of(path: Path) -> int:
    from pyhanko.pdf_utils.reader import PdfFileReader

    with open(path, "rb") as fh:
        return int(PdfFileReader(fh).root["/Pages"]["/Count"])


def _spool(src: IO[bytes]) -> Path:
    pos = src.tell()
    src.seek(0)
    fd, name = tempfile.mkstemp(suffix=".pdf")
    with os.fdopen(fd, "wb") as fh:
        shutil.copyfileobj(src, fh, 1 << 20)
    src.seek(pos)
    return Path(name)


class _open_input:
    """Context manager: (seekable binary stream, path or None). Checks the header; never reads the whole file."""

    def __init__(self, input: str | Path | IO[bytes]) -> None:
        self.input = input
        self.fh: IO[bytes] | None = None

    def __enter__(self) -> tuple[IO[bytes], Path | None]:
        if isinstance(self.input, str | Path):
            path = Path(self.input)
            try:
                self.fh = open(path, "rb")  # noqa: SIM115
            except OSError as exc:
                raise BadInput(f"Cannot open {path}: {exc.strerror}", f"Không mở được {path}: {exc.strerror}",
                               code="bad_pdf") from exc
            src: IO[bytes] = self.fh
        else:
            path = None
            src = self.input
            if not src.seekable():
                buf = tempfile.TemporaryFile()
                shutil.copyfileobj(src, buf, 1 << 20)
                self.fh = buf  # type: ignore[assignment]
                src = buf  # type: ignore[assignment]
            src.seek(0)
        head = src.read(_HEADER_WINDOW)
        src.seek(0)
        if b"%PDF-" not in head:
            raise BadInput("The file is not a PDF document", "Tệp không phải là văn bản PDF", code="not_pdf")
        return src, path

    def __exit__(self, *exc: object) -> None:
        if self.fh is not None:
            self.fh.close()


def _open_writer(src: IO[bytes]) -> IncrementalPdfFileWriter:
    try:
        writer = IncrementalPdfFileWriter(src, strict=True)
        reader = writer.prev
        if reader.encrypted:
            raise BadInput("The PDF is encrypted; remove the password protection before signing",
                           "Tệp PDF bị mã hóa; hãy bỏ mật khẩu bảo vệ trước khi ký", code="encrypted_pdf")
        _ = reader.root["/Pages"]["/Count"]
        return writer
    except BadInput:
        raise
    except (PdfReadError, PdfError, KeyError, ValueError, TypeError, AttributeError, IndexError) as exc:
        if "encrypt" in str(exc).lower():
            raise BadInput("The PDF is encrypted; remove the password protection before signing",
                           "Tệp PDF bị mã hóa; hãy bỏ mật khẩu bảo vệ trước khi ký", code="encrypted_pdf") from exc
        raise BadInput(f"The PDF is damaged (cross-reference table or structure unreadable: {exc}); "
                       "repair it (e.g. re-save or `qpdf in.pdf out.pdf`) before signing",
                       f"Tệp PDF bị hỏng (không đọc được bảng tham chiếu chéo hoặc cấu trúc: {exc}); "
                       "hãy sửa tệp (lưu lại hoặc `qpdf in.pdf out.pdf`) trước khi ký", code="broken_pdf") from exc


class _Finalize:
    """Callable that publishes the temporary output (rename) and returns the final path; ``tmp`` is its path."""

    def __init__(self, owner: _open_output, target: Path | None) -> None:
        self.owner = owner
        self.target = target
        self.tmp = owner.tmp

    def __call__(self) -> Path | None:
        o = self.owner
        if self.target is None:
            return None
        assert o.fh is not None and o.tmp is not None
        o.fh.flush()
        if o.durable:
            os.fsync(o.fh.fileno())
        o.fh.close()
        o.tmp.replace(self.target)
        o.tmp = None
        return self.target


class _open_output:
    """(stream to write to, finalize() -> Path | None). Paths are written to a temp file and renamed on success,
    so a failure leaves no partial output."""

    def __init__(self, output: str | Path | IO[bytes], durable: bool = False) -> None:
        self.output = output
        self.durable = durable
        self.tmp: Path | None = None
        self.fh: IO[bytes] | None = None

    def __enter__(self) -> tuple[IO[bytes], Any]:
        if isinstance(self.output, str | Path):
            target = Path(self.output)
            fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            self.tmp = Path(name)
            self.fh = os.fdopen(fd, "w+b")
            return self.fh, _Finalize(self, target)
        return self.output, _Finalize(self, None)

    def __exit__(self, *exc: object) -> None:
        if self.fh is not None and not self.fh.closed:
            self.fh.close()
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)


__all__ = ["AUTHORITY_MARKERS", "COPY_FORMS", "FieldPlan", "InProcessTimeStamper", "Level", "Profile",
           "SignOptions", "SignResult", "SigningEngine", "WaitingTimeStamper", "http_timestamper"]
