"""Configuration from the environment (``DOCEXCHANGE_*``), with embedded defaults for one machine."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    return os.environ.get(f"DOCEXCHANGE_{name}", default)


def _env_int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


def _env_float(name: str, default: float) -> float:
    raw = _env(name, str(default))
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"DOCEXCHANGE_{name} must be a number of seconds (got {raw!r})") from None


SIGNING_LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")


class ConfigError(ValueError):
    """A setting has a value the node cannot run with (raised at start-up, before anything is served)."""


@dataclass(frozen=True)
class Settings:
    """Every setting the node reads; see docs/configuration.md for each one."""

    instance_dir: Path
    database_url: str
    blob_dir: Path
    certs_dir: Path
    public_url: str
    secret_key: str
    max_upload_bytes: int = 250 * 1024 * 1024
    max_blob_bytes: int = 1024 * 1024 * 1024
    login_max_failures: int = 5        # failed logins for one user name from one address before delays start
    login_lockout_seconds: int = 900   # the longest delay between two login attempts (progressive delay cap)
    login_address_max_failures: int = 20   # failed logins from one address (any names) before delays start
    login_name_max_failures: int = 50      # failed logins for one user name (any addresses) before delays start
    pin_max_failures: int = 5          # wrong PINs (per user, per key) before the key use is locked
    pin_lockout_seconds: int = 900     # how long a PIN lockout lasts
    session_idle_minutes: int = 30     # a page session ends after this long without a request
    session_absolute_hours: int = 12   # and after this long in any case
    token_max_days: int = 90           # the longest lifetime of an API bearer token
    trusted_proxies: int = 0           # reverse proxies in front whose X-Forwarded-For gives the client address
    ledger_anchor_every: int = 100
    ledger_anchor_seconds: int = 3600
    log_json: bool = False
    offline_validation: bool = False
    hub_url: str = "http://127.0.0.1:8090"
    auto_register: bool = True
    tsa_url: str = ""                 # empty: the node's in-process dev TSA
    tsa_wait_seconds: float = 20.0    # how long signing keeps retrying an unreachable TSA
    signing_level: str = "B-LT"       # PAdES level of every signature the node makes
    # operator allow-list for URLs named by certificates that resolve to loopback/private/link-local addresses
    # (IP, network, host name, each with an optional :port, or an http(s) URL prefix); docs/security.md §3
    fetch_allow: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.signing_level not in SIGNING_LEVELS:
            raise ConfigError(f"DOCEXCHANGE_SIGNING_LEVEL must be one of {', '.join(SIGNING_LEVELS)} "
                              f"(got {self.signing_level!r})")
        if self.tsa_url and not self.tsa_url.startswith(("http://", "https://")):
            raise ConfigError(f"DOCEXCHANGE_TSA_URL must be an http:// or https:// URL, or empty for the "
                              f"in-process dev TSA (got {self.tsa_url!r})")
        from .netutil import parse_allow_entry

        for entry in self.fetch_allow:
            try:
                parse_allow_entry(entry)
            except ValueError as exc:
                raise ConfigError(f"DOCEXCHANGE_FETCH_ALLOW: {exc}") from None
        for name in ("login_max_failures", "login_address_max_failures", "login_name_max_failures",
                     "pin_max_failures", "login_lockout_seconds", "pin_lockout_seconds", "session_idle_minutes",
                     "session_absolute_hours", "token_max_days"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"DOCEXCHANGE_{name.upper()} must be at least 1 (got {getattr(self, name)})")
        if not 0 <= self.trusted_proxies <= 5:
            raise ConfigError(f"DOCEXCHANGE_TRUSTED_PROXIES must be between 0 and 5 (got {self.trusted_proxies})")
        if self.session_idle_minutes > self.session_absolute_hours * 60:
            raise ConfigError("DOCEXCHANGE_SESSION_IDLE_MINUTES must not exceed DOCEXCHANGE_SESSION_ABSOLUTE_HOURS")
        if not 0 <= self.tsa_wait_seconds <= 3600:
            raise ConfigError(f"DOCEXCHANGE_TSA_WAIT_SECONDS must be between 0 and 3600 (got {self.tsa_wait_seconds})")

    def fetch_allow_list(self) -> tuple[str, ...]:
        """What validation may fetch besides public addresses: the operator's allow-list, plus this node's own
        OCSP/CRL/CA-certificate URLs (``<public URL>/pki/``, written by its dev CA into the certificates it
        issues)."""
        if not self.public_url.lower().startswith(("http://", "https://")):
            return self.fetch_allow
        return (*self.fetch_allow, self.public_url.rstrip("/") + "/pki/")

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        instance = Path(_env("INSTANCE_DIR", str(PROJECT_ROOT / "instance"))).resolve()
        values: dict[str, object] = dict(
            instance_dir=instance,
            database_url=_env("DATABASE_URL", f"sqlite:///{instance / 'docexchange.db'}"),
            blob_dir=Path(_env("BLOB_DIR", str(instance / "blobs"))),
            certs_dir=Path(_env("CERTS_DIR", str(PROJECT_ROOT / "certs"))),
            public_url=_env("PUBLIC_URL", "http://127.0.0.1:8080"),
            secret_key=_env("SECRET_KEY", ""),
            max_upload_bytes=_env_int("MAX_UPLOAD_BYTES", 250 * 1024 * 1024),
            max_blob_bytes=_env_int("MAX_BLOB_BYTES", 1024 * 1024 * 1024),
            login_max_failures=_env_int("LOGIN_MAX_FAILURES", 5),
            login_lockout_seconds=_env_int("LOGIN_LOCKOUT_SECONDS", 900),
            login_address_max_failures=_env_int("LOGIN_ADDRESS_MAX_FAILURES", 20),
            login_name_max_failures=_env_int("LOGIN_NAME_MAX_FAILURES", 50),
            pin_max_failures=_env_int("PIN_MAX_FAILURES", 5),
            pin_lockout_seconds=_env_int("PIN_LOCKOUT_SECONDS", 900),
            session_idle_minutes=_env_int("SESSION_IDLE_MINUTES", 30),
            session_absolute_hours=_env_int("SESSION_ABSOLUTE_HOURS", 12),
            token_max_days=_env_int("TOKEN_MAX_DAYS", 90),
            trusted_proxies=_env_int("TRUSTED_PROXIES", 0),
            ledger_anchor_every=_env_int("LEDGER_ANCHOR_EVERY", 100),
            ledger_anchor_seconds=_env_int("LEDGER_ANCHOR_SECONDS", 3600),
            log_json=_env("LOG_JSON", "0") == "1",
            offline_validation=_env("OFFLINE_VALIDATION", "0") == "1",
            hub_url=_env("HUB_URL", "http://127.0.0.1:8090"),
            auto_register=_env("AUTO_REGISTER", "1") != "0",
            tsa_url=_env("TSA_URL", "").strip(),
            tsa_wait_seconds=_env_float("TSA_WAIT_SECONDS", 20.0),
            signing_level=_env("SIGNING_LEVEL", "B-LT").strip().upper(),
            fetch_allow=tuple(e for e in _env("FETCH_ALLOW", "").replace(",", " ").split() if e),
        )
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
