"""PostgreSQL and Redis for the loopback topology: start them where they aren't running,
and create (or drop) the databases a topology uses.

On this kind of machine both are Debian's packages without systemd; the commands are the ones
`.ci/run` would use. Anything already listening is used as it is and never restarted.
"""

from __future__ import annotations

import glob
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url

from ops.topology import Stores, postgres_url

ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
REDIS_COMMAND = [
    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379",
    "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis",
    "--logfile", "/var/log/redis/ci.log",
]  # fmt: skip


def listening(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _wait(host: str, port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if listening(host, port):
            return True
        time.sleep(0.3)
    return False


def ensure_postgres(host: str = "127.0.0.1", port: int = 5432) -> None:
    """Start the local cluster (Debian's `pg_ctlcluster`) if nothing listens on `port`."""
    if listening(host, port):
        return
    versions = sorted(os.path.basename(p) for p in glob.glob("/etc/postgresql/*"))
    if not versions:
        raise RuntimeError("PostgreSQL is not running and no local cluster is installed")
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"],
        check=True,
        timeout=60,
    )
    if not _wait(host, port, 30):
        raise RuntimeError(f"PostgreSQL did not come up on {host}:{port}")


def ensure_redis(host: str = "127.0.0.1", port: int = 6379) -> None:
    """Start a local, non-persistent Redis if nothing listens on `port`."""
    if listening(host, port):
        return
    os.makedirs("/var/lib/redis", exist_ok=True)
    os.makedirs("/var/log/redis", exist_ok=True)
    subprocess.run(REDIS_COMMAND, check=True, timeout=30)
    if not _wait(host, port, 15):
        raise RuntimeError(f"Redis did not come up on {host}:{port}")


def _admin_url_for(database_url: str) -> str:
    """The same server's `postgres` database (where CREATE/DROP DATABASE run)."""
    return make_url(database_url).set(database="postgres").render_as_string(hide_password=False)


def _quoted(name: str) -> str:
    if not name or not all(c.isalnum() or c == "_" for c in name):
        raise ValueError(f"not a safe database name: {name!r}")
    return f'"{name}"'


@contextmanager
def administering(database_url: str) -> Iterator[tuple[Connection, str]]:
    """An autocommit connection to the server's `postgres` database, and the (checked) name of
    the database in `database_url`: CREATE and DROP DATABASE can't run inside a transaction
    nor from the database they act on."""
    name = make_url(database_url).database or ""
    _quoted(name)
    admin = create_engine(_admin_url_for(database_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            yield conn, name
    finally:
        admin.dispose()


def ensure_database(database_url: str) -> bool:
    """Create the database named in `database_url` if it doesn't exist; True if created."""
    with administering(database_url) as (conn, name):
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).scalar()
        if exists:
            return False
        conn.execute(text(f"CREATE DATABASE {_quoted(name)}"))
        return True


def drop_database(database_url: str) -> None:
    """Drop the database named in `database_url`, closing whatever is still connected."""
    with administering(database_url) as (conn, name):
        conn.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
            {"n": name},
        )
        conn.execute(text(f"DROP DATABASE IF EXISTS {_quoted(name)}"))


@contextmanager
def scratch_stores(name: str, lock_prefix: str) -> Iterator[Stores]:
    """Two new databases on the local PostgreSQL (the portal's and Rasa's tracker store), with
    PostgreSQL and Redis started if need be, for one benchmark or profiling run; dropped after.

    A fresh suffix keeps concurrent runs (and a run's leftovers) apart, in the database names
    and in the Redis lock prefix."""
    ensure_postgres()
    ensure_redis()
    unique = uuid.uuid4().hex[:10]
    stores = Stores(
        portal_url=postgres_url(f"genesis_{name}_{unique}_portal"),
        tracker_url=postgres_url(f"genesis_{name}_{unique}_tracker"),
        lock_prefix=f"{lock_prefix}{unique}",
    )
    for url in (stores.portal_url, stores.tracker_url):
        ensure_database(url)
    try:
        yield stores
    finally:
        for url in (stores.portal_url, stores.tracker_url):
            drop_database(url)
