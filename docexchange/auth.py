"""Authentication and tenancy, independent of Flask: login with lockout, API tokens, the caller ``Principal``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import utcnow
from .errors import Forbidden, Unauthorized
from .ledger import Ledger
from .models import ROLES, Agency, ApiToken, User
from .security import check_password, new_token, token_digest

WRITE_ROLES = frozenset({"clerk", "signer", "certifier", "admin"})


@dataclass(frozen=True)
class Principal:
    """Who is calling, for which agency, in which role. Every query is scoped by ``agency_id``."""

    user_id: int
    username: str
    full_name: str
    agency_id: int
    agency_code: str
    role: str

    @property
    def can_write(self) -> bool:
        return self.role in WRITE_ROLES

    def require(self, *roles: str) -> None:
        if self.role not in roles:
            raise Forbidden(f"role {self.role!r} may not do this (needs one of {', '.join(roles)})",
                            f"vai trò {self.role!r} không được phép thực hiện thao tác này")

    def require_agency(self, agency_id: int) -> None:
        """Objects of another agency are reported as not found, so nothing about them leaks."""
        if agency_id != self.agency_id:
            from .errors import NotFound

            raise NotFound("not found", "không tìm thấy")


def _locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > utcnow()


def authenticate(session: Session, ledger: Ledger, username: str, password: str, *, max_failures: int,
                 lockout_seconds: int) -> User:
    """Check a password. Failures count toward a lockout; every failure is a ledger entry."""
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is not None and _locked(user):
        raise Unauthorized("account locked after repeated failed logins; try again later",
                           "tài khoản bị tạm khóa do đăng nhập sai nhiều lần; vui lòng thử lại sau",
                           code="account_locked")
    if user is None or not user.active or not check_password(password, user.password_hash):
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= max_failures:
                user.locked_until = utcnow() + timedelta(seconds=lockout_seconds)
                user.failed_logins = 0
        ledger.append(session, actor=username[:100], action="login_failed", object_type="user",
                      object_id=username[:200],
                      agency_code=user.agency.code if user is not None else "")
        raise Unauthorized("wrong user name or password", "sai tên đăng nhập hoặc mật khẩu",
                           code="bad_credentials")
    user.failed_logins = 0
    user.locked_until = None
    return user


def issue_token(session: Session, user: User, role: str | None = None, *, ttl: timedelta = timedelta(days=30),
                name: str = "") -> str:
    """A bearer token scoped to the user's agency and one of the user's roles."""
    role = role or sorted(user.role_set)[0]
    if role not in user.role_set or role not in ROLES:
        raise Forbidden(f"user {user.username} does not have role {role!r}",
                        f"người dùng {user.username} không có vai trò {role!r}")
    token, digest = new_token()
    session.add(ApiToken(user_id=user.id, agency_id=user.agency_id, role=role, token_sha256=digest,
                         name=name, expires_at=utcnow() + ttl))
    return token


def principal_for_token(session: Session, token: str) -> Principal:
    row = session.execute(select(ApiToken).where(ApiToken.token_sha256 == token_digest(token))).scalar_one_or_none()
    if row is None or row.revoked:
        raise Unauthorized("unknown or revoked token", "mã truy cập không hợp lệ hoặc đã bị thu hồi",
                           code="bad_token")
    if row.expires_at <= utcnow():
        raise Unauthorized("token expired", "mã truy cập đã hết hạn", code="token_expired")
    user = row.user
    if not user.active:
        raise Unauthorized("user disabled", "người dùng đã bị vô hiệu hóa", code="user_disabled")
    return principal_for_user(session, user, row.role, row.agency_id)


def principal_for_user(session: Session, user: User, role: str, agency_id: int | None = None) -> Principal:
    agency = session.get(Agency, agency_id or user.agency_id)
    assert agency is not None
    return Principal(user_id=user.id, username=user.username, full_name=user.full_name, agency_id=agency.id,
                     agency_code=agency.code, role=role)


def record_wrong_pin(db: object, ledger: Ledger, user_id: int, *, max_failures: int, lockout_seconds: int) -> None:
    """A wrong key PIN counts toward the same lockout as a wrong password (in its own transaction, since the
    failed act itself rolls back)."""
    with db.transaction() as s:  # type: ignore[attr-defined]
        user = s.get(User, user_id)
        if user is None:
            return
        user.failed_logins += 1
        if user.failed_logins >= max_failures:
            user.locked_until = utcnow() + timedelta(seconds=lockout_seconds)
            user.failed_logins = 0
        ledger.append(s, actor=user.username, agency_code=user.agency.code, action="wrong_pin",
                      object_type="user", object_id=user.username)


def ensure_not_locked(user: User) -> None:
    if _locked(user):
        raise Unauthorized("account locked after repeated failures; try again later",
                           "tài khoản bị tạm khóa do nhập sai nhiều lần; vui lòng thử lại sau", code="account_locked")
