"""The two PostgreSQL roles a deployment runs with: the schema's owner and the application.

The audit log is only trustworthy if the credentials the running application holds cannot
rewrite it. On PostgreSQL the triggers of migration 0001 refuse UPDATE, DELETE and TRUNCATE on
`audit_events`, but a table's owner may disable its triggers. So:

* the **owner** role owns the schema and every table; only migrations run as it
  (`PORTAL_MIGRATION_DATABASE_URL`);
* the **runtime** role is what the assistant and the action server connect as
  (`PORTAL_DATABASE_URL`): it may read and write the portal's tables but only INSERT and SELECT
  audit rows, and since it owns nothing it cannot disable a trigger, alter or drop a table, or
  create one.

`create_roles` sets that up, idempotently, connected as a superuser (or a role with CREATEROLE
that is a member of both roles) to the portal's database: it creates the roles when missing,
hands the schema and any existing tables to the owner, grants the runtime role its rights on
what exists and, through default privileges, on every table the owner creates later. Migration
0003 takes UPDATE, DELETE and TRUNCATE on `audit_events` back from every role but the owner
whichever order the two steps run in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import Connection

from portal_core.errors import InvalidInput

ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
SCHEMA = "public"
# Only these two tables are not the runtime's to change: the audit log, and the migrations' own
# bookkeeping (a wrong version number would make the next `migrate` skip or repeat a revision).
APPEND_ONLY = "audit_events"
READ_ONLY = "alembic_version"


@dataclass(frozen=True)
class RolesReport:
    """What `create_roles` did, for the command line to print."""

    database: str
    created: tuple[str, ...]
    reowned: tuple[str, ...]


def create_roles(
    admin_url: str,
    owner: str,
    runtime: str,
    *,
    owner_password: str | None = None,
    runtime_password: str | None = None,
) -> RolesReport:
    """Create (or complete) the owner and runtime roles for the database at `admin_url`.

    A password given is set (on an existing role too); without one a new role has none, for
    deployments that authenticate by certificate or peer. Refuses a runtime role that could
    bypass the rules: a superuser, a role that may create roles, or a member of the owner.
    """
    for name in (owner, runtime):
        if not isinstance(name, str) or not ROLE_NAME.fullmatch(name):
            raise InvalidInput(
                f"{name!r} is not a usable role name: use lower-case letters, digits and "
                "underscores, starting with a letter or underscore."
            )
    if owner == runtime:
        raise InvalidInput("The owner and the runtime role must be two different roles.")
    engine = create_engine(admin_url, future=True, poolclass=pool.NullPool)
    if engine.dialect.name != "postgresql":
        engine.dispose()
        raise InvalidInput("Database roles exist only on PostgreSQL; SQLite has no users.")
    try:
        with engine.begin() as conn:
            created = tuple(
                name
                for name, password in ((owner, owner_password), (runtime, runtime_password))
                if _ensure_role(conn, name, password)
            )
            _refuse_powerful_runtime(conn, owner, runtime)
            database = conn.execute(text("SELECT current_database()")).scalar_one()
            reowned = _hand_schema_to_owner(conn, owner)
            _grant_runtime(conn, database, owner, runtime)
    finally:
        engine.dispose()
    return RolesReport(database=database, created=created, reowned=reowned)


def _ensure_role(conn: Connection, name: str, password: str | None) -> bool:
    """True if the role was created. Names are checked against ROLE_NAME before they get here."""
    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).first()
    verb = "ALTER" if exists else "CREATE"
    if password is not None:
        # psycopg2 interpolates the parameter client-side as a quoted literal.
        conn.execute(text(f"{verb} ROLE {name} LOGIN PASSWORD :p"), {"p": password})
    elif not exists:
        conn.execute(text(f"CREATE ROLE {name} LOGIN"))
    return not exists


def _refuse_powerful_runtime(conn: Connection, owner: str, runtime: str) -> None:
    row = conn.execute(
        text(
            "SELECT rolsuper OR rolcreaterole OR rolbypassrls, "
            "pg_has_role(:runtime, :owner, 'MEMBER') "
            "FROM pg_roles WHERE rolname = :runtime"
        ),
        {"runtime": runtime, "owner": owner},
    ).one()
    if row[0]:
        raise InvalidInput(
            f"The runtime role {runtime} is a superuser or may create roles or bypass row "
            "security; it could undo every restriction. Use an ordinary role."
        )
    if row[1]:
        raise InvalidInput(
            f"The runtime role {runtime} is a member of the owner {owner}, so it holds the "
            "owner's rights. Revoke that membership first."
        )


def _hand_schema_to_owner(conn: Connection, owner: str) -> tuple[str, ...]:
    """The schema, its tables (their sequences follow) and functions, owned by `owner`."""
    conn.execute(text(f"ALTER SCHEMA {SCHEMA} OWNER TO {owner}"))
    conn.execute(text(f"REVOKE CREATE ON SCHEMA {SCHEMA} FROM PUBLIC"))
    tables = conn.execute(
        text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relkind IN ('r', 'p', 'v', 'm') "
            "AND pg_get_userbyid(c.relowner) <> :owner ORDER BY c.relname"
        ),
        {"schema": SCHEMA, "owner": owner},
    ).scalars()
    reowned = []
    for table in tables:
        conn.execute(text(f'ALTER TABLE {SCHEMA}."{table}" OWNER TO {owner}'))
        reowned.append(table)
    functions = conn.execute(
        text(
            "SELECT p.oid::regprocedure::text FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = :schema AND pg_get_userbyid(p.proowner) <> :owner"
        ),
        {"schema": SCHEMA, "owner": owner},
    ).scalars()
    for signature in functions:
        conn.execute(text(f"ALTER FUNCTION {signature} OWNER TO {owner}"))
        reowned.append(signature)
    return tuple(reowned)


def _grant_runtime(conn: Connection, database: str, owner: str, runtime: str) -> None:
    conn.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO {owner}, {runtime}'))
    conn.execute(text(f"GRANT USAGE ON SCHEMA {SCHEMA} TO {runtime}"))
    # What the owner creates from now on (every later migration)...
    conn.execute(
        text(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {SCHEMA} "
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {runtime}"
        )
    )
    conn.execute(
        text(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {SCHEMA} "
            f"GRANT USAGE, SELECT ON SEQUENCES TO {runtime}"
        )
    )
    # ...and what exists already.
    conn.execute(
        text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {SCHEMA} TO {runtime}")
    )
    conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {SCHEMA} TO {runtime}"))
    existing = set(
        conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = :schema"), {"schema": SCHEMA}
        ).scalars()
    )
    if APPEND_ONLY in existing:
        conn.execute(
            text(
                f"REVOKE UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES ON {SCHEMA}.{APPEND_ONLY} "
                f"FROM PUBLIC, {runtime}"
            )
        )
    if READ_ONLY in existing:
        conn.execute(
            text(
                f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES "
                f"ON {SCHEMA}.{READ_ONLY} FROM PUBLIC, {runtime}"
            )
        )
