"""Language: Vietnamese by default; English by ``?lang=en`` (remembered in a cookie) on any page.

Message ids are English; the Vietnamese catalog is translations/vi/LC_MESSAGES/messages.po, compiled to the
committed messages.mo (tests/web check that the .mo matches the .po and that every message is translated).
Rebuild with ``pybabel compile -d docexchange/web/translations``.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, g, request
from flask_babel import Babel, get_locale

LANGS = ("vi", "en")
LANG_NAMES = {"vi": "Tiếng Việt", "en": "English"}  # each in its own language, never translated
DEFAULT = "vi"
COOKIE = "lang"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def select_locale() -> str:
    asked = request.args.get("lang")
    if asked in LANGS:
        g.lang_asked = asked
        return asked
    cookie = request.cookies.get(COOKIE)
    return cookie if cookie in LANGS else DEFAULT


def current_lang() -> str:
    loc = get_locale()
    return loc.language if loc is not None else DEFAULT


def _remember(resp: Response) -> Response:
    asked = g.get("lang_asked")
    if asked:
        resp.set_cookie(COOKIE, asked, max_age=365 * 86400, samesite="Lax", httponly=True)
    return resp


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale, default_locale=DEFAULT, default_timezone="Asia/Ho_Chi_Minh",
          default_translation_directories=str(TRANSLATIONS))

    @app.before_request
    def _pick() -> None:
        if request.path.startswith("/api/"):
            return
        select_locale()  # records ?lang= so the response sets the cookie

    app.after_request(_remember)
