"""Engine and session factory. Domain code receives a ``Session``; it never opens its own engine."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, func, make_url, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value if value.tzinfo else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def db_now(session: Session) -> datetime:
    """The database server's clock on PostgreSQL, the process clock on SQLite (one machine, one clock). Leases
    and retry times that several processes compare are taken from one clock, so a process whose wall clock is
    wrong cannot park rows for the others (seen in the chaos run: status rows queued by a node whose clock ran
    10 minutes fast stayed "not yet due" for 10 minutes after its clock was put right)."""
    if session.get_bind().dialect.name == "postgresql":
        value: datetime = session.execute(select(func.clock_timestamp())).scalar_one()
        return value.astimezone(UTC)
    return utcnow()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        db_path = make_url(url).database
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
            # let SQLAlchemy's BEGIN be a real "BEGIN IMMEDIATE": one writer at a time, no upgrade deadlocks
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # type: ignore[no-untyped-def]
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("readonly") else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


class Database:
    """One per process: engine + session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits on success and rolls back on any exception."""
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only session. On SQLite it starts a deferred transaction (WAL: never blocked by the one
        writer), so lookups made while another transaction writes (an OCSP answer requested by the signing
        engine during an issuance, say) cannot deadlock. Nothing is committed."""
        with self.engine.connect().execution_options(readonly=True) as conn, Session(bind=conn) as session:
            try:
                yield session
            finally:
                session.rollback()

    def dispose(self) -> None:
        self.engine.dispose()


def _first_line(exc: Exception) -> str:
    text_ = str(getattr(exc, "orig", None) or exc).strip()
    return text_.splitlines()[0] if text_ else type(exc).__name__


def wait_for_database(engine: Engine, timeout: float | None = None) -> None:
    """Wait (bounded back-off) until the database accepts a connection, so that a process started while
    PostgreSQL restarts comes up when it is back instead of dying (gunicorn gives up on a worker that fails
    to boot). ``timeout``: ``DOCEXCHANGE_DB_WAIT_SECONDS`` (default 60); past it, the last error is raised."""
    limit = float(os.environ.get("DOCEXCHANGE_DB_WAIT_SECONDS", "60")) if timeout is None else timeout
    deadline = time.monotonic() + limit
    delay = 0.2
    while True:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return
        except OperationalError as exc:
            if time.monotonic() + delay > deadline:
                raise
            logging.getLogger("docexchange.db").warning(
                "database %s not reachable yet (%s); retrying in %.1f s",
                engine.url.render_as_string(hide_password=True), _first_line(exc), delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


T = TypeVar("T")


def at_startup(engine: Engine, step: Callable[[], T], timeout: float | None = None) -> T:
    """Run a start-up step (schema check, migration) once the database answers, and again if the database goes
    away during it (a restart that begins just after the wait), within the same ``DOCEXCHANGE_DB_WAIT_SECONDS``
    budget as ``wait_for_database``."""
    limit = float(os.environ.get("DOCEXCHANGE_DB_WAIT_SECONDS", "60")) if timeout is None else timeout
    deadline = time.monotonic() + limit
    while True:
        wait_for_database(engine, max(0.0, deadline - time.monotonic()))
        try:
            return step()
        except OperationalError as exc:
            if time.monotonic() >= deadline:
                raise
            logging.getLogger("docexchange.db").warning(
                "database went away during start-up (%s); trying again", _first_line(exc))
            time.sleep(0.5)
