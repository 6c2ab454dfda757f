"""Alembic environment: one schema on SQLite and PostgreSQL.

The schema is every table on `portal_core.models.Base`: the domain's (`portal_core.models`) and
the Twilio channels' state (`channel_state.models`), imported here because the domain does not
know the channels.

Where the database is, in order: a connection handed in by code (`config.attributes
["connection"]`, how the CLI and the tests run migrations), `-x url=...` on the alembic command
line, and otherwise `PORTAL_DATABASE_URL` through `load_settings()`, the same setting the
portal itself reads. The URL never lives in alembic.ini, so no credential ends up in git.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import Connection

import channel_state.models  # noqa: F401  (registers the channel tables on Base)
from portal_core.config import load_settings
from portal_core.models import Base, UTCDateTime

config = context.config

# Code that runs migrations in-process (tests, the CLI) keeps its own logging set-up.
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _database_url() -> str:
    override = context.get_x_argument(as_dictionary=True).get("url")
    return override or load_settings().database_url


def _render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Write UTC columns as plain `sa.DateTime()`: a revision is a frozen snapshot of the schema
    and must not import application code that may change or move later."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


def _options(dialect_name: str) -> dict[str, object]:
    # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
    return {
        "target_metadata": target_metadata,
        "render_as_batch": dialect_name == "sqlite",
        "compare_type": True,
        "render_item": _render_item,
    }


def run_migrations_offline() -> None:
    """`alembic upgrade --sql`: emit the SQL for a DBA instead of running it."""
    url = _database_url()
    context.configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **_options(url.split(":", 1)[0].split("+", 1)[0]),
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_on(connection: Connection) -> None:
    context.configure(connection=connection, **_options(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    # A plain engine on purpose: the portal's SQLite pragmas (foreign keys ON) would make batch
    # table rebuilds fail on tables that others reference.
    engine = create_engine(_database_url(), poolclass=pool.NullPool, future=True)
    try:
        with engine.connect() as connection:
            _run_on(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
