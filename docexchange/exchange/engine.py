"""Builds the exchange collaborators from the node's services, and registers hosted agencies on a hub."""

from __future__ import annotations

from sqlalchemy import select

from ..axis.hub.db import migrate as migrate_hub
from ..axis.hub.service import HubService
from ..axis.hub.settings import HubSettings
from ..blobstore import BlobStore
from ..db import Database
from ..models import Agency
from ..pki.keys import cert_pem
from ..services import Services
from ..signing.validation import ValidationPolicy
from .service import ExchangeDeps


def exchange_deps_for(svc: Services) -> ExchangeDeps:
    cached = svc.__dict__.get("_exchange_deps")
    if cached is None:
        anchors = svc.ca.anchors()
        cached = ExchangeDeps(
            db=svc.db, blobs=svc.blobs, ledger=svc.ledger, hub_url=svc.settings.hub_url,
            policy=ValidationPolicy(trust_anchors=anchors, offline=svc.settings.offline_validation,
                                    fetch_allow=svc.settings.fetch_allow_list()),
            anchors=anchors, auto_register=svc.settings.auto_register)
        svc.__dict__["_exchange_deps"] = cached
    return cached  # type: ignore[no-any-return]


def embedded_hub(svc: Services) -> HubService:
    settings = HubSettings.from_env(svc.settings)
    db = Database(settings.database_url)
    migrate_hub(db)
    return HubService(db, BlobStore(settings.blob_dir, settings.max_package_bytes), settings)


def register_on_hub(svc: Services, hub: HubService, codes: list[str] | None = None) -> list[str]:
    """Register this node's agencies on the hub (with their seal certificates) and store fresh system
    credentials for those that have none yet. Idempotent."""
    done = []
    with svc.db.transaction() as s:
        agencies = list(s.execute(select(Agency).order_by(Agency.code)).scalars())
        for agency in agencies:
            if codes is not None and agency.code not in codes:
                continue
            pem = None
            if agency.seal_cert_serial:
                from ..models import Certificate

                row = s.execute(select(Certificate).where(Certificate.serial == agency.seal_cert_serial)
                                ).scalars().first()
                if row is not None:
                    from cryptography import x509

                    pem = cert_pem(x509.load_der_x509_certificate(row.der)).decode()
            hub.register_agency(agency.code, agency.name, seal_cert_pem=pem)
            if agency.hub_secret is None:
                agency.hub_system_id, agency.hub_secret = hub.issue_credentials(agency.code)
            done.append(agency.code)
    return done
