"""The validation engine: ``validate_pdf(source, policy) -> VerificationReport``. Never raises."""

from __future__ import annotations

import hashlib
import io
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Any

from asn1crypto import x509 as ax509

from . import changes as changes_mod
from . import decree30, visual
from .bounded import run_analysis
from .policy import ValidationPolicy
from .rawchecks import (
    BerError,
    Problem,
    check_byte_range,
    is_der,
    prescan,
    revision_ends,
    trailing_after_element,
    trailing_bytes,
)
from .report import (
    INDETERMINATE,
    NO_SIGNATURE,
    TOTAL_FAILED,
    TOTAL_PASSED,
    FileInfo,
    Message,
    PolicyInfo,
    SignatureReport,
    SignerInfo,
    TimestampInfo,
    VerificationReport,
    max_mod,
    worst,
)

log = logging.getLogger(__name__)
VN_TZ = timezone(timedelta(hours=7))
ORG_SEAL_POLICY_OID = "1.3.6.1.4.1.59999.1.1"
_PERSONAL_ATTRS = {"given_name", "surname", "pseudonym", "initials", "generation_qualifier", "title"}

Source = str | Path | bytes | bytearray | memoryview | IO[bytes]


def _iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(VN_TZ).isoformat(timespec="seconds")


def _read(source: Source, limit: int) -> tuple[bytes, str]:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), "document.pdf"
    if isinstance(source, str | Path):
        p = Path(source)
        if p.stat().st_size > limit:
            raise _TooLarge()
        return p.read_bytes(), p.name
    data = source.read(limit + 1)
    if len(data) > limit:
        raise _TooLarge()
    return data, str(getattr(source, "name", "document.pdf")).rsplit("/", 1)[-1]


class _TooLarge(Exception):
    pass


def _now() -> datetime:
    """The node's clock (a seam for the clock-skew tests)."""
    return datetime.now(UTC)


def validate_pdf(source: Source, policy: ValidationPolicy | None = None, *,
                 name: str | None = None) -> VerificationReport:
    """Validate every signature and document time-stamp in a PDF. Any failure becomes an indication."""
    t0 = time.perf_counter()
    policy = policy or ValidationPolicy()
    moment = policy.at or _now()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        anchors = policy.anchor_digests()
    except Exception as exc:  # unreadable anchor files
        anchors = []
        log.warning("trust anchors unreadable: %s", exc)
    report = VerificationReport(
        file=FileInfo(name=name or ""), validation_time=_iso(moment) or "",
        policy=PolicyInfo(id=policy.policy_id, version=policy.policy_version, trust_anchors=anchors,
                          offline=policy.offline))
    try:
        data, src_name = _read(source, policy.max_file_bytes)
    except _TooLarge:
        return _unreadable(report, Problem("FILE_TOO_LARGE", "Tệp vượt giới hạn kích thước.",
                                           "The file exceeds the size limit."), t0)
    except Exception as exc:
        return _unreadable(report, Problem("UNREADABLE", "Không đọc được tệp.", f"The file cannot be read: {exc}"), t0)
    report.file.name = name or src_name
    report.file.size = len(data)
    report.file.sha256 = hashlib.sha256(data).hexdigest()
    problem = prescan(data, max_bytes=policy.max_file_bytes, max_revisions=policy.max_revisions,
                      max_objects=policy.max_objects, max_nesting=policy.max_nesting)
    if problem is not None:
        return _unreadable(report, problem, t0)

    # the parse runs in a worker process that is killed at the limit (bounded.py; docs/validation.md "Time limit")
    outcome = run_analysis(_analyse, (data, policy, moment), policy.time_limit_s)
    if outcome.timed_out:
        limit = f"{policy.time_limit_s:g}"
        return _unreadable(report, Problem("TIME_LIMIT", f"Phân tích vượt quá {limit.replace('.', ',')} giây.",
                                           f"Analysis exceeded {limit} s."), t0)
    if outcome.error is not None:
        err = outcome.error
        return _unreadable(report, Problem("PARSE_ERROR", "Không phân tích được cấu trúc PDF; không thể tin cậy.",
                                           f"The PDF structure cannot be parsed; it cannot be trusted: "
                                           f"{type(err).__name__}: {err}"), t0)
    result: _Analysis = outcome.value
    if result.problem is not None:
        return _unreadable(report, result.problem, t0)
    report.file.pages = result.pages
    report.file.revisions = result.revisions
    report.signatures = result.signatures
    report.indication = worst([s.indication for s in result.signatures]) if result.signatures else NO_SIGNATURE
    if report.signatures:
        worst_sig = next(s for s in result.signatures if s.indication == report.indication)
        report.subindication = worst_sig.subindication
    else:
        report.messages.append(Message("NO_SIGNATURE", "Tệp không có chữ ký số.", "The file has no signature."))
    report.elapsed_ms = round((time.perf_counter() - t0) * 1000, 2)
    return report


def _unreadable(report: VerificationReport, problem: Problem, t0: float) -> VerificationReport:
    report.readable = False
    report.indication = INDETERMINATE
    report.subindication = "FORMAT_FAILURE"
    report.signatures = []
    report.messages.append(Message(problem.code, problem.vi, problem.en, "error"))
    report.elapsed_ms = round((time.perf_counter() - t0) * 1000, 2)
    return report


@dataclass
class _Analysis:
    signatures: list[SignatureReport]
    pages: int | None = None
    revisions: int | None = None
    problem: Problem | None = None


# ---- pyHanko setup ------------------------------------------------------------------------------------------
def _asn1(cert: Any) -> ax509.Certificate:
    from cryptography.hazmat.primitives import serialization

    return ax509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


class _Contexts:
    """Validation contexts built once per file: now (or ``--at``), and on demand at a proof-of-existence time."""

    def __init__(self, reader: Any, policy: ValidationPolicy, moment: datetime) -> None:
        from pyhanko.sign.validation.dss import DocumentSecurityStore

        self.policy = policy
        self.moment = moment
        # validation "now" tolerates clock skew; an explicit ``--at`` keeps pyHanko's strict default (1 s): the
        # auditor asks about that exact moment (docs/decisions.md, "Clock tolerance")
        self.live = policy.at is None
        self.tolerance = timedelta(seconds=max(0.0, policy.clock_tolerance_s)) if self.live else None
        self.roots = [_asn1(c) for c in policy.anchors()]
        self.dss = None
        self.has_revinfo = False
        try:
            self.dss = DocumentSecurityStore.read_dss(reader)
            self.has_revinfo = bool(self.dss.ocsps or self.dss.crls)
        except Exception:
            self.dss = None
        self.embedded_revinfo_only = policy.offline
        self.no_revinfo = policy.offline and not self.has_revinfo
        self.now = self.at(moment)

    def kwargs(self, moment: datetime, retro: bool) -> dict[str, Any]:
        from pyhanko_certvalidator.policy_decl import AcceptAllAlgorithms

        kw: dict[str, Any] = {"trust_roots": self.roots, "moment": moment, "retroactive_revinfo": retro,
                              "algorithm_usage_policy": AcceptAllAlgorithms()}
        if self.tolerance is not None:
            kw["time_tolerance"] = self.tolerance
        if self.policy.offline:
            kw["allow_fetching"] = False
            kw["revocation_mode"] = "hard-fail" if self.has_revinfo else "soft-fail"
        else:  # fetching only through the guarded backend (docs/security.md §3)
            kw["allow_fetching"] = True
            kw["revocation_mode"] = "hard-fail"
            kw["fetcher_backend"] = self.policy.fetcher_backend()
        return kw

    def at(self, moment: datetime, retro: bool = False) -> Any:
        from pyhanko_certvalidator import ValidationContext

        kw = self.kwargs(moment, retro)
        vc = self.dss.as_validation_context(kw) if self.dss is not None else ValidationContext(**kw)
        if "fetcher_backend" in kw:
            kw["fetcher_backend"].bind(vc)
        return vc


def validate_pdf_signature(emb: Any, signer_validation_context: Any, ts_validation_context: Any,
                           skip_diff: bool = False) -> Any:
    """pyHanko's validation with every algorithm and every key usage accepted: our own policies judge
    algorithms (``_crypto_policy``, ``_chain_policy``) and the signer certificate (``_signer_policy``)
    afterwards, so a weak digest or a certificate not meant for signing is reported as a policy failure with
    our sub-indication instead of a broken signature or pyHanko's CHAIN_CONSTRAINTS_FAILURE."""
    import asyncio

    from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_signature
    from pyhanko.sign.validation.settings import KeyUsageConstraints
    from pyhanko.sign.validation.utils import CMSAlgorithmUsagePolicy
    from pyhanko_certvalidator.policy_decl import AcceptAllAlgorithms

    return asyncio.run(async_validate_pdf_signature(
        emb, signer_validation_context=signer_validation_context, ts_validation_context=ts_validation_context,
        skip_diff=skip_diff, algorithm_policy=CMSAlgorithmUsagePolicy.lift_policy(AcceptAllAlgorithms()),
        key_usage_settings=KeyUsageConstraints(key_usage=set()), diff_policy=_diff_policy()))


def validate_pdf_timestamp(emb: Any, validation_context: Any, skip_diff: bool = False) -> Any:
    import asyncio

    from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_timestamp

    return asyncio.run(async_validate_pdf_timestamp(emb, validation_context=validation_context, skip_diff=skip_diff,
                                                    diff_policy=_diff_policy()))


def _diff_policy() -> Any:
    """pyHanko's default difference policy plus one rule: a page whose only change is a /Resources entry that
    resolves to exactly the same resources (see ``_IdenticalResourcesRule``) is not a modification."""
    if "diff" not in _CLASSES:
        from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, StandardDiffPolicy
        from pyhanko.sign.diff_analysis.policy_api import ModificationLevel

        _CLASSES["diff"] = StandardDiffPolicy(
            global_rules=[*DEFAULT_DIFF_POLICY.global_rules,
                          _identical_resources_rule().as_qualified(ModificationLevel.LTA_UPDATES)],
            form_rule=DEFAULT_DIFF_POLICY.form_rule)
    return _CLASSES["diff"]


def _identical_resources_rule() -> Any:
    from pyhanko.pdf_utils import generic
    from pyhanko.sign.diff_analysis.rules_api import ReferenceUpdate, WhitelistRule

    class _IdenticalResourcesRule(WhitelistRule):  # type: ignore[misc]
        """A page object rewritten in the new revision with every entry as before except /Resources, whose
        fully resolved value (dictionaries, arrays, streams by decoded data, followed through references) is
        equal to the old one: the page is approved, and so are the objects first written in this revision
        that the new /Resources reaches. Anything else on the page, or any difference in what the resources
        resolve to, leaves the page unexplained (pyHanko's OTHER)."""

        def apply(self, old: Any, new: Any) -> Any:
            fresh = {r for r in new.explicit_refs_in_revision()
                     if old.reader.xrefs.get_historical_ref(r, old.revision) is None}
            for ref in new.explicit_refs_in_revision():
                if ref in fresh:
                    continue
                try:
                    before, after = old.get_object(ref), new.get_object(ref)
                except Exception:
                    continue
                if not (isinstance(before, generic.DictionaryObject) and isinstance(after, generic.DictionaryObject)
                        and before.get("/Type") == "/Page" == after.get("/Type")
                        and "/Resources" in before and "/Resources" in after
                        and set(before.keys()) == set(after.keys())):
                    continue
                budget = [20000]
                if not all(_same_entry(old, before.raw_get(k), new, after.raw_get(k), budget)
                           for k in before.keys() if k != "/Resources"):
                    continue
                if not _same_resolved(old, before.raw_get("/Resources"), new, after.raw_get("/Resources"), budget,
                                      set(), 0):
                    continue
                reached: set[Any] = set()
                _refs_reached(new, after.raw_get("/Resources"), reached, 0)
                yield ReferenceUpdate(ref)
                for r in reached & fresh:
                    yield ReferenceUpdate(r)

    return _IdenticalResourcesRule()


def _same_entry(a_res: Any, a: Any, b_res: Any, b: Any, budget: list[int]) -> bool:
    """A page entry other than /Resources: the same reference (what it points to is judged on its own if it
    changed), or an equal direct value."""
    from pyhanko.pdf_utils import generic

    if isinstance(a, generic.IndirectObject) or isinstance(b, generic.IndirectObject):
        return (isinstance(a, generic.IndirectObject) and isinstance(b, generic.IndirectObject)
                and a.reference == b.reference)
    return _same_resolved(a_res, a, b_res, b, budget, set(), 0)


def _same_resolved(a_res: Any, a: Any, b_res: Any, b: Any, budget: list[int], seen: set[Any], depth: int) -> bool:
    """Structural equality of two PDF values, each resolved in its own revision. Fails (False) on anything
    unexpected, on more than ``budget`` nodes or on deep nesting: the caller then approves nothing."""
    from pyhanko.pdf_utils import generic

    budget[0] -= 1
    if budget[0] < 0 or depth > 64:
        return False
    if isinstance(a, generic.IndirectObject) or isinstance(b, generic.IndirectObject):
        key = (getattr(a, "reference", None), getattr(b, "reference", None))
        if key in seen:
            return True
        seen = seen | {key}
        if isinstance(a, generic.IndirectObject):
            a = a_res.get_object(a.reference)
        if isinstance(b, generic.IndirectObject):
            b = b_res.get_object(b.reference)
    if isinstance(a, generic.StreamObject) or isinstance(b, generic.StreamObject):
        if not (isinstance(a, generic.StreamObject) and isinstance(b, generic.StreamObject)):
            return False
        skip = {"/Length", "/Filter", "/DecodeParms"}
        if {k for k in a.keys() if k not in skip} != {k for k in b.keys() if k not in skip}:
            return False
        if a.data != b.data:
            return False
        return all(_same_resolved(a_res, a.raw_get(k), b_res, b.raw_get(k), budget, seen, depth + 1)
                   for k in a.keys() if k not in skip)
    if isinstance(a, generic.DictionaryObject) or isinstance(b, generic.DictionaryObject):
        if not (isinstance(a, generic.DictionaryObject) and isinstance(b, generic.DictionaryObject)):
            return False
        if set(a.keys()) != set(b.keys()):
            return False
        return all(_same_resolved(a_res, a.raw_get(k), b_res, b.raw_get(k), budget, seen, depth + 1)
                   for k in a.keys())
    if isinstance(a, generic.ArrayObject) or isinstance(b, generic.ArrayObject):
        if not (isinstance(a, generic.ArrayObject) and isinstance(b, generic.ArrayObject)) or len(a) != len(b):
            return False
        return all(_same_resolved(a_res, x, b_res, y, budget, seen, depth + 1)
                   for x, y in zip(list.__iter__(a), list.__iter__(b), strict=True))  # raw items
    return type(a) is type(b) and bool(a == b)


def _refs_reached(res: Any, obj: Any, out: set[Any], depth: int) -> None:
    from pyhanko.pdf_utils import generic

    if depth > 64 or len(out) > 20000:
        return
    if isinstance(obj, generic.IndirectObject):
        if obj.reference in out:
            return
        out.add(obj.reference)
        obj = res.get_object(obj.reference)
    if isinstance(obj, generic.DictionaryObject):  # streams included
        for k in obj.keys():
            _refs_reached(res, obj.raw_get(k), out, depth + 1)
    elif isinstance(obj, generic.ArrayObject):
        for x in list.__iter__(obj):  # raw items
            _refs_reached(res, x, out, depth + 1)


# ---- analysis ----------------------------------------------------------------------------------------------
_CLASSES: dict[str, Any] = {}


def _reader_class() -> Any:
    """pyHanko's reader, except that a trailer ``/Encrypt null`` (or a reference to null) means "not
    encrypted" (ISO 32000: a null value is the same as an absent entry) instead of a read error."""
    if "reader" not in _CLASSES:
        from pyhanko.pdf_utils import generic
        from pyhanko.pdf_utils.reader import PdfFileReader

        class _Reader(PdfFileReader):  # type: ignore[misc]
            @property
            def encrypt_dict(self) -> Any:
                try:
                    raw = self.trailer.raw_get("/Encrypt")
                except KeyError:
                    return None
                if isinstance(raw, generic.IndirectObject):
                    raw = self.get_object(raw.reference, never_decrypt=True)
                if isinstance(raw, generic.NullObject):
                    return None
                return super().encrypt_dict

        _CLASSES["reader"] = _Reader
    return _CLASSES["reader"]


def _embedded_class() -> Any:
    """pyHanko's embedded signature, except that an RFC 3161 time-stamp token (sub-filter ``/ETSI.RFC3161``,
    encapsulated TSTInfo) stored in a ``/Type /Sig`` dictionary is a document time-stamp, as ISO 32000-2
    §12.8.5 and ETSI EN 319 142-1 treat it, not a broken signature."""
    if "embedded" not in _CLASSES:
        from pyhanko.pdf_utils.generic import pdf_name
        from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

        class _Embedded(EmbeddedPdfSignature):  # type: ignore[misc]
            @property
            def sig_object_type(self) -> Any:
                declared = super().sig_object_type
                if declared != "/DocTimeStamp" and _holds_timestamp_token(self):
                    return pdf_name("/DocTimeStamp")
                return declared

        _CLASSES["embedded"] = _Embedded
    return _CLASSES["embedded"]


def _holds_timestamp_token(emb: Any) -> bool:
    try:
        return bool(emb.sig_object.get("/SubFilter") == "/ETSI.RFC3161"
                    and emb.signed_data["encap_content_info"]["content_type"].native == "tst_info")
    except Exception:
        return False


def _analyse(data: bytes, policy: ValidationPolicy, moment: datetime) -> _Analysis:
    from pyhanko.sign.fields import enumerate_sig_fields

    reader = _reader_class()(io.BytesIO(data), strict=False)
    EmbeddedPdfSignature = _embedded_class()  # noqa: N806
    if reader.encrypted:
        return _Analysis([], problem=Problem("ENCRYPTED", "Tệp PDF được mã hoá; không thể kiểm tra chữ ký.",
                                             "The PDF is encrypted; its signatures cannot be checked."))
    revisions = reader.xrefs.total_revisions
    if revisions > policy.max_revisions:
        return _Analysis([], problem=Problem("TOO_MANY_REVISIONS", f"Tệp có {revisions} lần cập nhật.",
                                             f"The file has {revisions} revisions (limit {policy.max_revisions})."))
    try:
        pages: int | None = int(reader.root["/Pages"]["/Count"])
    except Exception:
        pages = None
    entries: list[tuple[int, Any, str, Any, Exception | None]] = []  # (sort key, embedded|None, name, sigobj, err)
    for fq_name, sig_obj, sig_field in enumerate_sig_fields(reader, filled_status=True):
        try:
            emb = EmbeddedPdfSignature(reader, sig_field, fq_name)
            entries.append((emb.signed_revision, emb, fq_name, emb.sig_object, None))
        except Exception as exc:
            try:
                obj = sig_obj.get_object()
            except Exception:
                obj = None
            entries.append((10**9, None, fq_name, obj, exc))
    if not entries:
        return _Analysis([], pages, revisions)
    entries.sort(key=lambda e: e[0])
    ctx = _Contexts(reader, policy, moment)
    embedded = [e[1] for e in entries if e[1] is not None]
    state = _FileState(data, policy, embedded)
    reports = [
        _broken(data, name, obj, err) if emb is None else _one(emb, ctx, state)  # type: ignore[arg-type]
        for _, emb, name, obj, err in entries
    ]
    try:
        decree30.advise(reader, [(e[1], r) for e, r in zip(entries, reports, strict=True) if e[1] is not None])
    except Exception:  # advisory only: never let it change a verdict
        pass
    return _Analysis([_plain(r) for r in reports], pages, revisions)


def _plain(obj: Any) -> Any:
    """Plain Python values only: pyHanko's string objects carry a reference to the whole reader, which must not
    travel back from the worker process (nor be kept alive by a report)."""
    import dataclasses

    if isinstance(obj, str):
        return str(obj)
    if isinstance(obj, dict):
        return {_plain(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_plain(x) for x in obj) if type(obj) in (list, tuple) else [_plain(x) for x in obj]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            setattr(obj, f.name, _plain(getattr(obj, f.name)))
    return obj


class _FileState:
    """Lazily computed per-file data shared by the signatures (snapshots and renders of the final file)."""

    def __init__(self, data: bytes, policy: ValidationPolicy, embedded: list[Any]) -> None:
        self.data = data
        self.policy = policy
        self.embedded = embedded
        self._snaps: dict[int, changes_mod.Snapshot | None] = {}
        self._final_render: list[Any] | None = None
        self.renders = visual.Renders(data, policy.time_limit_s, policy.max_render_pages)
        self._anchor_digests: list[str] | None = None

    def anchor_digests(self) -> list[str]:
        if self._anchor_digests is None:
            try:
                self._anchor_digests = self.policy.anchor_digests()
            except Exception:
                self._anchor_digests = []
        return self._anchor_digests

    def snap(self, end: int) -> changes_mod.Snapshot | None:
        if end not in self._snaps:
            try:
                self._snaps[end] = changes_mod.snapshot(self.data[:end])
            except Exception:
                self._snaps[end] = None
        return self._snaps[end]

    def final_render(self) -> list[Any]:
        if self._final_render is None:
            self._final_render = visual.render(self.data, self.policy.render_dpi, self.policy.max_render_pages,
                                               self.policy.time_limit_s)
        return self._final_render


def _broken(data: bytes, name: str, sig_obj: Any, err: Exception | None) -> SignatureReport:
    sr = SignatureReport(field=name, integrity=False, indication=TOTAL_FAILED, subindication="FORMAT_FAILURE")
    try:
        br = sig_obj.raw_get("/ByteRange") if sig_obj is not None else None
        sr.byte_range = [int(x) for x in br] if br is not None else None
        if sig_obj is not None and sig_obj.get("/Type") == "/DocTimeStamp":
            sr.kind = "document_timestamp"
    except Exception:
        pass
    sr.flag("no_cms")
    sr.add("SIGNATURE_UNPARSABLE", "Không đọc được giá trị chữ ký (CMS) trong /Contents; chữ ký không thể tin cậy.",
           f"The signature value (CMS) in /Contents cannot be parsed; it cannot be trusted: "
           f"{type(err).__name__}: {err}", "error")
    return sr


def _signer(cert: ax509.Certificate) -> SignerInfo:
    subj = cert.subject.native
    cn = str(subj.get("common_name", ""))
    org = str(subj.get("organization_name", ""))
    is_org = False
    try:
        policies = cert.certificate_policies_value
        if policies is not None:
            is_org = any(p["policy_identifier"].dotted == ORG_SEAL_POLICY_OID for p in policies)
    except Exception:
        pass
    if not is_org and cn and cn == org and not (_PERSONAL_ATTRS & set(subj)):
        is_org = True
    return SignerInfo(common_name=cn, organization=org, subject=cert.subject.human_friendly,
                      issuer=cert.issuer.human_friendly, serial=format(cert.serial_number, "x"),
                      is_organization_seal=is_org, certificate_sha256=hashlib.sha256(cert.dump()).hexdigest(),
                      organization_identifier=str(subj.get("organization_identifier", "")))


def _coverage(level: Any) -> str | None:
    if level is None:
        return None
    return {"ENTIRE_FILE": "ENTIRE_FILE", "ENTIRE_REVISION": "ENTIRE_REVISION"}.get(level.name, "PARTIAL")


def _one(emb: Any, ctx: _Contexts, state: _FileState) -> SignatureReport:
    policy = state.policy
    is_ts = emb.sig_object_type == "/DocTimeStamp"
    sr = SignatureReport(field=str(emb.field_name or ""), kind="document_timestamp" if is_ts else "signature",
                         revision=emb.signed_revision + 1, indication=TOTAL_PASSED)
    if is_ts and emb.sig_object.get("/Type") != "/DocTimeStamp":
        sr.add("TIMESTAMP_IN_SIGNATURE_DICTIONARY",
               "Trường chữ ký chứa một dấu thời gian RFC 3161 (không phải chữ ký của người ký); được kiểm tra như "
               "dấu thời gian tài liệu.",
               "The signature field holds an RFC 3161 time-stamp token (not a signer's signature); it is checked "
               "as a document time-stamp.")
    try:
        sr.signer = _signer(_signer_cert(emb))
    except Exception:
        pass
    sr.digest_algorithm = emb.md_algorithm
    contents = None
    try:
        contents = bytes(emb.sig_object["/Contents"])
    except Exception:
        pass
    brc = check_byte_range(state.data, emb.byte_range, contents)
    try:
        sr.byte_range = [int(x) for x in emb.byte_range]
    except Exception:
        pass
    for f in brc.flags:
        sr.flag(f)
    for p in brc.problems:
        sr.add(p.code, p.vi, p.en, "error")
    if not brc.ok:
        sr.fail(TOTAL_FAILED, "FORMAT_FAILURE")
    _contents_padding(sr, contents)

    status: Any = None
    diff_error: Exception | None = None
    try:
        if is_ts:
            status = validate_pdf_timestamp(emb, validation_context=ctx.now)
        else:
            status = validate_pdf_signature(emb, signer_validation_context=ctx.now, ts_validation_context=ctx.now)
    except Exception as exc:
        if not is_ts and _ades_sub(exc) == "NO_SIGNING_CERTIFICATE_FOUND":
            status = _without_signing_certificate(emb)
        else:
            diff_error = exc
    if status is None:
        try:  # retry without the difference analysis: integrity and trust still matter
            emb.diff_result = None
            if is_ts:
                status = validate_pdf_timestamp(emb, validation_context=ctx.now, skip_diff=True)
            else:
                status = validate_pdf_signature(emb, signer_validation_context=ctx.now,
                                                ts_validation_context=ctx.now, skip_diff=True)
        except Exception as exc2:
            if not is_ts and _ades_sub(exc2) == "NO_SIGNING_CERTIFICATE_FOUND":
                status = _without_signing_certificate(emb)
            if status is None:
                sr.integrity = False if sr.integrity is None else sr.integrity
                sr.fail(INDETERMINATE, "FORMAT_FAILURE")
                sr.add("VALIDATOR_ERROR", "Trình kiểm tra gặp lỗi khi phân tích chữ ký; chữ ký không thể tin cậy.",
                       f"The validator failed on this signature; it cannot be trusted: {type(exc2).__name__}: "
                       f"{exc2}", "error")
                return sr

    ahead = _ahead_of_clock(status, emb, ctx, is_ts)

    # integrity: the signed bytes and the signature value; nothing else is judged when they fail (one headline)
    sr.integrity = bool(status.intact and status.valid)
    if not status.intact:
        sr.fail(TOTAL_FAILED, "HASH_FAILURE")
        sr.add("HASH_FAILURE", "Nội dung đã ký bị thay đổi (sai giá trị băm).",
               "The signed bytes were altered (digest mismatch).", "error")
    elif not status.valid:
        sr.fail(TOTAL_FAILED, "SIG_CRYPTO_FAILURE")
        sr.add("SIG_CRYPTO_FAILURE", "Giá trị chữ ký không hợp lệ.", "The signature value does not verify.", "error")
    elif not _signed_attrs_der(emb):
        sr.integrity = False
        sr.fail(TOTAL_FAILED, "HASH_FAILURE")
        sr.add("SIGNED_ATTRIBUTES_NOT_DER",
               "Các thuộc tính được ký của chữ ký (CMS) không được mã hoá DER như RFC 5652 §5.4 yêu cầu: chữ ký "
               "chỉ khớp với một cách mã hoá khác, không khớp với bản DER của chúng.",
               "The CMS signed attributes are not DER-encoded as RFC 5652 §5.4 requires: the signature only "
               "verifies over another encoding, not over their DER form.", "error")

    # coverage and modifications
    sr.coverage = _coverage(getattr(status, "coverage", None))
    if sr.coverage == "PARTIAL":
        sr.flag("nonstandard_coverage")
        sr.fail(TOTAL_FAILED, "FORMAT_FAILURE")
        sr.add("PARTIAL_COVERAGE", "Chữ ký không bao phủ toàn bộ bản sửa đổi đã ký.",
               "The signature does not cover its whole revision (non-standard coverage).", "error")
    level = getattr(status, "modification_level", None)
    sr.modifications = level.name if level is not None else None
    diff = getattr(status, "diff_result", None) or emb.diff_result
    if diff is not None and hasattr(diff, "changed_form_fields"):
        sr.changed_form_fields = sorted(diff.changed_form_fields)
    elif diff is not None:  # SuspiciousModification
        sr.modifications = "OTHER"
        sr.add("SUSPICIOUS_MODIFICATION", "Phát hiện thay đổi không được phép sau khi ký.",
               f"Disallowed modification after signing: {diff}", "error")
    if diff_error is not None:
        sr.add("DIFF_ANALYSIS_FAILED", "Không phân tích được các thay đổi sau khi ký; không thể tin cậy.",
               f"The modifications after signing could not be analysed; cannot be trusted: "
               f"{type(diff_error).__name__}: {diff_error}", "error")
    if getattr(status, "docmdp_ok", None) is False and emb.docmdp_level is not None:
        sr.flag("docmdp_violation")
        sr.modifications = "OTHER"
        sr.add("DOCMDP_VIOLATION", "Thay đổi vi phạm quyền chứng nhận (DocMDP).",
               "Changes violate the certification (DocMDP) permissions.", "error")

    _later_changes(sr, emb, brc.end, state, diff_error is not None or (diff is not None and not hasattr(
        diff, "changed_form_fields")))
    _trailing(sr, state.data)
    if sr.modifications == "OTHER" or sr.visual_changes or diff_error is not None and sr.modifications is None:
        sr.fail(TOTAL_FAILED if (sr.modifications == "OTHER" or sr.visual_changes) else INDETERMINATE,
                "FORMAT_FAILURE")
    elif sr.modifications == "ANNOTATIONS" and not policy.accept_annotations:
        sr.fail(INDETERMINATE, "SIG_CONSTRAINTS_FAILURE")
        sr.add("ANNOTATIONS_ADDED", "Có chú thích được thêm sau khi ký; chính sách không chấp nhận.",
               "Annotations were added after signing; the policy does not accept them.", "warning")

    # time
    sr.signing_time = _iso(getattr(status, "signer_reported_dt", None) or getattr(status, "timestamp", None))
    poe: datetime | None = None
    tsv = getattr(status, "timestamp_validity", None)
    if is_ts:
        poe = status.timestamp if status.intact and status.valid and status.trusted else None
        sr.timestamp = TimestampInfo(_iso(status.timestamp), sr.signer.common_name if sr.signer else "",
                                     bool(sr.integrity and status.trusted))
        sr.level = "B-LTA" if any(e.signed_revision > emb.signed_revision for e in state.embedded) else "unknown"
    else:
        if tsv is not None:
            ok = bool(tsv.intact and tsv.valid and tsv.trusted)
            tsa = tsv.signing_cert.subject.native.get("common_name", "") if tsv.signing_cert else ""
            sr.timestamp = TimestampInfo(_iso(tsv.timestamp), str(tsa), ok)
            poe = tsv.timestamp if ok else None
            if not (tsv.intact and tsv.valid):
                # an unsigned attribute anyone can add or replace: it proves nothing, the signature stands alone
                sr.flag("timestamp_invalid")
                sr.add("TIMESTAMP_INVALID",
                       "Dấu thời gian gắn với chữ ký không hợp lệ (không khớp với giá trị chữ ký hoặc chữ ký của "
                       "đơn vị cấp dấu thời gian sai) nên không chứng minh được thời điểm ký; chữ ký được đánh giá "
                       "như không có dấu thời gian. Nội dung đã ký vẫn nguyên vẹn.",
                       "The signature time-stamp is invalid (its imprint does not match the signature value, or "
                       "the TSA's signature does not verify), so it proves nothing about the signing time; the "
                       "signature is judged as if it had none. The signed content is intact.", "warning")
                tsv = None
            elif not tsv.trusted and not ahead:
                sr.add("TIMESTAMP_UNTRUSTED", "Dấu thời gian không xác thực được tới gốc tin cậy.",
                       "The signature time-stamp does not chain to a trust anchor.", "warning")
        sr.level = _level(emb, tsv, ctx, state)

    if not brc.ok:
        # a forged ByteRange: that is the reason. What pyHanko derives from the bytes it names (digest, coverage,
        # "suspicious" updates) would only contradict or repeat it; flags and the integrity value stay
        sr.messages = [m for m in sr.messages if m.code not in _FOLLOW_FROM_BYTE_RANGE]
    if not sr.integrity or not brc.ok:
        # the signed bytes do not match: trust, algorithms and revocation of a signature over other bytes are
        # beside the point (and pyHanko does not evaluate them); the integrity failure is the one reason given
        sr.trusted = None
        sr.revoked = None
    elif getattr(status, "signing_certificate_mismatch", False):
        _signing_certificate_mismatch(sr)
    else:
        if not is_ts:
            _crypto_policy(sr, emb, policy)
            _signer_policy(sr, emb, policy)
        _chain_policy(sr, status, policy, is_ts)
        if ahead:
            _clock_behind(sr, status, emb, ctx, ahead)
        else:
            _trust(sr, status, emb, ctx, poe, is_ts, state)
        if ctx.no_revinfo and policy.require_revocation and sr.indication == TOTAL_PASSED:
            sr.fail(INDETERMINATE, "TRY_LATER")
            sr.add("NO_REVOCATION_DATA", "Không có dữ liệu thu hồi nhúng trong tệp (chế độ ngoại tuyến).",
                   "No embedded revocation data (offline mode).", "warning")
    if sr.signer is not None and sr.kind == "signature":
        if sr.signer.is_organization_seal:
            sr.add("ORGANIZATION_SEAL", f"Chữ ký số của cơ quan, tổ chức: {sr.signer.common_name}.",
                   f"Organization seal: {sr.signer.common_name}.")
        else:
            sr.add("PERSONAL_SIGNATURE", f"Chữ ký số cá nhân: {sr.signer.common_name}.",
                   f"Personal signature: {sr.signer.common_name}.")
    if sr.indication == TOTAL_PASSED:
        sr.subindication = None
        sr.add("PASSED", "Chữ ký hợp lệ.", "The signature is valid.")
    return sr


_FOLLOW_FROM_BYTE_RANGE = {"HASH_FAILURE", "SIG_CRYPTO_FAILURE", "SIGNED_ATTRIBUTES_NOT_DER", "PARTIAL_COVERAGE",
                           "SUSPICIOUS_MODIFICATION", "DIFF_ANALYSIS_FAILED", "TIMESTAMP_INVALID"}


def _signer_cert(emb: Any) -> ax509.Certificate:
    """The certificate that the CMS names as the signer's, even when pyHanko refuses it because the
    signing-certificate attribute does not match (``emb.signer_cert`` raises then)."""
    try:
        return emb.signer_cert
    except Exception:
        from pyhanko.sign.general import extract_certificate_info

        return extract_certificate_info(emb.signed_data).signer_cert


def _ades_sub(exc: BaseException) -> str | None:
    """The AdES sub-indication pyHanko attached to a validation error, if any."""
    sub = getattr(exc, "ades_subindication", None)
    return str(getattr(sub, "name", sub)) if sub is not None else None


def _without_signing_certificate(emb: Any) -> Any:
    """See ``_status_without_signing_certificate``; None when even that cannot be computed (the caller then
    reports a validator error, as for any other failure)."""
    try:
        return _status_without_signing_certificate(emb)
    except Exception as exc:
        log.info("integrity check without the signing-certificate attribute failed: %s", exc)
        return None


def _status_without_signing_certificate(emb: Any) -> Any:
    """Status of a signature whose signing-certificate(-v2) attribute does not match the certificate that
    verifies it. pyHanko stops with an error; ETSI EN 319 102-1 (5.2.3, identification of the signing
    certificate) makes that INDETERMINATE / NO_SIGNING_CERTIFICATE_FOUND, and says nothing against the signed
    bytes: integrity is checked here as pyHanko would (message digest vs the ByteRange digest, signature value
    over the signed attributes), while coverage and the difference analysis, which pyHanko ran before the
    attribute check, are kept."""
    from types import SimpleNamespace

    from cryptography.exceptions import InvalidSignature
    from pyhanko.sign.validation.utils import extract_message_digest
    from pyhanko_certvalidator.errors import PSSParameterMismatch
    from pyhanko_certvalidator.sig_validate import DefaultSignatureValidator, SignatureValidationContext

    si = emb.signer_info
    intact = extract_message_digest(si) == emb.compute_digest()
    try:
        DefaultSignatureValidator().validate_signature(
            si["signature"].native, si["signed_attrs"].untag().dump(), _signer_cert(emb).public_key,
            si["signature_algorithm"], context=SignatureValidationContext(contextual_md_algorithm=emb.md_algorithm))
        valid = True
    except (InvalidSignature, PSSParameterMismatch):
        valid = False
    diff = emb.diff_result
    return SimpleNamespace(intact=intact, valid=valid, coverage=emb.coverage, diff_result=diff,
                           modification_level=getattr(diff, "modification_level", None),
                           docmdp_ok=None, trusted=False, revoked=False, signing_certificate_mismatch=True)


def _signing_certificate_mismatch(sr: SignatureReport) -> None:
    sr.trusted = False
    sr.fail(INDETERMINATE, "NO_SIGNING_CERTIFICATE_FOUND")
    sr.add("SIGNING_CERTIFICATE_MISMATCH",
           "Thuộc tính signing-certificate-v2 của chữ ký không khớp với chứng thư dùng để ký: không xác định được "
           "chứng thư của người ký. Nội dung đã ký vẫn nguyên vẹn.",
           "The signature's signing-certificate-v2 attribute does not match the certificate that verifies it: the "
           "signer's certificate cannot be identified. The signed content is intact.", "error")


def _signed_attrs_der(emb: Any) -> bool:
    """RFC 5652 §5.4: the signature is computed over the DER encoding of the signed attributes. pyHanko verifies
    over the bytes as found (tolerating BER); a verifier that re-encodes them in DER, as the standard says and
    DSS does, gets a different input, so a signature that verifies only over a non-DER form is not intact.
    True when there are no signed attributes."""
    try:
        attrs = emb.signer_info["signed_attrs"]
        if attrs is None or not len(attrs):
            return True
        return is_der(attrs.dump(), as_set=True)
    except Exception:
        return False


def _contents_padding(sr: SignatureReport, contents: bytes | None) -> None:
    """Bytes after the CMS structure in ``/Contents`` must be zero padding. Anything else is data smuggled in
    the unsigned gap: reported (the signature itself is not affected)."""
    if not contents:
        return
    try:
        rest = trailing_after_element(contents)
    except BerError:
        return  # an undelimitable CMS fails the CMS parse and is reported there
    junk = len(rest.rstrip(b"\0"))
    if junk:
        sr.flag("contents_trailing_data")
        sr.add("CONTENTS_TRAILING_DATA",
               f"Sau cấu trúc chữ ký (CMS) trong /Contents có {junk} byte dữ liệu lạ thay vì các byte 0 đệm; "
               f"chúng không được ký.",
               f"{junk} bytes of unexpected data follow the CMS structure in /Contents instead of zero padding; "
               f"they are not signed.", "warning")


def _signer_policy(sr: SignatureReport, emb: Any, policy: ValidationPolicy) -> None:
    """The signer certificate must be meant for signing documents: a key usage among
    ``policy.signer_key_usages`` (digitalSignature or nonRepudiation); an extended key usage extension, when
    present, allowing document signing (``policy.signer_ekus``); not a CA certificate. Otherwise (or when the
    extensions cannot be read: fail closed) INDETERMINATE / SIG_CONSTRAINTS_FAILURE."""
    try:
        cert = emb.signer_cert
        ku = cert.key_usage_value
        eku = cert.extended_key_usage_value
        bc = cert.basic_constraints_value
        usages = set(ku.native) if ku is not None else set()
        purposes = [p.dotted for p in eku] if eku is not None else None
        is_ca = bool(bc is not None and bc["ca"].native)
    except Exception as exc:
        sr.fail(INDETERMINATE, "SIG_CONSTRAINTS_FAILURE")
        sr.add("SIGNER_CERTIFICATE_UNREADABLE",
               "Không đọc được các phần mở rộng (key usage, extended key usage, basic constraints) của chứng thư "
               "người ký; không thể chấp nhận.",
               f"The signer certificate's extensions (key usage, extended key usage, basic constraints) cannot be "
               f"read; it cannot be accepted: {type(exc).__name__}: {exc}", "error")
        return
    name = _cn(cert)
    if is_ca:
        sr.fail(INDETERMINATE, "SIG_CONSTRAINTS_FAILURE")
        sr.add("SIGNER_IS_CA",
               f"Chứng thư “{name}” là chứng thư của tổ chức cung cấp dịch vụ chứng thực (CA: TRUE), không phải "
               f"chứng thư dùng để ký văn bản.",
               f"Certificate “{name}” is a certification authority certificate (CA: TRUE), not a document "
               f"signer's.", "error")
    if not usages & policy.signer_key_usages:
        shown = ", ".join(sorted(usages)) or "—"
        sr.fail(INDETERMINATE, "SIG_CONSTRAINTS_FAILURE")
        sr.add("SIGNER_KEY_USAGE",
               f"Chứng thư “{name}” không cho phép ký số (key usage: {shown}; cần digitalSignature hoặc "
               f"nonRepudiation).",
               f"Certificate “{name}” does not allow signing (key usage: {shown}; digitalSignature or "
               f"nonRepudiation is required).", "error")
    if purposes is not None and not set(purposes) & policy.signer_ekus:
        shown = ", ".join(purposes) or "—"
        sr.fail(INDETERMINATE, "SIG_CONSTRAINTS_FAILURE")
        sr.add("SIGNER_EXTENDED_KEY_USAGE",
               f"Chứng thư “{name}” chỉ dành cho mục đích khác (extended key usage: {shown}), không cho phép ký "
               f"văn bản.",
               f"Certificate “{name}” is restricted to other purposes (extended key usage: {shown}) and does not "
               f"allow document signing.", "error")


# what, in Vietnamese and English, for the clock message
_WHAT = {"signing_time": ("thời điểm ký", "the signing time"),
         "timestamp": ("dấu thời gian", "the time-stamp"),
         "certificate": ("thời điểm bắt đầu hiệu lực của chứng thư ký", "the signer certificate's notBefore")}


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def _ahead_of_clock(status: Any, emb: Any, ctx: _Contexts, is_ts: bool) -> dict[str, datetime]:
    """Evidence later than the validation time by more than the clock tolerance (validation "now" only):
    {"signing_time" | "timestamp" | "certificate": the time}. Empty when nothing is in the future."""
    if not ctx.live or ctx.tolerance is None:
        return {}
    found: dict[str, datetime | None] = {}
    if is_ts:
        found["timestamp"] = getattr(status, "timestamp", None)
    else:
        tsv = getattr(status, "timestamp_validity", None)
        found["timestamp"] = getattr(tsv, "timestamp", None) if tsv is not None else None
        if found["timestamp"] is None:  # the signer's claimed time counts only where no time-stamp vouches:
            # a sender must not be able to park its document (or hide a revocation) behind a made-up future date
            found["signing_time"] = getattr(status, "signer_reported_dt", None)
    try:
        found["certificate"] = emb.signer_cert.not_valid_before
    except Exception:
        pass
    limit = ctx.moment + ctx.tolerance
    return {k: _aware(v) for k, v in found.items() if v is not None and _aware(v) > limit}


def _clock_behind(sr: SignatureReport, status: Any, emb: Any, ctx: _Contexts, ahead: dict[str, datetime]) -> None:
    """The signature comes from the future of this node's clock: INDETERMINATE (never FAILED, never PASSED), so
    that the exchange receiver retries and the document passes once the clock is right. NOT_YET_VALID when the
    signer certificate itself is not yet valid at the validation time (beyond the tolerance), else TRY_LATER."""
    sr.trusted = bool(status.trusted)
    sr.revoked = bool(getattr(status, "revoked", False))
    sr.fail(INDETERMINATE, "NOT_YET_VALID" if "certificate" in ahead else "TRY_LATER")
    key = max(ahead, key=lambda k: ahead[k])
    seconds = int((ahead[key] - ctx.moment).total_seconds())
    tol = int(ctx.tolerance.total_seconds()) if ctx.tolerance is not None else 0
    vi_what, en_what = _WHAT[key]
    sr.add("VALIDATION_TIME_BEFORE_SIGNING",
           f"{vi_what[0].upper() + vi_what[1:]} ({_iso(ahead[key])}) muộn hơn thời điểm kiểm tra "
           f"({_iso(ctx.moment)}) {seconds} giây, vượt mức sai lệch cho phép {tol} giây. Đồng hồ của máy chủ "
           f"kiểm tra có thể bị chậm: hãy kiểm tra đồng bộ thời gian (NTP) rồi kiểm tra lại.",
           f"{en_what[0].upper() + en_what[1:]} ({_iso(ahead[key])}) is later than the validation time "
           f"({_iso(ctx.moment)}) by {seconds} s, beyond the {tol} s clock tolerance. This node's clock may be "
           f"slow: check its time synchronisation (NTP) and validate again.", "error")


def _level(emb: Any, tsv: Any, ctx: _Contexts, state: _FileState) -> str:
    if emb.sig_object.get("/SubFilter") not in ("/ETSI.CAdES.detached", "/ETSI.RFC3161"):
        return "unknown"
    if tsv is None:
        return "B-B"
    if not ctx.has_revinfo:
        return "B-T"
    later_ts = any(e.sig_object_type == "/DocTimeStamp" and e.signed_revision > emb.signed_revision
                   for e in state.embedded)
    return "B-LTA" if later_ts else "B-LT"


def _unreadable_key(sr: SignatureReport, vi_what: str, en_what: str, exc: BaseException | None) -> None:
    """Fail closed: a key or certificate the algorithm policy cannot read is not a skipped check."""
    why = f": {type(exc).__name__}: {exc}" if exc is not None else ""
    sr.fail(INDETERMINATE, "CRYPTO_CONSTRAINTS_FAILURE")
    sr.add("KEY_UNREADABLE", f"Không đọc được {vi_what} để kiểm tra thuật toán và độ dài khoá; không thể chấp nhận.",
           f"{en_what[0].upper() + en_what[1:]} cannot be read to check its algorithm and key size; it cannot be "
           f"accepted{why}", "error")


def _crypto_policy(sr: SignatureReport, emb: Any, policy: ValidationPolicy) -> None:
    md = (emb.md_algorithm or "").lower()
    if md not in policy.allowed_digests:
        sr.fail(INDETERMINATE, "CRYPTO_CONSTRAINTS_FAILURE")
        sr.add("WEAK_DIGEST", f"Thuật toán băm {md} không được chính sách chấp nhận.",
               f"Digest algorithm {md} is not accepted by the policy.", "error")
    try:
        pk = emb.signer_cert.public_key
    except Exception as exc:
        _unreadable_key(sr, "khoá công khai của người ký", "the signer's public key", exc)
        return
    found = _key_minimum(pk, policy)
    if found is None:
        _unreadable_key(sr, "khoá công khai của người ký", "the signer's public key", None)
        return
    algo, bits, minimum = found
    if bits < minimum:
        sr.fail(INDETERMINATE, "CRYPTO_CONSTRAINTS_FAILURE")
        sr.add("WEAK_KEY", f"Khoá {algo.upper()} {bits} bit yếu hơn mức tối thiểu {minimum} bit.",
               f"{algo.upper()} key of {bits} bits is below the {minimum}-bit minimum.", "error")


def _key_minimum(pk: Any, policy: ValidationPolicy) -> tuple[str, int, int] | None:
    """(algorithm, bits, policy minimum) of an asn1crypto public key, or None when it cannot be read."""
    try:
        algo = str(pk.algorithm)
        if algo in _EDDSA_BITS:  # fixed-size and strong (asn1crypto cannot size them)
            return algo, _EDDSA_BITS[algo], 0
        bits = int(pk.bit_size)
    except Exception:
        return None
    if algo not in ("rsa", "rsassa_pss", "dsa", "ec"):
        return None  # an algorithm the policy does not know is not a weak key to wave through
    # DSA is held to the RSA minimum (same finite-field strength)
    minimum = policy.min_rsa_bits if algo in ("rsa", "rsassa_pss", "dsa") else policy.min_ec_bits
    return algo, bits, minimum


_EDDSA_BITS = {"ed25519": 256, "ed448": 456}


def _cert_digest(cert: ax509.Certificate) -> str | None:
    """Hash algorithm of the signature *on* ``cert`` (None for EdDSA, whose hash is intrinsic and strong)."""
    sig_algo = cert["signature_algorithm"]
    if sig_algo.signature_algo in ("ed25519", "ed448"):
        return None
    try:
        return str(sig_algo.hash_algo).lower()
    except Exception:
        return str(sig_algo["algorithm"].native).lower()  # unknown / unparsable: never in allowed_digests


# role of a path in the messages: (vi, en)
_ROLES = {"signer": ("chuỗi chứng thư của người ký", "the signer's certificate chain"),
          "tsa": ("chuỗi chứng thư của dấu thời gian", "the time-stamp's certificate chain")}


def _chain_policy(sr: SignatureReport, status: Any, policy: ValidationPolicy, is_ts: bool) -> None:
    """The algorithm policy on every certificate of the validated paths (the signer's, or the document
    time-stamp's, and the signature time-stamp's): the hash of the signature on each certificate below the trust
    anchor, and the key of every certificate that signs something in the path (the anchor's key included: it
    signs the chain; the anchor's self-signature is not judged, the anchor is trusted by configuration). The
    signer's own key and digest are ``_crypto_policy``'s; a time-stamping authority's own key is judged here
    (it signs the token). Same verdict as a weak signer key: INDETERMINATE / CRYPTO_CONSTRAINTS_FAILURE."""
    paths: list[tuple[str, Any, bool]] = []  # (role, path, judge the leaf key)
    paths.append(("tsa" if is_ts else "signer", getattr(status, "validation_path", None), is_ts))
    if not is_ts:
        tsv = getattr(status, "timestamp_validity", None)
        if tsv is not None:
            paths.append(("tsa", getattr(tsv, "validation_path", None), True))
    seen: set[tuple[bytes, str]] = set()
    for role, path, leaf_key in paths:
        if path is None:
            continue
        vi_role, en_role = _ROLES[role]
        try:
            anchor = path.trust_anchor.authority
            certs = [c for c in path.iter_certs(include_root=False) if isinstance(c, ax509.Certificate)]
            anchor_name = str(anchor.name.native.get("common_name", "") or anchor.name.human_friendly)
            anchor_key = anchor.public_key
        except Exception as exc:  # fail closed: a path that cannot be read is not a path that passed
            _unreadable_key(sr, vi_role, en_role, exc)
            continue
        # keys: the anchor's, each intermediate's, and the leaf's only for a time-stamping authority
        signers = [(anchor_name, anchor_key, b"anchor:" + anchor_key.dump())]
        for i, c in enumerate(certs):
            if i < len(certs) - 1 or leaf_key:
                signers.append((_cn(c), c.public_key, c.sha256))
        for name, pk, ident in signers:
            if (ident, "key") in seen:
                continue
            found = _key_minimum(pk, policy)
            if found is None:
                seen.add((ident, "key"))
                _unreadable_key(sr, f"khoá của chứng thư “{name}” trong {vi_role}",
                                f"the key of certificate “{name}” in {en_role}", None)
                continue
            algo, bits, minimum = found
            if bits < minimum:
                seen.add((ident, "key"))
                sr.fail(INDETERMINATE, "CRYPTO_CONSTRAINTS_FAILURE")
                sr.add("WEAK_CHAIN_KEY",
                       f"Chứng thư “{name}” trong {vi_role} có khoá {algo.upper()} {bits} bit, yếu hơn mức tối "
                       f"thiểu {minimum} bit.",
                       f"Certificate “{name}” in {en_role} has a {algo.upper()} key of {bits} bits, below the "
                       f"{minimum}-bit minimum.", "error")
        for c in certs:
            try:
                md = _cert_digest(c)
            except Exception:
                md = "unreadable"  # never in allowed_digests: fail closed
            if md is None or md in policy.allowed_digests or (c.sha256, "sig") in seen:
                continue
            seen.add((c.sha256, "sig"))
            sr.fail(INDETERMINATE, "CRYPTO_CONSTRAINTS_FAILURE")
            sr.add("WEAK_CHAIN_SIGNATURE",
                   f"Chứng thư “{_cn(c)}” trong {vi_role} được ký bằng thuật toán băm {md}, không được chính "
                   f"sách chấp nhận.",
                   f"Certificate “{_cn(c)}” in {en_role} is signed with digest algorithm {md}, which the policy "
                   f"does not accept.", "error")


def _cn(cert: ax509.Certificate) -> str:
    try:
        return str(cert.subject.native.get("common_name", "") or cert.subject.human_friendly)
    except Exception:
        return ""


def _indic_name(indic: Any) -> str:
    return str(getattr(indic, "name", indic or "NO_CERTIFICATE_CHAIN_FOUND"))


def _trust(sr: SignatureReport, status: Any, emb: Any, ctx: _Contexts, poe: datetime | None, is_ts: bool,
           state: _FileState) -> None:
    sr.trusted = bool(status.trusted)
    sr.revoked = bool(getattr(status, "revoked", False))
    try:
        path = status.validation_path
        if path is not None:
            sr.chain = [c.subject.native.get("common_name", "") for c in path.iter_certs(include_root=True)]
    except Exception:
        pass
    if status.trusted and not sr.revoked:
        return
    details = getattr(status, "revocation_details", None)
    rdate = getattr(details, "revocation_date", None)
    claimed = getattr(status, "signer_reported_dt", None)
    indic = _indic_name(getattr(status, "trust_problem_indic", None))
    if sr.revoked:
        if rdate is not None and poe is not None and rdate > poe and _valid_at(emb, ctx, poe, is_ts):
            sr.revoked = False
            sr.trusted = True
            sr.add("REVOKED_AFTER_SIGNING",
                   f"Chứng thư bị thu hồi lúc {_iso(rdate)}, sau thời điểm ký đã được chứng minh bằng dấu thời gian.",
                   f"The certificate was revoked at {_iso(rdate)}, after the time-stamped signing time.", "warning")
            return
        ref = poe or claimed
        if rdate is not None and ref is not None and rdate <= ref:
            sr.fail(TOTAL_FAILED, "REVOKED")
            sr.add("REVOKED", f"Chứng thư đã bị thu hồi lúc {_iso(rdate)}, trước thời điểm ký.",
                   f"The certificate was revoked at {_iso(rdate)}, before the signing time.", "error")
        else:
            sr.fail(INDETERMINATE, "REVOKED_NO_POE")
            sr.add("REVOKED_NO_POE", "Chứng thư đã bị thu hồi và không có dấu thời gian chứng minh chữ ký có trước.",
                   "The certificate is revoked and no time-stamp proves the signature existed before.", "error")
        return
    if poe is not None and indic in ("OUT_OF_BOUNDS_NO_POE", "OUT_OF_BOUNDS_NOT_REVOKED", "EXPIRED",
                                     "REVOKED_NO_POE", "NO_POE") and _valid_at(emb, ctx, poe, is_ts):
        sr.trusted = True
        sr.add("VALID_AT_TIMESTAMP", f"Chứng thư hợp lệ tại thời điểm dấu thời gian {_iso(poe)}.",
               f"The certificate was valid at the time-stamp time {_iso(poe)}.", "info")
        return
    if indic != "NO_CERTIFICATE_CHAIN_FOUND" and _self_signed_stranger(emb, state):
        # pyHanko reports a lone self-signed certificate as a constraint failure; ETSI: no chain was found
        sr.add("SELF_SIGNED_CERTIFICATE", "Chứng thư của người ký là chứng thư tự ký, không thuộc gốc tin cậy nào.",
               "The signer's certificate is self-signed and is not a configured trust anchor.", "error")
        indic = "NO_CERTIFICATE_CHAIN_FOUND"
    if indic == "NOT_YET_VALID":
        sr.fail(TOTAL_FAILED, "NOT_YET_VALID")
    else:
        sr.fail(INDETERMINATE, indic)
    en = {"NO_CERTIFICATE_CHAIN_FOUND": "No certificate chain to a configured trust anchor.",
          "OUT_OF_BOUNDS_NO_POE": "The certificate is outside its validity period and no time-stamp proves "
                                  "earlier signing.",
          "SIG_CONSTRAINTS_FAILURE": "The certificate is not allowed for this use (key usage).",
          "TRY_LATER": "Revocation status could not be obtained; try later."}.get(
        indic, f"The certificate cannot be trusted ({indic}).")
    vi = {"NO_CERTIFICATE_CHAIN_FOUND": "Không xây dựng được chuỗi chứng thư tới gốc tin cậy đã cấu hình.",
          "OUT_OF_BOUNDS_NO_POE": "Chứng thư ngoài thời hạn hiệu lực và không có dấu thời gian chứng minh ký trước đó.",
          "SIG_CONSTRAINTS_FAILURE": "Chứng thư không được phép dùng cho mục đích này (key usage).",
          "TRY_LATER": "Không lấy được tình trạng thu hồi; hãy thử lại sau."}.get(
        indic, f"Chứng thư không thể tin cậy ({indic}).")
    sr.add(indic, vi, en, "error")


def _self_signed_stranger(emb: Any, state: _FileState) -> bool:
    """The signer certificate is self-issued (subject = issuer) and not one of the policy's trust anchors."""
    try:
        cert = emb.signer_cert
        if cert.subject != cert.issuer:
            return False
        return hashlib.sha256(cert.dump()).hexdigest() not in set(state.anchor_digests())
    except Exception:
        return False


def _valid_at(emb: Any, ctx: _Contexts, poe: datetime, is_ts: bool) -> bool:
    """Re-check the signer's certificate at a proof-of-existence time (past-signature validation)."""
    try:
        vc = ctx.at(poe, retro=True)
        if is_ts:
            st = validate_pdf_timestamp(emb, validation_context=vc, skip_diff=True)
        else:
            st = validate_pdf_signature(emb, signer_validation_context=vc, ts_validation_context=ctx.now,
                                        skip_diff=True)
        return bool(st.trusted and not getattr(st, "revoked", False))
    except Exception:
        return False


def _later_changes(sr: SignatureReport, emb: Any, signed_end: int | None, state: _FileState, suspicious: bool) -> None:
    """Concrete changes after the signed revision; rendering only when they are not pure signing/LTA updates."""
    data = state.data
    if signed_end is None or len(data[signed_end:].strip()) == 0:
        return
    try:
        meta = changes_mod.metadata_changes(emb.reader, emb.signed_revision)
    except Exception as exc:  # listing only: the verdict comes from the difference analysis
        meta = []
        log.info("metadata comparison failed: %s", exc)
    later = [e for e in state.embedded if e.signed_revision > emb.signed_revision]
    later_sig_fields = {e.field_name for e in later}
    only_signing = (sr.modifications in ("NONE", "LTA_UPDATES") or (
        sr.modifications == "FORM_FILLING" and set(sr.changed_form_fields) <= later_sig_fields)) and not suspicious
    if only_signing:
        for e in later:
            sr.changes.append({"revision": e.signed_revision + 1, "field": str(e.field_name),
                               "what": "document_timestamp_added" if e.sig_object_type == "/DocTimeStamp"
                               else "signature_added"})
        sr.changes.extend(meta)
        sr.changes.sort(key=lambda c: c["revision"])
        # a later signature's stamp may not cover signed content (only signature widgets can have changed here)
        if state.policy.visual_check and any(_has_stamp(e) for e in later):
            _covering(sr, emb, signed_end, state)
        return
    base = state.snap(signed_end)
    ends = [x for x in revision_ends(data, signed_end) if x > signed_end + 1]
    if not ends or ends[-1] < len(data):
        ends.append(len(data))
    prev = base
    own = None
    for k, end in enumerate(ends):
        cur = state.snap(end)
        if prev is not None and cur is not None:
            found = changes_mod.compare(prev, cur, (emb.signed_revision + 1) + k + 1)
            sr.changes.extend(found)
            for c in found:
                own = max_mod(own, changes_mod.LEVEL_OF.get(c["what"]))
        if cur is not None:
            prev = cur
    sr.changes.extend(meta)
    sr.changes.sort(key=lambda c: c["revision"])
    if own is not None:
        sr.modifications = max_mod(sr.modifications, own)
    for c in sr.changes:
        if c["what"] in ("page_added", "page_removed"):
            sr.flag("page_count_changed")
        if c["what"] == "annotation_added":
            sr.flag("annotation_changes")
    if state.policy.visual_check:
        _visual(sr, emb, signed_end, state)


def _has_stamp(emb: Any) -> bool:
    """Whether a signature's widget can show anything (a non-empty rectangle, not hidden); True when unsure."""
    try:
        field = emb.sig_field
        widget = field if "/Rect" in field else field["/Kids"][0].get_object()
        r = [float(x) for x in widget["/Rect"]]
        if abs(r[2] - r[0]) < 1 or abs(r[3] - r[1]) < 1:
            return False
        return not int(widget.get("/F", 0)) & (2 | 32)
    except Exception:
        return True


def _trailing(sr: SignatureReport, data: bytes) -> None:
    """Bytes after the last revision that are not an incremental update: reported; objects there fail."""
    count, objects = trailing_bytes(data)
    if not count:
        return
    if objects:
        sr.flag("unsigned_trailing_objects")
        sr.fail(TOTAL_FAILED, "FORMAT_FAILURE")
        sr.add("UNSIGNED_TRAILING_OBJECTS",
               f"Sau phần cuối tệp (%%EOF) còn {count} byte định nghĩa đối tượng PDF nhưng không thuộc bản cập nhật "
               f"hợp lệ nào và không được ký; một số trình đọc sẽ hiển thị chúng.",
               f"{count} bytes after the end of the file (%%EOF) define PDF objects outside any valid incremental "
               f"update and are not signed; some readers would show them.", "error")
    else:
        sr.add("TRAILING_BYTES", f"Sau phần cuối tệp (%%EOF) còn {count} byte không được ký.",
               f"{count} unsigned bytes follow the end of the file (%%EOF).", "warning")


def _visual(sr: SignatureReport, emb: Any, signed_end: int, state: _FileState) -> None:
    policy = state.policy
    try:
        before = visual.render(state.data[:signed_end], policy.render_dpi, policy.max_render_pages, policy.time_limit_s)
        after = state.final_render()
        final = state.renders.layout(len(state.data))
    except Exception as exc:
        sr.add("RENDER_FAILED", "Không dựng hình được trang để so sánh trực quan.",
               f"Pages could not be rendered for the visual comparison: {exc}", "warning")
        sr.fail(INDETERMINATE, "FORMAT_FAILURE")
        return
    # widgets whose appearance is new or changed (filled fields, switched checkboxes, later signatures): masked
    # here, and judged by the covering check instead
    widgets = _covering(sr, emb, signed_end, state)
    for i in range(min(len(before), len(after))):
        box, rotate = final.pages[i] if i < len(final.pages) else ((0.0, 0.0, 612.0, 792.0), 0)
        masks = [w.rect for w in widgets if w.page == i]
        ratio = visual.changed_ratio(before[i], after[i], masks, box, policy.render_dpi, rotate)
        if ratio > policy.visual_threshold:
            sr.visual_changes.append({"page": i + 1, "changed_ratio": round(ratio, 5)})
    # a page that exists on one side only is entirely changed (within the rendered pages)
    for i in range(min(len(before), len(after)), max(len(before), len(after))):
        sr.visual_changes.append({"page": i + 1, "changed_ratio": 1.0,
                                  "what": "page_added" if i >= len(before) else "page_removed"})
    if sr.visual_changes:
        sr.flag("visual_difference")
        pages = ", ".join(str(v["page"]) for v in sr.visual_changes)
        sr.add("VISUAL_CHANGE", f"Nội dung hiển thị đã thay đổi sau khi ký (trang {pages}).",
               f"What the document shows changed after signing (page {pages}).", "error")


def _covering(sr: SignatureReport, emb: Any, signed_end: int, state: _FileState) -> list[visual.Widget]:
    """Widgets whose appearance is new or changed since the signed revision may only draw where that revision
    showed nothing (or an earlier signature's stamp): otherwise ``content_covered``, TOTAL_FAILED. Renders
    only the pages of such widgets; returns them (the visual comparison masks them)."""
    renders, end = state.renders, len(state.data)
    try:
        widgets = visual.changed_widgets(renders.layout(signed_end), renders.layout(end))
        found = visual.find_covered(renders, signed_end, end, widgets)
    except Exception as exc:
        sr.add("RENDER_FAILED", "Không dựng hình được trang để so sánh trực quan.",
               f"Pages could not be rendered for the visual comparison: {exc}", "warning")
        sr.fail(INDETERMINATE, "FORMAT_FAILURE")
        return []
    for c in found:
        box = "[" + ", ".join(f"{x:g}" for x in c.box) + "]"
        what_vi = "Chữ ký số" if c.signature else "Trường biểu mẫu"
        what_en = "Signature" if c.signature else "Form field"
        sr.changes.append({"revision": _revision_of(c, emb, signed_end, state), "what": "content_covered",
                           "page": c.page, "box": list(c.box), "field": c.field, "covered_share": c.share})
        sr.add("CONTENT_COVERED",
               f"{what_vi} “{c.field}” được thêm hoặc thay đổi sau khi ký và che nội dung đã ký ở trang {c.page}, "
               f"vùng {box} (điểm PDF): nội dung hiển thị khác nội dung đã ký.",
               f"{what_en} “{c.field}”, added or changed after signing, covers signed content on page {c.page}, "
               f"box {box} (PDF points): what is shown is not what was signed.", "error")
    if found:
        sr.flag("content_covered")
        sr.fail(TOTAL_FAILED, "FORMAT_FAILURE")
    return widgets


def _revision_of(c: visual.Covered, emb: Any, signed_end: int, state: _FileState) -> int | None:
    """1-based revision that gave the widget its final appearance (first later revision showing it)."""
    final = state.renders.layout(len(state.data))
    target = next((w for w in final.widgets.values() if w.page == c.page - 1 and w.name == c.field
                   and w.look is not None), None)
    ends = [x for x in revision_ends(state.data, signed_end) if x > signed_end + 1]
    first = emb.signed_revision + 1  # the signed revision's number
    for k, end in enumerate(ends):
        try:
            lay = state.renders.layout(end)
        except Exception:
            continue
        if target is not None and lay.widgets.get((target.page, target.key), None) is not None and \
                lay.widgets[(target.page, target.key)].look == target.look:
            return first + k + 1
    return first + len(ends) if ends else None
