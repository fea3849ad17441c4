"""Run the hub under waitress (used by ``docexchange axis serve`` and ``python -m docexchange.axis.hub``)."""

from __future__ import annotations

import logging
import threading

from docexchange.axis.hub.app import FORM_OVERHEAD, create_hub_app
from docexchange.axis.hub.service import HubService
from docexchange.axis.hub.settings import HubSettings

log = logging.getLogger("docexchange.axis.hub")


def _purge_loop(service: HubService, every_seconds: float, stop: threading.Event) -> None:
    while not stop.wait(every_seconds):
        try:
            purged = service.purge()
            if purged:
                log.info("purged %d package(s) past retention", purged)
        except Exception:  # keep serving; the next round retries
            log.exception("purge failed")


def serve(settings: HubSettings, host: str = "127.0.0.1", port: int = 8090, threads: int = 8) -> None:
    """Migrate the hub database to head, start the hourly retention purge, then serve until killed."""
    import waitress

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_hub_app(settings)
    stop = threading.Event()
    threading.Thread(
        target=_purge_loop, args=(app.extensions["hub_service"], 3600.0, stop), daemon=True, name="hub-purge"
    ).start()
    try:
        waitress.serve(
            app,
            host=host,
            port=port,
            threads=threads,
            ident="docexchange-hub",
            max_request_body_size=2 * settings.max_package_bytes + FORM_OVERHEAD,
        )
    finally:
        stop.set()
