"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL.

Each test gets its own empty database (a SQLite file, or a PostgreSQL database created through
the admin URL and dropped afterwards), because migrations must start from nothing.
"""

from __future__ import annotations

import io
import sqlite3
import uuid
from argparse import Namespace
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, delete, func, inspect, pool, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

import channel_state.models  # noqa: F401  (the channels' tables are part of the schema)
from portal_core import audit
from portal_core.cli import ALEMBIC_INI, alembic_config, migrate, sqlite_path
from portal_core.database import Database
from portal_core.models import AuditEvent, Base
from tests.conftest import throwaway_database

AUDIT = AuditEvent.__table__


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a brand-new, empty database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'portal.db'}"
        return
    request.getfixturevalue("postgres_url")  # skips, with the reason, when PostgreSQL is absent
    with throwaway_database(f"genesis_migrations_{uuid.uuid4().hex[:10]}") as url:
        yield url


@pytest.fixture
def engine(empty_url: str) -> Iterator[Engine]:
    engine = create_engine(empty_url, future=True, poolclass=pool.NullPool)
    yield engine
    engine.dispose()


def _alembic(engine: Engine, action: Callable[[Config, str], None], revision: str) -> None:
    with engine.begin() as connection:
        config = alembic_config(connection)
        config.attributes["configure_logger"] = False
        action(config, revision)


def _head() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"the migration history has branched: {heads}"
    return heads[0]


def test_upgrade_head_builds_exactly_the_models(empty_url: str, engine: Engine) -> None:
    assert migrate(empty_url, log=False) == _head()

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)

    assert differences == [], (
        "portal_core.models + channel_state.models and the migrations disagree; write a revision "
        f"(see migrations/README): {differences}"
    )


def test_upgrade_is_idempotent(empty_url: str, engine: Engine) -> None:
    migrate(empty_url, log=False)
    assert migrate(empty_url, log=False) == _head()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1


def test_downgrade_to_base_removes_everything_and_upgrade_rebuilds(
    empty_url: str, engine: Engine
) -> None:
    migrate(empty_url, log=False)

    _alembic(engine, command.downgrade, "base")

    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            leftover = "SELECT count(*) FROM pg_proc WHERE proname = 'audit_events_append_only'"
        else:
            leftover = "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
        assert conn.execute(text(leftover)).scalar() == 0
    migrate(empty_url, log=False)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())


def test_audit_events_accept_inserts_but_refuse_update_and_delete(
    empty_url: str, engine: Engine
) -> None:
    migrate(empty_url, log=False)
    _one_audit_row(empty_url)

    for statement in (update(AUDIT).values(detail="rewritten"), delete(AUDIT)):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(statement)

    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(AUDIT)).scalar() == 1
        assert conn.execute(select(AUDIT.c.detail)).scalar() is None


def test_audit_events_refuse_truncate_on_postgresql(empty_url: str, engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    migrate(empty_url, log=False)

    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("TRUNCATE audit_events"))


def test_offline_sql_for_postgresql_includes_the_append_only_triggers() -> None:
    out = io.StringIO()
    config = Config(
        str(ALEMBIC_INI), output_buffer=out, cmd_opts=Namespace(x=["url=postgresql://"])
    )
    config.attributes["configure_logger"] = False

    command.upgrade(config, "head", sql=True)

    sql = out.getvalue()
    assert "CREATE TABLE audit_events" in sql
    assert "CREATE FUNCTION audit_events_append_only()" in sql
    assert "BEFORE UPDATE ON audit_events" in sql
    assert "BEFORE DELETE ON audit_events" in sql


def _one_audit_row(url: str) -> None:
    db = Database(url)
    try:
        with db.transaction() as session:
            audit.record(
                session,
                None,
                subject_id=None,
                action="read",
                resource="results",
                now=datetime(2025, 1, 2, 3, 4, tzinfo=timezone.utc),
            )
    finally:
        db.dispose()


REPLACE_ROW = (
    "{verb} INTO audit_events (id, at, action, resource, channel, transport, outcome, detail) "
    "VALUES (1, '2025-01-02 03:04:00', 'read', 'results', 'web', 'web', 'ok', 'rewritten')"
)


@pytest.mark.parametrize("verb", ["INSERT OR REPLACE", "REPLACE"])
def test_audit_events_refuse_insert_or_replace_on_sqlite(
    empty_url: str, engine: Engine, verb: str
) -> None:
    """A REPLACE deletes the row it conflicts with without firing DELETE triggers."""
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL has no INSERT OR REPLACE (ON CONFLICT DO UPDATE needs UPDATE)")
    migrate(empty_url, log=False)
    _one_audit_row(empty_url)
    statement = REPLACE_ROW.format(verb=verb)

    # From any connection, even one without the portal's pragmas...
    raw = sqlite3.connect(str(sqlite_path(empty_url)), isolation_level=None)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            raw.execute(statement)
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            raw.execute(
                "INSERT INTO audit_events (id, at, action, resource, channel, transport, outcome) "
                "VALUES (1, '2025-01-02', 'x', 'x', 'web', 'web', 'ok') "
                "ON CONFLICT (id) DO UPDATE SET detail = 'rewritten'"
            )
    finally:
        raw.close()
    # ...and from the portal's own.
    db = Database(empty_url)
    try:
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text(statement))
    finally:
        db.dispose()

    with engine.connect() as conn:
        assert conn.execute(select(AUDIT.c.detail)).all() == [(None,)]


def test_upgrading_from_0002_keeps_old_audit_rows_and_ends_unbound_sessions(
    empty_url: str, engine: Engine
) -> None:
    migrate(empty_url, "0002", log=False)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO patients (id, dod_id, first_name, last_name, date_of_birth, sex, "
                "country, assurance_level, relationship_to_sponsor, sms_health_consent) VALUES "
                "(1, '1234567890', 'Pat', 'Doe', '1985-06-15', 'U', 'US', 'premium', 'self', "
                "false)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO audit_events (at, action, resource, channel, outcome) "
                "VALUES ('2025-01-02 03:04:00', 'read', 'results', 'sms', 'ok')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO verified_sessions (session_key, patient_id, channel, verified_at, "
                "last_seen_at) VALUES ('sms:+12545550100', 1, 'sms', '2025-01-02', '2025-01-02')"
            )
        )

    migrate(empty_url, log=False)

    with engine.connect() as conn:
        assert conn.execute(select(AUDIT.c.channel, AUDIT.c.transport, AUDIT.c.session)).all() == [
            ("sms", "unknown", None)
        ]
        assert conn.execute(text("SELECT count(*) FROM verified_sessions")).scalar() == 0
    _one_audit_row(empty_url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(AUDIT)).scalar() == 2
