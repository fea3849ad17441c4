"""Errors that carry a stable code and a message in Vietnamese and English.

Domain code raises ``DomainError`` subclasses; the HTTP layer renders them as RFC 9457 problem+json
(``type``, ``title`` in English, ``status``, ``detail``, ``detail_vi``, ``code``)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, en: str, vi: str, *, code: str | None = None, status: int | None = None,
                 **extra: Any) -> None:
        super().__init__(en)
        self.en = en
        self.vi = vi
        if code:
            self.code = code
        if status:
            self.status = status
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://docexchange.invalid/problems/{self.code}",
            "title": self.en.split(":")[0] if self.title is None else self.title,
            "status": self.status,
            "detail": self.en,
            "detail_vi": self.vi,
            "code": self.code,
        }
        body.update(self.extra)
        return body

    title: str | None = None


class BadInput(DomainError):
    status = 400
    code = "bad_input"
    title = "Bad input"


class NotFound(DomainError):
    status = 404
    code = "not_found"
    title = "Not found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    title = "Authentication required"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict"


class TooLarge(DomainError):
    status = 413
    code = "too_large"
    title = "Payload too large"


class Unavailable(DomainError):
    status = 503
    code = "unavailable"
    title = "Service unavailable"


_PATH = __import__("re").compile(r"(?:[A-Za-z]:)?(?:[/\\][^\s/\\:'\"()]+)+[/\\]")


def scrub_paths(message: str) -> str:
    """A library's error text without the server's directories (``/tmp/x/.work-1/input: bad`` → ``input: bad``):
    error bodies go to callers, who have no business learning the server's file layout."""
    return _PATH.sub("", message)
