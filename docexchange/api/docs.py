"""A self-contained API reference page rendered from the OpenAPI document (no CDN: agencies run offline)."""

from __future__ import annotations

from apiflask import APIBlueprint
from flask import current_app, render_template_string

bp = APIBlueprint("apidocs", __name__, enable_openapi=False)

_PAGE = """<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>docexchange API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
code{background:#f3f3f3;padding:0 .3em}.m{display:inline-block;min-width:4.5em;font-weight:bold}
li{margin:.3em 0}</style></head><body>
<h1>docexchange API v{{ spec.info.version }}</h1>
<p>{{ spec.info.description }}</p>
<p>Machine-readable: <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI 3).</p>
{% for tag, ops in groups %}<h2>{{ tag }}</h2><ul>
{% for method, path, summary in ops %}<li><span class="m">{{ method|upper }}</span> <code>{{ path }}</code>
 — {{ summary }}</li>{% endfor %}</ul>{% endfor %}
</body></html>"""


@bp.get("/api/docs")
def api_docs() -> str:
    spec = current_app.spec  # type: ignore[attr-defined]
    groups: dict[str, list[tuple[str, str, str]]] = {}
    for path, item in sorted(spec["paths"].items()):
        for method, op in item.items():
            tag = (op.get("tags") or ["Other"])[0]
            groups.setdefault(tag, []).append((method, path, op.get("summary", "")))
    return render_template_string(_PAGE, spec=spec, groups=sorted(groups.items()))
