"""Authentication and tenancy, independent of Flask: login throttling, page sessions kept on the server, API
tokens, the PIN lockout of signing keys, the caller ``Principal``.

Every counter lives in ``auth_counters`` (database), so several worker processes share it. The clock is
``now()`` of this module, so tests move time instead of waiting."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .db import Database, utcnow
from .errors import BadInput, DomainError, Forbidden, NotFound, Unauthorized
from .ledger import Ledger
from .models import ROLES, Agency, ApiToken, AuthCounter, User, WebSession
from .security import burn_password_check, check_password, hash_password, new_session_id, new_token, token_digest

WRITE_ROLES = frozenset({"clerk", "signer", "certifier", "admin"})


def now() -> datetime:
    """The clock of every throttle, lockout and session lifetime here (tests replace it)."""
    return utcnow()


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
            raise NotFound("not found", "không tìm thấy")


# ---- counters ---------------------------------------------------------------------------------------------
def _counter(session: Session, scope: str, subject: str, *, lock: bool = False) -> AuthCounter | None:
    q = select(AuthCounter).where(AuthCounter.scope == scope, AuthCounter.subject == subject[:300])
    if lock:
        q = q.with_for_update()
    return session.execute(q).scalar_one_or_none()


def _bump(session: Session, scope: str, subject: str, at: datetime) -> AuthCounter:
    row = _counter(session, scope, subject, lock=True)
    if row is None:
        row = AuthCounter(scope=scope, subject=subject[:300], failures=0, last_failure_at=at)
        session.add(row)
    row.failures = (row.failures or 0) + 1
    row.last_failure_at = at
    return row


def _clear(session: Session, scope: str, subject: str) -> None:
    session.execute(delete(AuthCounter).where(AuthCounter.scope == scope, AuthCounter.subject == subject[:300]))


def _retrying(db: Database, work: Callable[[Session], None]) -> None:
    """Run ``work`` in its own transaction, once more if a concurrent first failure created the same counter
    row meanwhile (unique scope and subject)."""
    try:
        with db.transaction() as s:
            work(s)
    except IntegrityError:
        with db.transaction() as s:
            work(s)


def _blocked_for(row: AuthCounter | None, at: datetime) -> int:
    """Whole seconds until ``row`` lets an attempt through (0: now)."""
    if row is None or row.blocked_until is None or row.blocked_until <= at:
        return 0
    return max(1, int((row.blocked_until - at).total_seconds() + 0.999))


# ---- login throttle ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LoginPolicy:
    """Progressive delay: after ``free`` failures a counter imposes ``base * 2**(failures - free)`` seconds,
    at most ``max_delay``, before the next attempt it covers is even looked at. Counters: the client address
    (any names), the address with one user name, the user name (any addresses, generous: it slows guessing
    spread over many addresses without letting one outsider lock a person out)."""

    pair_free: int = 5
    address_free: int = 20
    name_free: int = 50
    base_delay: float = 1.0
    max_delay: int = 900
    forget_after: int = 86400  # a counter without failures for this long starts again from zero

    @classmethod
    def from_settings(cls, settings: Any) -> LoginPolicy:
        return cls(pair_free=settings.login_max_failures, address_free=settings.login_address_max_failures,
                   name_free=settings.login_name_max_failures, max_delay=settings.login_lockout_seconds)

    def delay(self, failures: int, free: int) -> int:
        """Seconds imposed after the ``failures``-th failure of a counter whose first ``free`` are free."""
        if failures < free:
            return 0
        return int(min(self.max_delay, self.base_delay * 2 ** min(failures - free, 32)))


class LoginThrottled(DomainError):
    status = 429
    code = "login_throttled"
    title = "Too many failed logins"


def _login_counters(policy: LoginPolicy, username: str, address: str) -> list[tuple[str, str, int]]:
    name = username.strip().lower()[:64]
    return [("login_pair", f"{address}|{name}", policy.pair_free), ("login_addr", address, policy.address_free),
            ("login_name", name, policy.name_free)]


def duration_words(seconds: int) -> tuple[str, str]:
    """A wait in words (Vietnamese, English): "45 giây" / "45 seconds", "15 phút" / "15 minutes", rounded up."""
    seconds = max(1, int(seconds))
    if seconds < 60:
        return f"{seconds} giây", f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = (seconds + 59) // 60
    if minutes < 120:
        return f"{minutes} phút", f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = (minutes + 59) // 60
    return f"{hours} giờ", f"{hours} hours"


def _throttled(wait: int) -> LoginThrottled:
    vi, en = duration_words(wait)
    return LoginThrottled(f"Too many failed logins; try again in {en}",
                          f"Đăng nhập sai quá nhiều lần; vui lòng thử lại sau {vi}",
                          retry_after_seconds=wait)


def authenticate(db: Database, ledger: Ledger, username: str, password: str, *, address: str,
                 policy: LoginPolicy) -> int:
    """Check a password; returns the user id. One answer for an unknown name, a disabled account and a wrong
    password (``bad_credentials``), after the same password-hashing work. Failures feed the three throttle
    counters; a throttled attempt is refused (``login_throttled``, 429, ``retry_after_seconds``) without looking
    at the password, the same way whether the name exists or not. Failures against an existing account are
    ledger entries; for unknown names only the moment a counter starts to throttle is (so anonymous guessing
    cannot grow the ledger without bound)."""
    at = now()
    address = (address or "unknown")[:100]
    counters = _login_counters(policy, username, address)
    with db.reading() as s:
        wait = max(_blocked_for(_counter(s, scope, subject), at) for scope, subject, _ in counters)
    if wait:
        raise _throttled(wait)
    with db.reading() as s:
        user = s.execute(select(User).where(User.username == username)).scalar_one_or_none()
        user_id = user.id if user is not None else None
        stored = user.password_hash if user is not None and user.active else None
        agency_code = user.agency.code if user is not None else ""
    if stored is not None:
        ok = check_password(password, stored)
    else:
        burn_password_check(password)
        ok = False
    if ok:
        with db.transaction() as s:
            for scope, subject, _ in counters:
                if scope != "login_addr":  # one's own good login must not reset an address shared with others
                    _clear(s, scope, subject)
        assert user_id is not None
        return user_id

    left = {"n": policy.pair_free}

    def count(s: Session) -> None:
        s.execute(delete(AuthCounter).where(AuthCounter.scope.in_(("login_pair", "login_addr", "login_name")),
                                            AuthCounter.last_failure_at < at - timedelta(seconds=policy.forget_after)))
        for scope, subject, free in counters:
            row = _bump(s, scope, subject, at)
            delay = policy.delay(row.failures, free)
            row.blocked_until = at + timedelta(seconds=delay) if delay else None
            if scope == "login_pair":
                left["n"] = max(0, free - row.failures)
            if row.failures == free:
                ledger.append(s, actor="-", action="login_throttled", object_type=scope, object_id=subject[:200],
                              details={"failures": row.failures, "delay_seconds": delay})
        if user_id is not None:
            ledger.append(s, actor=username[:100], action="login_failed", object_type="user",
                          object_id=username[:200], agency_code=agency_code, details={"address": address})

    _retrying(db, count)
    n = left["n"]  # the same count for a known and an unknown name: it says nothing about who exists
    if n:
        raise Unauthorized(f"Wrong user name or password ({n} attempt{'s' if n != 1 else ''} left before logins "
                           "from here are slowed down)",
                           f"Sai tên đăng nhập hoặc mật khẩu (còn {n} lần thử trước khi bị tạm chặn)",
                           code="bad_credentials", attempts_left=n)
    raise Unauthorized("Wrong user name or password; further attempts from here are slowed down",
                       "Sai tên đăng nhập hoặc mật khẩu; các lần thử tiếp theo sẽ bị tạm chặn",
                       code="bad_credentials", attempts_left=0)


# ---- page sessions ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)
    touch_every: timedelta = timedelta(seconds=60)  # last_seen_at is written at most this often

    @classmethod
    def from_settings(cls, settings: Any) -> SessionPolicy:
        return cls(idle=timedelta(minutes=settings.session_idle_minutes),
                   absolute=timedelta(hours=settings.session_absolute_hours))


def start_session(session: Session, user_id: int, policy: SessionPolicy) -> str:
    """A new server-side session; returns the id for the cookie. Lapsed rows of any user are pruned."""
    at = now()
    session.execute(delete(WebSession).where(WebSession.created_at < at - policy.absolute - timedelta(days=1)))
    sid, digest = new_session_id()
    session.add(WebSession(sid_sha256=digest, user_id=user_id, created_at=at, last_seen_at=at))
    return sid


def check_session(session: Session, sid: str | None, user_id: int, policy: SessionPolicy) -> bool:
    """Whether the cookie's session is still live on the server (ends it when it has lapsed)."""
    if not sid:
        return False
    row = session.execute(select(WebSession).where(WebSession.sid_sha256 == token_digest(str(sid)))
                          ).scalar_one_or_none()
    if row is None or row.user_id != user_id or row.ended_at is not None:
        return False
    at = now()
    reason = ("absolute" if at - row.created_at > policy.absolute
              else "idle" if at - row.last_seen_at > policy.idle else "")
    if reason:
        row.ended_at, row.end_reason = at, reason
        return False
    if at - row.last_seen_at >= policy.touch_every:
        row.last_seen_at = at
    return True


def end_session(session: Session, sid: str | None, reason: str = "logout") -> None:
    if sid:
        session.execute(update(WebSession).where(WebSession.sid_sha256 == token_digest(str(sid)),
                                                 WebSession.ended_at.is_(None))
                        .values(ended_at=now(), end_reason=reason))


def end_all_sessions(session: Session, user_id: int, reason: str) -> int:
    result = session.execute(update(WebSession).where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
                             .values(ended_at=now(), end_reason=reason))
    return int(getattr(result, "rowcount", 0) or 0)


def change_password(session: Session, ledger: Ledger, user: User, new_password: str, *, actor: str) -> None:
    """Set a new password; every page session of the user ends (an old cookie no longer works)."""
    if len(new_password) < 10:
        raise BadInput("the password must have at least 10 characters", "mật khẩu phải có ít nhất 10 ký tự",
                       code="weak_password")
    user.password_hash = hash_password(new_password)
    ended = end_all_sessions(session, user.id, "password")
    ledger.append(session, actor=actor, agency_code=user.agency.code, action="password_changed", object_type="user",
                  object_id=user.username, details={"sessions_ended": ended})


def set_active(session: Session, ledger: Ledger, user: User, active: bool, *, actor: str) -> None:
    """Enable or disable an account. Disabling ends its page sessions; its tokens stop working (checked on use)."""
    user.active = active
    ended = 0 if active else end_all_sessions(session, user.id, "disabled")
    ledger.append(session, actor=actor, agency_code=user.agency.code,
                  action="user_enabled" if active else "user_disabled", object_type="user", object_id=user.username,
                  details={"sessions_ended": ended})


# ---- API tokens -------------------------------------------------------------------------------------------
def issue_token(session: Session, user: User, role: str | None = None, *, ttl: timedelta = timedelta(days=30),
                name: str = "", max_ttl: timedelta | None = None) -> str:
    """A bearer token scoped to the user's agency and one of the user's roles."""
    role = role or sorted(user.role_set)[0]
    if role not in user.role_set or role not in ROLES:
        raise Forbidden(f"user {user.username} does not have role {role!r}",
                        f"người dùng {user.username} không có vai trò {role!r}")
    if ttl <= timedelta(0) or (max_ttl is not None and ttl > max_ttl):
        days = max_ttl.days if max_ttl is not None else 0
        raise BadInput(f"a token lives at most {days} days", f"mã truy cập có hiệu lực tối đa {days} ngày",
                       code="token_ttl_too_long")
    token, digest = new_token()
    session.add(ApiToken(user_id=user.id, agency_id=user.agency_id, role=role, token_sha256=digest,
                         name=name[:100], expires_at=utcnow() + ttl))
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


def token_id_for(session: Session, token: str) -> int | None:
    return session.execute(select(ApiToken.id).where(ApiToken.token_sha256 == token_digest(token))).scalar()


def list_tokens(session: Session, user_id: int | None = None) -> list[ApiToken]:
    """Tokens of one user (all users when None), newest first."""
    q = select(ApiToken).order_by(ApiToken.id.desc())
    if user_id is not None:
        q = q.where(ApiToken.user_id == user_id)
    return list(session.execute(q).scalars())


def revoke_token(session: Session, ledger: Ledger, token_id: int, *, actor: str, user_id: int | None = None
                 ) -> ApiToken:
    """Revoke a token (``user_id``: only if it is that user's; another's is reported as not found)."""
    row = session.get(ApiToken, token_id)
    if row is None or (user_id is not None and row.user_id != user_id):
        raise NotFound("token not found", "không tìm thấy mã truy cập", code="token_not_found")
    if not row.revoked:
        row.revoked, row.revoked_at = True, utcnow()
        ledger.append(session, actor=actor, agency_code=row.user.agency.code, action="token_revoked",
                      object_type="api_token", object_id=str(row.id), details={"user": row.user.username})
    return row


def principal_for_user(session: Session, user: User, role: str, agency_id: int | None = None) -> Principal:
    agency = session.get(Agency, agency_id or user.agency_id)
    assert agency is not None
    return Principal(user_id=user.id, username=user.username, full_name=user.full_name, agency_id=agency.id,
                     agency_code=agency.code, role=role)


# ---- PIN lockout: the one check around every act that opens a key -----------------------------------------
@dataclass(frozen=True)
class PinPolicy:
    max_failures: int = 5
    lockout_seconds: int = 900

    @classmethod
    def from_settings(cls, settings: Any) -> PinPolicy:
        return cls(max_failures=settings.pin_max_failures, lockout_seconds=settings.pin_lockout_seconds)


class PinLocked(Forbidden):
    code = "pin_locked"
    title = "Key locked after wrong PINs"


def _pin_locked(wait: int) -> PinLocked:
    vi, en = duration_words(wait)
    return PinLocked(f"Signing is locked after repeated wrong PINs; try again in {en}, or ask an administrator "
                     "to unlock it",
                     f"Đã tạm khóa ký số do nhập sai mã PIN nhiều lần; vui lòng thử lại sau {vi} hoặc đề nghị "
                     "quản trị viên mở khóa",
                     attempts_left=0, retry_after_seconds=wait)


def _key_refs(session: Session, p: Principal, keys: Iterable[str]) -> list[str]:
    refs = []
    for kind in keys:
        if kind == "person":
            user = session.get(User, p.user_id)
            ref = user.key_ref if user is not None else None
        else:
            agency = session.get(Agency, p.agency_id)
            ref = agency.seal_key_ref if agency is not None else None
        if ref:
            refs.append(ref)
    return refs


def _pin_subjects(p: Principal, key_ref: str | None) -> list[tuple[str, str]]:
    out = [("pin_user", str(p.user_id))]
    if key_ref:
        out.append(("pin_key", key_ref))
    return out


def ensure_pin_allowed(db: Database, p: Principal, keys: Iterable[str] = ("person", "seal")) -> None:
    """Refuse (``pin_locked``) when the user, or a key the act will open, is locked after wrong PINs."""
    at = now()
    with db.reading() as s:
        subjects = _pin_subjects(p, None) + [("pin_key", ref) for ref in _key_refs(s, p, keys)]
        wait = max(_blocked_for(_counter(s, scope, subject), at) for scope, subject in subjects)
    if wait:
        raise _pin_locked(wait)


def record_wrong_pin(db: Database, ledger: Ledger, p: Principal, key_ref: str | None, policy: PinPolicy,
                     *, act: str) -> DomainError:
    """Count a wrong PIN for the user and for the key (own transaction: the failed act itself rolls back), write
    it in the ledger, and return the error to raise: ``wrong_pin`` with ``attempts_left``, or ``pin_locked``
    once either count reaches the limit."""
    at = now()
    result = {"left": policy.max_failures}

    def count(s: Session) -> None:
        left = policy.max_failures
        for scope, subject in _pin_subjects(p, key_ref):
            row = _bump(s, scope, subject, at)
            if row.failures >= policy.max_failures:
                row.blocked_until = at + timedelta(seconds=policy.lockout_seconds)
                row.failures = 0
                left = 0
            else:
                left = min(left, policy.max_failures - row.failures)
        ledger.append(s, actor=p.username, agency_code=p.agency_code, action="wrong_pin", object_type="key",
                      object_id=(key_ref or "")[-200:], details={"act": act, "attempts_left": left})
        if left == 0:
            ledger.append(s, actor=p.username, agency_code=p.agency_code, action="pin_locked", object_type="key",
                          object_id=(key_ref or "")[-200:], details={"act": act,
                                                                     "seconds": policy.lockout_seconds})
        result["left"] = left

    _retrying(db, count)
    left = result["left"]
    if left == 0:
        return _pin_locked(policy.lockout_seconds)
    from .signing.errors import WrongPin

    return WrongPin(f"Wrong PIN: the key could not be unlocked; nothing was signed ({left} attempt"
                    f"{'s' if left != 1 else ''} left)",
                    f"Sai mã PIN: không mở được khóa; chưa ký (còn {left} lần thử)", attempts_left=left)


def _clear_pin(db: Database, p: Principal, keys: Iterable[str]) -> None:
    with db.reading() as s:
        subjects = _pin_subjects(p, None) + [("pin_key", ref) for ref in _key_refs(s, p, keys)]
        dirty = [x for x in subjects if _counter(s, *x) is not None]
    if dirty:
        with db.transaction() as s:
            for scope, subject in dirty:
                row = _counter(s, scope, subject, lock=True)
                if row is not None and _blocked_for(row, now()) == 0:
                    s.delete(row)


@contextmanager
def pin_guard(db: Database, ledger: Ledger, p: Principal, policy: PinPolicy, *, act: str,
              keys: Iterable[str] = ("person", "seal")) -> Iterator[None]:
    """The one PIN check of every act that opens a signing key (sign, issue, replace, recall, update, agency
    copy, certify, sealed report). Wrap the act, outside its transaction:

    * before: refused (``pin_locked``) if the user or a key the act opens (``person``: the user's own key,
      ``seal``: the agency seal) is locked;
    * a wrong PIN (``WrongPin`` from the key store, which names the key) counts per user and per key and is a
      ledger entry; the caller gets ``wrong_pin`` with ``attempts_left`` or, at the limit, ``pin_locked``;
    * success clears the counts."""
    from .signing.errors import WrongPin

    keys = tuple(keys)
    ensure_pin_allowed(db, p, keys)
    try:
        yield
    except WrongPin as exc:
        key_ref = getattr(exc, "key_ref", None)
        if key_ref is None:
            with db.reading() as s:
                refs = _key_refs(s, p, keys)
            key_ref = refs[0] if len(refs) == 1 else None
        raise record_wrong_pin(db, ledger, p, key_ref, policy, act=act) from exc
    _clear_pin(db, p, keys)


# ---- administrator: see and lift lockouts ------------------------------------------------------------------
LOCK_SCOPES = ("pin_user", "pin_key", "login_pair", "login_name", "login_addr")


@dataclass(frozen=True)
class Lock:
    id: int
    scope: str
    subject: str
    wait_seconds: int
    user: User | None  # the person the lock concerns, when it names one


def active_locks(session: Session, agency_id: int | None = None) -> list[Lock]:
    """Counters that refuse attempts now; with ``agency_id``, only those naming that agency's people or keys."""
    at = now()
    rows = session.execute(select(AuthCounter).where(AuthCounter.scope.in_(LOCK_SCOPES),
                                                     AuthCounter.blocked_until > at)
                           .order_by(AuthCounter.blocked_until.desc())).scalars()
    out = []
    for r in rows:
        user = _lock_user(session, r)
        if agency_id is not None and (user is None or user.agency_id != agency_id):
            continue
        out.append(Lock(r.id, r.scope, r.subject, _blocked_for(r, at), user))
    return out


def _lock_user(session: Session, row: AuthCounter) -> User | None:
    if row.scope == "pin_user" and row.subject.isdigit():
        return session.get(User, int(row.subject))
    if row.scope == "pin_key":
        return session.execute(select(User).where(User.key_ref == row.subject)).scalars().first()
    name = row.subject.rsplit("|", 1)[-1] if row.scope == "login_pair" else row.subject
    if row.scope in ("login_pair", "login_name"):
        return session.execute(select(User).where(func.lower(User.username) == name)).scalars().first()
    return None


def unlock(session: Session, ledger: Ledger, lock_id: int, *, actor: str, agency_code: str,
           agency_id: int | None = None) -> AuthCounter:
    """Lift one lockout (an administrator's act, in the ledger); ``agency_id`` limits it to that agency's."""
    row = session.get(AuthCounter, lock_id)
    user = _lock_user(session, row) if row is not None else None
    if row is None or row.scope not in LOCK_SCOPES or (
            agency_id is not None and (user is None or user.agency_id != agency_id)):
        raise NotFound("lock not found", "không tìm thấy khóa")
    ledger.append(session, actor=actor, agency_code=agency_code, action="pin_unlocked" if row.scope.startswith(
        "pin_") else "login_unlocked", object_type=row.scope, object_id=row.subject[:200],
        details={"user": user.username if user else None, "failures": row.failures})
    session.delete(row)
    return row
