"""Initialise a node: migrate, create the dev PKI, and (optionally) the demo agencies and users."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from .demo_images import seal_png, signature_png
from .migrate import upgrade
from .models import Agency, User
from .pki.keys import write_pkcs12
from .security import hash_password
from .services import Services


@dataclass(frozen=True)
class DemoAgency:
    code: str
    name: str
    kind: str
    abbreviation: str
    place: str
    prefix: str
    head: tuple[str, str]  # (full name, position)
    deputy: tuple[str, str]


DEMO_AGENCIES = (
    DemoAgency("000.00.00.G09", "Bộ Nội vụ", "ministry", "BNV", "Hà Nội", "bnv",
               ("Nguyễn Văn Thắng", "Bộ trưởng"), ("Trần Thị Hằng", "Thứ trưởng")),
    DemoAgency("000.00.00.H41", "Ủy ban nhân dân tỉnh Nghệ An", "province", "UBND", "Nghệ An", "nghean",
               ("Lê Hồng Vinh", "Chủ tịch"), ("Bùi Đình Long", "Phó Chủ tịch")),
    DemoAgency("000.21.31.H41", "Ủy ban nhân dân xã Nghi Phú", "commune", "UBND", "Nghi Phú", "nghiphu",
               ("Phạm Quốc Đạt", "Chủ tịch"), ("Hoàng Thị Mỹ Linh", "Phó Chủ tịch")),
)


def init_node(svc: Services, *, demo: bool = True, key_type: str = "rsa2048") -> list[tuple[str, str, str]]:
    """Idempotent. Returns the demo logins as (username, role, agency)."""
    upgrade(svc.settings.database_url)
    with svc.db.transaction() as s:
        svc.ca.init(s, key_type=key_type)
    if not demo:
        return []
    pin = svc.secrets["demo_pin"].encode()
    password_hash = hash_password(svc.secrets["demo_password"])
    logins: list[tuple[str, str, str]] = []
    keys_dir = svc.settings.certs_dir / "keys"
    with svc.db.transaction() as s:
        for spec in DEMO_AGENCIES:
            agency = s.execute(select(Agency).where(Agency.code == spec.code)).scalar_one_or_none()
            if agency is None:
                agency = Agency(code=spec.code, name=spec.name, kind=spec.kind, abbreviation=spec.abbreviation,
                                place=spec.place, email=f"vanthu@{spec.prefix}.gov.vn.invalid")
                s.add(agency)
                s.flush()
                seal = svc.ca.issue(s, kind="seal", issuer="gov-int", common_name=spec.name, key_type=key_type,
                                    locality=spec.place, key_ref=f"keys/{spec.prefix}-seal.p12")
                write_pkcs12(keys_dir / f"{spec.prefix}-seal.p12", seal.key, seal.cert, list(seal.chain), pin,
                             spec.name)
                agency.seal_cert_serial = seal.serial_hex
                agency.seal_key_ref = f"keys/{spec.prefix}-seal.p12"
                agency.seal_image_sha256 = svc.blobs.put_bytes(seal_png(spec.name, spec.place))
            people: list[tuple[str, str, str, str]] = [
                (f"{spec.prefix}.vanthu", f"Văn thư {spec.name}", "Văn thư", "clerk"),
                (f"{spec.prefix}.lanhdao", spec.head[0], spec.head[1], "signer"),
                (f"{spec.prefix}.capho", spec.deputy[0], spec.deputy[1], "signer"),
            ]
            if spec.kind == "commune":
                people.append((f"{spec.prefix}.chungthuc", spec.deputy[0], spec.deputy[1], "certifier"))
            if spec.kind == "ministry":
                people.append(("kiemtoan", "Kiểm toán viên Đỗ Minh Tuấn", "Kiểm toán viên", "auditor"))
                people.append(("admin", "Quản trị hệ thống", "Quản trị", "admin,auditor"))
            for username, full_name, position, roles in people:
                logins.append((username, roles, spec.code))
                if s.execute(select(User).where(User.username == username)).scalar_one_or_none() is not None:
                    continue
                user = User(agency_id=agency.id, username=username, full_name=full_name, position=position,
                            roles=roles, password_hash=password_hash)
                if roles in ("signer", "certifier"):
                    ident = svc.ca.issue(s, kind="person", issuer="gov-int", common_name=full_name,
                                         organization=spec.name, title=position, key_type=key_type,
                                         key_ref=f"keys/{username}.p12")
                    write_pkcs12(keys_dir / f"{username}.p12", ident.key, ident.cert, list(ident.chain), pin,
                                 full_name)
                    user.cert_serial = ident.serial_hex
                    user.key_ref = f"keys/{username}.p12"
                    user.signature_image_sha256 = svc.blobs.put_bytes(signature_png(full_name))
                s.add(user)
        svc.ledger.append(s, actor="system", action="node_initialised", object_type="node",
                          object_id=svc.settings.public_url)
    return logins


def key_path(svc: Services, key_ref: str) -> Path:
    """Resolve a stored key reference (relative to certs/) to a path inside certs/ only."""
    path = (svc.settings.certs_dir / key_ref).resolve()
    if not path.is_relative_to(svc.settings.certs_dir.resolve()):
        raise ValueError(f"key reference {key_ref!r} points outside certs/")
    return path
