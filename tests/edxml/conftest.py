"""DevCA-issued seal identities for edXML signing tests (temp dir, in-memory SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from docexchange.db import Base, Database
from docexchange.pki.ca import DevCA, Identity


@dataclass
class Pki:
    ca: DevCA
    rsa_seal: Identity
    ec_seal: Identity
    dir: Path


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pki]:
    d = tmp_path_factory.mktemp("pki")
    db = Database("sqlite://")
    Base.metadata.create_all(db.engine)
    ca = DevCA(d / "certs", b"test-password", "http://127.0.0.1:1")
    with db.transaction() as s:
        ca.init(s)
        rsa_seal = ca.issue(s, kind="seal", issuer="gov-int", common_name="UBND tỉnh Nghệ An")
        ec_seal = ca.issue(
            s, kind="seal", issuer="gov-int", common_name="Văn phòng Chính phủ", key_type="ec256"
        )
    yield Pki(ca, rsa_seal, ec_seal, d)
    db.dispose()
