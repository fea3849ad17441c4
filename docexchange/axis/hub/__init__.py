"""The mock national document-exchange axis (VDXP-style hub): its own Flask app, database and blob store.

Import ``create_hub_app`` from here; the import is lazy so that ``docexchange.axis.client`` can use
``docexchange.axis.hub.signing`` without pulling in Flask."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from docexchange.axis.hub.app import create_hub_app
    from docexchange.axis.hub.settings import HubSettings

__all__ = ["HubSettings", "create_hub_app"]


def __getattr__(name: str) -> Any:
    if name == "create_hub_app":
        from docexchange.axis.hub.app import create_hub_app

        return create_hub_app
    if name == "HubSettings":
        from docexchange.axis.hub.settings import HubSettings

        return HubSettings
    raise AttributeError(name)
