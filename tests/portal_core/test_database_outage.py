"""A database that is unreachable, or drops the connection mid-transaction, raises `Unavailable`,
leaves nothing half-written, and the same `Database` works again once the server is back."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from sqlalchemy import create_engine, text

from portal_core.database import Database
from portal_core.errors import PortalError, Unavailable


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_refused_connection_is_unavailable_and_quick() -> None:
    database = Database(f"postgresql+psycopg2://postgres@127.0.0.1:{closed_port()}/nothing")
    started = time.monotonic()
    with pytest.raises(Unavailable), database.transaction() as session:
        session.execute(text("SELECT 1"))
    assert time.monotonic() - started < 10
    assert not issubclass(Unavailable, PortalError)  # never mistaken for a refusal


def test_a_connection_killed_mid_transaction_writes_nothing_and_recovers(
    postgres_url: str,
) -> None:
    database = Database(postgres_url)
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS outage_probe (note text)"))
        conn.execute(text("TRUNCATE outage_probe"))
    inserted = threading.Event()

    def kill_when_inserted(pid: int) -> None:
        inserted.wait(10)
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    with pytest.raises(Unavailable), database.transaction() as session:
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        killer = threading.Thread(target=kill_when_inserted, args=(pid,))
        killer.start()
        session.execute(text("INSERT INTO outage_probe VALUES ('half-written')"))
        inserted.set()
        killer.join()
        session.execute(text("INSERT INTO outage_probe VALUES ('second half')"))
    with admin.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM outage_probe")).scalar_one() == 0
    # The pool's dead connection is replaced: no restart needed.
    with database.transaction() as session:
        session.execute(text("INSERT INTO outage_probe VALUES ('after')"))
    with admin.connect() as conn:
        assert conn.execute(text("SELECT note FROM outage_probe")).scalars().all() == ["after"]
        conn.execute(text("DROP TABLE outage_probe"))
    admin.dispose()
    database.dispose()
