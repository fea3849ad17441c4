"""Flask's JSON provider with bounded parsing, for the node app and the hub app (the check is in ``jsonlimits``)."""

from __future__ import annotations

from typing import Any

from flask.json.provider import DefaultJSONProvider

from .jsonlimits import loads as bounded_loads


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, parsing through ``jsonlimits.loads``: nested too deep is a ValueError (Flask answers 400, or
    ``None`` for ``get_json(silent=True)``), never a RecursionError."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return bounded_loads(s, **kwargs)
