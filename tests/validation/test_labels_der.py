"""Property tests for the schema-agnostic DER walker in rawchecks (signed-attribute DER check, /Contents
padding): any input gives a result or BerError, DER input is recognised, re-encoding is idempotent."""

from __future__ import annotations

import pytest
from asn1crypto import core
from hypothesis import given, settings
from hypothesis import strategies as st

from docexchange.signing.validation.rawchecks import (
    BerError,
    _der_len,
    der_reencode,
    is_der,
    trailing_after_element,
)


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _der_len(len(body)) + body


def _der_values() -> st.SearchStrategy[bytes]:
    """DER by construction: primitive INTEGER / OCTET STRING / UTF8String, SEQUENCE, SET OF (sorted)."""
    leaves = st.tuples(st.sampled_from([0x02, 0x04, 0x0C, 0x80]), st.binary(max_size=300)).map(lambda t: _tlv(*t))

    def wrap(children: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
        lists = st.lists(children, max_size=6)
        return st.one_of(lists.map(lambda xs: _tlv(0x30, b"".join(xs))),
                         lists.map(lambda xs: _tlv(0x31, b"".join(sorted(xs)))),
                         lists.map(lambda xs: _tlv(0xA0, b"".join(xs))))

    return st.recursive(leaves, wrap, max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_give_a_result_or_ber_error(data: bytes) -> None:
    try:
        der, end = der_reencode(data)
    except (BerError, IndexError):
        return
    assert 0 < end <= len(data) and der[:1] == data[:1]
    is_der(data)  # never raises


@settings(max_examples=200, deadline=None)
@given(_der_values())
def test_der_is_recognised_and_stable(der: bytes) -> None:
    assert is_der(der)
    assert der_reencode(der)[0] == der
    assert trailing_after_element(der + b"\0" * 7) == b"\0" * 7


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=20), min_size=2, max_size=6, unique=True))
def test_unsorted_set_is_not_der_and_reencoding_sorts_it(items: list[bytes]) -> None:
    encs = sorted(core.OctetString(x).dump() for x in items)
    if encs == sorted(encs, reverse=True):
        return
    unsorted = list(reversed(encs))
    body = b"".join(unsorted)
    ber = bytes([0x31, len(body)]) if len(body) < 0x80 else bytes([0x31, 0x81, len(body)])
    ber += body
    assert not is_der(ber)
    assert der_reencode(ber)[0][-len(body):] == b"".join(encs)
    # the signed-attributes case: [0] IMPLICIT SET OF, sorted as a SET whatever the tag
    implicit = b"\xa0" + ber[1:]
    assert not is_der(implicit, as_set=True) and is_der(b"\xa0" + der_reencode(ber)[0][1:], as_set=True)


@pytest.mark.parametrize("data", [b"\x30\x80\x02\x01\x01\x00\x00", b"\x30\x81\x03\x02\x01\x01"])
def test_ber_forms_are_not_der(data: bytes) -> None:
    assert not is_der(data)  # indefinite length; non-minimal length
    assert is_der(der_reencode(data)[0])
