"""Server-rendered pages (Jinja) over the same services as the JSON API.

``register_web(app)`` is called by ``create_app``. It sets up the language (Vietnamese by default, English on
request), CSRF protection for every page form, and registers every module in ``docexchange.web.views`` that
exposes ``bp`` (a blueprint) and, optionally, ``NAV`` (navigation entries). A new flow's pages are one new module
there; see docs/web.md "Adding a page".
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from flask import Flask

from . import csrf, i18n
from .nav import NavItem, collect_nav

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES = WEB_DIR / "templates"
STATIC = WEB_DIR / "static"


def register_web(app: Flask) -> None:
    from . import views

    i18n.init_app(app)
    nav: list[NavItem] = []
    names: set[str] = set()
    for info in sorted(pkgutil.iter_modules(views.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{views.__name__}.{info.name}")
        bp = getattr(module, "bp", None)
        if bp is None:
            continue
        app.register_blueprint(bp)
        names.add(bp.name)
        nav.extend(getattr(module, "NAV", ()))
    app.extensions["docexchange_web"] = {"blueprints": frozenset(names), "nav": collect_nav(nav)}
    csrf.init_app(app)
    from .common import init_app as init_common

    init_common(app)


__all__ = ["register_web", "TEMPLATES", "STATIC"]
