"""Clock skew on the validating node (docs/decisions.md, "Clock tolerance"): evidence up to
``clock_tolerance_s`` in the future of the node's clock passes; further is INDETERMINATE with a message telling
the operator to check NTP (never TOTAL_FAILED: the exchange receiver retries, and the document passes once the
clock is right). A fast clock keeps passing; an explicit ``at`` (auditor's past-time question) is unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from docexchange.node_signing import node_signing
from docexchange.signing import KeyResolver, SignOptions
from docexchange.signing.validation import INDETERMINATE, TOTAL_FAILED, TOTAL_PASSED, ValidationPolicy, validate_pdf
from docexchange.signing.validation import engine as vengine
from docexchange.signing.validation.policy import load_certs
from tests.conftest import LiveNode
from tests.signing.pdfgen import decree30_pdf

LEVELS = ["B-T", "B-LT"]


@pytest.fixture(scope="module")
def docs(live_node: LiveNode, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The same attachment signed by the node's engine (in-process TSA) at B-T and at B-LT, just now."""
    svc: Any = live_node.services
    d = tmp_path_factory.mktemp("clock")
    src = decree30_pdf(d / "qd.pdf", signer="Nguyễn Văn Thắng", position="BỘ TRƯỞNG", authority="")
    seal = KeyResolver(certs_dir=live_node.certs_dir, db=svc.db).resolve("agency:000.00.00.G09", live_node.demo_pin)
    out = {}
    for level in LEVELS:
        dst = d / f"{level}.pdf"
        node_signing(svc).sign(src, dst, seal, "attachment", SignOptions(text="Số: 15/QĐ-BNV"), level=level)
        out[level] = dst.read_bytes()
    return out


@pytest.fixture(scope="module")
def policy_kw(live_node: LiveNode) -> dict[str, Any]:
    return {"trust_anchors": load_certs(live_node.anchors), "visual_check": False}


def _skewed(monkeypatch: pytest.MonkeyPatch, seconds: float) -> datetime:
    """The validating node's clock is ``seconds`` off (negative: slow)."""
    now = datetime.now(UTC) + timedelta(seconds=seconds)
    monkeypatch.setattr(vengine, "_now", lambda: now)
    return now


def _clock_message(rep: Any) -> Any:
    msgs = [m for s in rep.signatures for m in s.messages if m.code == "VALIDATION_TIME_BEFORE_SIGNING"]
    return msgs[0] if msgs else None


@pytest.mark.parametrize("level", LEVELS)
def test_slow_clock_beyond_tolerance_is_indeterminate(docs: dict[str, bytes], policy_kw: dict[str, Any],
                                                      monkeypatch: pytest.MonkeyPatch, level: str) -> None:
    _skewed(monkeypatch, -600)
    rep = validate_pdf(docs[level], ValidationPolicy(**policy_kw))
    assert rep.indication == INDETERMINATE
    # the seal certificate (notBefore = issuance - 5 min) is still valid within the tolerance: the signing
    # time and time-stamp are what lie in the future
    assert rep.subindication == "TRY_LATER"
    sig = rep.signatures[0]
    assert (sig.indication, sig.subindication) == (INDETERMINATE, "TRY_LATER")
    msg = _clock_message(rep)
    assert msg is not None and msg.severity == "error"
    seconds = int(msg.en.split(" by ")[1].split(" s")[0])
    assert 595 <= seconds <= 660, msg.en
    assert msg.en.startswith("The signing time") or msg.en.startswith("The time-stamp"), msg.en
    assert "NTP" in msg.en and "300 s" in msg.en
    assert "muộn hơn thời điểm kiểm tra" in msg.vi and "NTP" in msg.vi and f"{seconds} giây" in msg.vi
    assert sig.timestamp is not None and sig.timestamp.time is not None
    assert not any(m.code == "TIMESTAMP_UNTRUSTED" for m in sig.messages)


@pytest.mark.parametrize("level", LEVELS)
def test_signer_certificate_not_yet_valid(docs: dict[str, bytes], policy_kw: dict[str, Any],
                                          monkeypatch: pytest.MonkeyPatch, level: str) -> None:
    """20 minutes slow: even the certificate (notBefore = issuance - 5 min) is beyond the tolerance."""
    _skewed(monkeypatch, -1200)
    rep = validate_pdf(docs[level], ValidationPolicy(**policy_kw))
    assert (rep.indication, rep.subindication) == (INDETERMINATE, "NOT_YET_VALID")
    assert rep.indication != TOTAL_FAILED
    msg = _clock_message(rep)
    assert msg is not None and "NTP" in msg.vi


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("skew", [-120, 600])
def test_within_tolerance_or_fast_clock_passes(docs: dict[str, bytes], policy_kw: dict[str, Any],
                                               monkeypatch: pytest.MonkeyPatch, level: str, skew: int) -> None:
    _skewed(monkeypatch, skew)
    rep = validate_pdf(docs[level], ValidationPolicy(**policy_kw))
    assert (rep.indication, rep.subindication) == (TOTAL_PASSED, None), \
        [(m.code, m.en) for s in rep.signatures for m in s.messages]
    assert _clock_message(rep) is None
    assert rep.signatures[0].level == level


def test_tolerance_is_a_policy_setting(docs: dict[str, bytes], policy_kw: dict[str, Any],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _skewed(monkeypatch, -120)
    rep = validate_pdf(docs["B-LT"], ValidationPolicy(clock_tolerance_s=30, **policy_kw))
    assert (rep.indication, rep.subindication) == (INDETERMINATE, "TRY_LATER")
    msg = _clock_message(rep)
    assert msg is not None and "30 s" in msg.en
    assert ValidationPolicy().clock_tolerance_s == 300


def test_explicit_past_time_is_not_a_clock_problem(docs: dict[str, bytes], policy_kw: dict[str, Any]) -> None:
    """``--at`` before signing: the auditor's question keeps its strict answer, no clock tolerance or message."""
    rep = validate_pdf(docs["B-LT"], ValidationPolicy(at=datetime.now(UTC) - timedelta(minutes=2), **policy_kw))
    assert rep.indication != TOTAL_PASSED
    assert _clock_message(rep) is None
    rep = validate_pdf(docs["B-LT"], ValidationPolicy(at=datetime.now(UTC) + timedelta(minutes=1), **policy_kw))
    assert rep.indication == TOTAL_PASSED


def test_a_claimed_signing_time_counts_only_where_no_time_stamp_vouches() -> None:
    """A sender cannot park its document (or hide a revocation) behind a made-up future signing time: with a
    signature time-stamp, the time-stamp is the evidence; without one, the claim is all there is."""
    from types import SimpleNamespace

    from docexchange.signing.validation import engine as eng

    now = datetime.now(UTC)
    ctx = SimpleNamespace(live=True, tolerance=timedelta(seconds=300), moment=now)
    emb = SimpleNamespace(signer_cert=SimpleNamespace(not_valid_before=now - timedelta(days=1)))
    future_claim = now + timedelta(days=3650)
    stamped = SimpleNamespace(signer_reported_dt=future_claim,
                              timestamp_validity=SimpleNamespace(timestamp=now - timedelta(seconds=5)))
    assert eng._ahead_of_clock(stamped, emb, ctx, is_ts=False) == {}
    unstamped = SimpleNamespace(signer_reported_dt=future_claim, timestamp_validity=None)
    assert eng._ahead_of_clock(unstamped, emb, ctx, is_ts=False) == {"signing_time": future_claim}
