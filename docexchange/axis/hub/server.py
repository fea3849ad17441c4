"""Run the hub under waitress (used by ``docexchange axis serve`` and ``python -m docexchange.axis.hub``)."""

from __future__ import annotations

import logging

from docexchange.axis.hub.app import FORM_OVERHEAD, create_hub_app
from docexchange.axis.hub.settings import HubSettings


def serve(settings: HubSettings, host: str = "127.0.0.1", port: int = 8090, threads: int = 8) -> None:
    """Migrate the hub database to head, then serve until killed."""
    import waitress

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_hub_app(settings)
    waitress.serve(
        app,
        host=host,
        port=port,
        threads=threads,
        ident="docexchange-hub",
        max_request_body_size=settings.max_package_bytes + FORM_OVERHEAD,
    )
