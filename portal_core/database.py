"""Engine, sessions and the one-transaction-per-service-call rule.

SQLite is the embedded default and PostgreSQL the production database; both come through
`PORTAL_DATABASE_URL`, and the code is written in SQLAlchemy's 2.0 style so it runs on the 1.4
release Rasa 3.6 pins as well as on 2.x.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import create_engine, event, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from portal_core.config import Settings, load_settings
from portal_core.errors import PortalError, Unavailable

# Connection refused or dropped, server restarting, pool exhausted, lock or serialization
# failures: the transaction was rolled back and trying again later is the whole remedy.
OUTAGES = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)
# A patient on the phone can't wait the driver's default (forever) for a dead server.
CONNECT_TIMEOUT_SECONDS = 5
POOL_TIMEOUT_SECONDS = 5


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """SQLite ignores foreign keys unless asked, and WAL lets readers run during a write.

    Recursive triggers make the row that `INSERT OR REPLACE` deletes fire DELETE triggers, so
    the audit log's append-only trigger stops a REPLACE over an audit row from this connection
    too (the migration's BEFORE INSERT trigger stops it from any connection).
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA recursive_triggers=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    """Take the write lock when the transaction starts, not at its first write.

    pysqlite otherwise opens the transaction lazily, so a service's reads (is the slot free? are
    refills left?) would run outside the transaction that then writes: a read-decide-write race.
    SQLite has no row locks, so one writer at a time is the embedded default's guarantee.
    """
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            future=True,
            connect_args={"check_same_thread": False, "timeout": 10, "isolation_level": None},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(
        url,
        future=True,
        pool_pre_ping=True,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )


class Database:
    """Owns the engine; `transaction()` is the unit of work every service call runs in."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, future=True, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Commit on success, roll back on any exception: a failed call writes nothing.

        The one exception is what a `PortalError` asks to keep (`after_rollback`), such as the
        audit entry of a refusal; it is written in its own transaction once the failed one has
        rolled back, so the record of a refused attempt is never lost.

        A database that can't be reached (or drops the connection mid-way) raises
        `Unavailable`: the transaction is rolled back, so nothing half-written remains.
        """
        try:
            try:
                with self._sessions() as session, session.begin():
                    yield session
            except PortalError as error:
                pending, error.after_rollback = error.after_rollback, []
                if pending:
                    with self._sessions() as session, session.begin():
                        for write in pending:
                            write(session)
                raise
        except OUTAGES as error:
            raise Unavailable(f"{error.__class__.__name__}: {error}"[:300]) from error

    def create_schema(self) -> None:
        """Create every table directly (tests); deployments use `alembic upgrade head`.

        Every table registered on `Base`: the domain's, and the channels' once the caller has
        imported `channel_state.models` (the composition roots do; the domain cannot know them).
        """
        from portal_core.models import Base

        Base.metadata.create_all(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


M = TypeVar("M")


def insert_if_missing(session: Session, model: type[Any], key: str, /, **values: Any) -> bool:
    """INSERT a `model` row unless one with the same `key` column exists; True if inserted.

    ON CONFLICT DO NOTHING (in both dialects' words) rather than read-then-insert, so replicas
    racing for the same key never fail and exactly one of them inserts."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    result = session.execute(
        insert(model).values(**values).on_conflict_do_nothing(index_elements=[key])
    )
    return bool(result.rowcount == 1)


def locked_row(session: Session, model: type[M], key: str, /, **defaults: Any) -> M:
    """The `model` row whose `key` column is `defaults[key]`, created from `defaults` if new, and
    locked (FOR UPDATE) for this transaction, so concurrent writers to it queue up."""
    insert_if_missing(session, model, key, **defaults)
    row = session.scalar(
        select(model)
        .where(getattr(model, key) == defaults[key])
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert row is not None  # inserted just above
    return row


def database_from_settings(settings: Settings | None = None) -> Database:
    return Database((settings or load_settings()).database_url)
