"""LibreOffice UNO conversion worker (runs under the system python3 that has Debian's ``python3-uno``).

Standalone on purpose: it must not import docexchange (the service's venv is not on its path).
Protocol: one JSON object per line on stdin ``{"src", "dst", "filter"}``; one per line on stdout
``{"ok": true}`` or ``{"ok": false, "error": "..."}``. Its first line is
``{"ready": true}`` once soffice answers.
"""

from __future__ import annotations

import json
import sys
import time

import uno  # type: ignore[import-not-found]
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]


def pv(name, value):  # type: ignore[no-untyped-def]
    p = PropertyValue()
    p.Name = name
    p.Value = value
    return p


def connect(pipe: str, deadline: float):  # type: ignore[no-untyped-def]
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    last = None
    while time.monotonic() < deadline:
        try:
            ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
            return ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        except Exception as exc:  # NoConnectException until soffice listens
            last = exc
            time.sleep(0.1)
    raise RuntimeError(f"soffice did not answer on pipe {pipe}: {last}")


def convert(desktop, src: str, dst: str, import_filter: str) -> None:  # type: ignore[no-untyped-def]
    load = (
        pv("Hidden", True),
        pv("ReadOnly", True),
        pv("MacroExecutionMode", 0),  # NEVER_EXECUTE
        pv("UpdateDocMode", 0),  # NO_UPDATE: no external links fetched
        pv("FilterName", import_filter),
    )
    doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(src), "_blank", 0, load)
    if doc is None or not hasattr(doc, "getText"):
        if doc is not None:
            doc.close(True)
        raise RuntimeError("not a text document")
    try:
        filter_data = uno.Any("[]com.sun.star.beans.PropertyValue", (pv("SelectPdfVersion", 2),))
        args = (pv("FilterName", "writer_pdf_Export"), pv("FilterData", filter_data))
        uno.invoke(doc, "storeToURL", (uno.systemPathToFileUrl(dst),
                                       uno.Any("[]com.sun.star.beans.PropertyValue", args)))
    finally:
        doc.close(True)


def main() -> int:
    pipe = sys.argv[1]
    desktop = connect(pipe, time.monotonic() + float(sys.argv[2] if len(sys.argv) > 2 else 60))
    out = sys.stdout
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        req = json.loads(line)
        try:
            convert(desktop, req["src"], req["dst"], req["filter"])
            reply: dict[str, object] = {"ok": True}
        except Exception as exc:
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}
        out.write(json.dumps(reply) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
