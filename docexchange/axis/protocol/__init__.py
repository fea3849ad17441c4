"""Wire schemes of the axis, as pure functions shared by the hub and ``docexchange.axis.client`` (no Flask).

- ``dxhub1``: docexchange's own signed scheme (HMAC over method, path, query, timestamp, nonce and body hash);
  the reference implementation is ``docexchange.axis.hub.signing``, re-exported here.
- ``vdxp``: the scheme of the VNPT/VPCP Java SDK that real document-management systems use with the national axis
  (domain-vn.md §6.2): ``XroadVnpt-*`` headers, an HMAC over a JSON copy of those headers, no nonce, body
  unsigned except ``XroadVnpt-hash-file`` on ``sendEdoc``."""

from __future__ import annotations

SCHEMES = ("dxhub1", "vdxp")
DEFAULT_SCHEME = "dxhub1"

__all__ = ["DEFAULT_SCHEME", "SCHEMES"]
