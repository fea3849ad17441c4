"""Scans that run on untrusted bytes before any limit applies must be linear: a JSON body is checked before
authentication, and the trailing-bytes scan runs once per signature. Both regexes were quadratic (a 64 KB JSON body
of escaped quotes took 83 s of CPU with the interpreter lock held; 40 KB of digits after %%EOF took 31 s).

The tests assert on the result for inputs large enough that the quadratic scans would run for many minutes (256 KB
of escaped quotes, 200 KB of digits): the suite's per-test timeout ends such a run, so a regression fails here,
while nothing depends on how fast the machine is."""

from __future__ import annotations

from docexchange.jsonlimits import MAX_JSON_BYTES, check_json_body, nested_deeper_than
from docexchange.signing.validation.rawchecks import trailing_bytes


def test_unterminated_string_of_escaped_quotes_is_scanned_in_linear_time() -> None:
    head = b'{"a":' + b"[" * 65 + b'"'
    body = head + b'\\"' * ((MAX_JSON_BYTES - len(head)) // 2)
    assert len(body) <= MAX_JSON_BYTES
    assert nested_deeper_than(body) is True  # the 65 brackets before the string still count


def test_strings_still_hide_their_brackets() -> None:
    assert nested_deeper_than(b'{"a": "' + b"[" * 500 + b'"}') is False
    assert nested_deeper_than(b'["\\"' + b"[" * 500 + b'"]') is False  # an escaped quote does not end the string
    check_json_body(b'{"pin": "123456", "reason": "[[[{{{"}')


def test_digit_run_after_eof_is_scanned_in_linear_time() -> None:
    data = b"%PDF-1.7\n%%EOF\n" + b"1" * 200_000 + b" 0 obj\n"
    assert trailing_bytes(data) == (200_006, True)
    assert trailing_bytes(b"%PDF\n%%EOF\n12 0 obj\n<<>>\nendobj\n")[1] is True
    assert trailing_bytes(b"%PDF\n%%EOF\n" + b"7" * 5000)[1] is False
