"""JSON API blueprints (thin: translate HTTP to service calls and back)."""

from __future__ import annotations

import importlib
import pkgutil

from apiflask import APIFlask


def register_api(app: APIFlask) -> None:
    """Register every module in this package that exposes ``bp`` (a blueprint)."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        bp = getattr(module, "bp", None)
        if bp is not None:
            app.register_blueprint(bp)
