"""The command line: `python -m portal_core.cli COMMAND`, `--help` lists them.

migrate, seed, demo-identities: the database and its demo population. roles: the PostgreSQL
owner and runtime roles. prune-deliveries: drop stored webhook replies past their retention.
security-alerts: what operators should look at.

Settings come from the environment (`PORTAL_DATABASE_URL`, `.env`) exactly as for the portal
itself; `migrate` uses `PORTAL_MIGRATION_DATABASE_URL` (the schema owner) when it is set.
Expected failures (database unreachable, schema missing, already seeded, a bad date) print one
plain line on stderr and exit with status 1; argparse exits with 2 on bad usage.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from datetime import date, datetime, timezone
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from sqlalchemy import create_engine, inspect, pool, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

# The process entry point wires the channel floor's retention into `prune-deliveries`: the one
# import of `channel_state` that portal_core allows (tests/test_layering.py lists it).
from channel_state import retention
from portal_core import db_roles, security_alerts
from portal_core.config import PROJECT_ROOT, Settings, load_settings
from portal_core.database import Database
from portal_core.errors import PortalError, Unavailable
from portal_core.seed import DemoIdentityRow, demo_identity_rows, seed, seed_if_empty, summarize

ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"
NOT_MIGRATED = (
    "The database has no portal tables yet. Run `python -m portal_core.cli migrate` first."
)


class CliError(Exception):
    """An expected failure: the message is the whole story, so no traceback is shown."""


# ---------------------------------------------------------------------------------------------
# Migrations


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, optionally bound to an open connection (tests, `migrate`)."""
    if not ALEMBIC_INI.is_file():
        raise CliError(f"alembic.ini not found at {ALEMBIC_INI}.")
    config = Config(str(ALEMBIC_INI))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrate(database_url: str, revision: str = "head", *, log: bool = True) -> str | None:
    """Upgrade the database to `revision` in one transaction; returns the revision it is at.

    `log=False` leaves the caller's logging alone (alembic.ini would otherwise configure it).
    """
    ensure_sqlite_directory(database_url)
    engine = create_engine(database_url, future=True, poolclass=pool.NullPool)
    try:
        with engine.begin() as connection:
            config = alembic_config(connection)
            config.attributes["configure_logger"] = log
            command.upgrade(config, revision)
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def ensure_sqlite_directory(database_url: str) -> None:
    """SQLite creates the file but not its folder (`var/` on a fresh checkout)."""
    path = sqlite_path(database_url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


def sqlite_path(database_url: str) -> Path | None:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


# ---------------------------------------------------------------------------------------------
# Commands


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    url = settings.migration_database_url or settings.database_url
    revision = migrate(url)
    print(f"Database {safe_url(url)} is at revision {revision} (head).")
    return 0


def cmd_roles(args: argparse.Namespace, settings: Settings) -> int:
    report = db_roles.create_roles(
        settings.database_url,
        args.owner,
        args.runtime,
        owner_password=os.environ.get("PORTAL_DB_OWNER_PASSWORD") or None,
        runtime_password=os.environ.get("PORTAL_DB_RUNTIME_PASSWORD") or None,
    )
    created = ", ".join(report.created) or "none (both existed)"
    print(f"Database {report.database}: roles created: {created}.")
    if report.reowned:
        print(f"Now owned by {args.owner}: {', '.join(report.reowned)}.")
    print(
        f"{args.owner} owns the schema: run migrations as it (PORTAL_MIGRATION_DATABASE_URL). "
        f"{args.runtime} may read and write the portal's tables but only INSERT and SELECT "
        "audit rows: the assistant connects as it (PORTAL_DATABASE_URL)."
    )
    return 0


def cmd_prune_deliveries(args: argparse.Namespace, settings: Settings) -> int:
    db = _migrated_database(settings.database_url)
    try:
        pruned = retention.prune(db, settings=settings)
    except ValueError as exc:  # the retention setting itself is unusable
        raise CliError(str(exc)) from None
    finally:
        db.dispose()
    print(
        f"Deleted {pruned.deliveries} webhook deliveries and {pruned.conversations} SMS "
        f"conversation states older than {pruned.cutoff.isoformat(timespec='seconds')} "
        f"({settings.delivery_retention_hours} h retention)."
    )
    return 0


def cmd_security_alerts(args: argparse.Namespace, settings: Settings) -> int:
    db = _migrated_database(settings.database_url)
    try:
        alerts = security_alerts.list_alerts(db, since=args.since, limit=args.limit)
    finally:
        db.dispose()
    if not alerts:
        print("No security alerts" + (f" since {args.since.isoformat()}." if args.since else "."))
        return 0
    for alert in alerts:
        print(
            f"#{alert.alert_id}  {alert.raised_at.isoformat(timespec='seconds')}  {alert.kind}  "
            f"{alert.phone or '-'}"
        )
        print(textwrap.fill(alert.detail, width=100, initial_indent="    ",
                            subsequent_indent="    "))  # fmt: skip
    return 0


def cmd_seed(args: argparse.Namespace, settings: Settings) -> int:
    path = sqlite_path(settings.database_url)
    if path is not None and not path.exists():
        raise CliError(NOT_MIGRATED)
    db = Database(settings.database_url)
    try:
        _require_schema(db)
        if args.if_empty:
            if not seed_if_empty(db, args.today):
                print("The database already has data; nothing seeded.")
                return 0
            summary = summarize(db, today=args.today)
        else:
            summary = seed(db, today=args.today)
    finally:
        db.dispose()
    print(
        f"Seeded the demo data for {summary.today.isoformat()}: {summary.clinics} clinics, "
        f"{summary.providers} staff, {summary.pharmacies} pharmacies, {summary.patients} "
        f"patients, {summary.slots:,} slots ({summary.appointments} appointments), "
        f"{summary.prescriptions} prescriptions, {summary.refill_requests} refill requests, "
        f"{summary.lab_results} lab results, {summary.reports} reports, "
        f"{summary.immunizations} immunizations."
    )
    print("Run `python -m portal_core.cli demo-identities` to see who to try.")
    return 0


def cmd_demo_identities(args: argparse.Namespace, settings: Settings) -> int:
    db = _seeded_database(settings.database_url)
    try:
        rows = demo_identity_rows(db, today=args.today)
    finally:
        if db is not None:
            db.dispose()
    print(render_markdown(rows) if args.markdown else render_table(rows))
    return 0


def _require_schema(db: Database) -> None:
    if not inspect(db.engine).has_table("patients"):
        raise CliError(
            "The database has no portal tables yet. Run `python -m portal_core.cli migrate` first."
        )


def _migrated_database(database_url: str) -> Database:
    """The portal database, refused with the usual message when it has no tables yet."""
    path = sqlite_path(database_url)
    if path is not None and not path.exists():
        raise CliError(NOT_MIGRATED)
    db = Database(database_url)
    try:
        _require_schema(db)
    except BaseException:
        db.dispose()
        raise
    return db


def _seeded_database(database_url: str) -> Database | None:
    """The database if it is reachable and migrated; otherwise None (dates computed instead).

    A missing SQLite file is not opened, since opening it would create an empty one.
    """
    path = sqlite_path(database_url)
    if path is not None and not path.exists():
        return None
    db = Database(database_url)
    try:
        if inspect(db.engine).has_table("patients"):
            return db
    except DBAPIError:
        pass
    db.dispose()
    return None


# ---------------------------------------------------------------------------------------------
# Output


def render_table(rows: Sequence[DemoIdentityRow]) -> str:
    header = ("Name", "Age", "Born", "Phone", "DoD ID", "Account", "Role")
    cells = [
        (
            r.name,
            str(r.age),
            r.date_of_birth.isoformat(),
            r.phone or "-",
            f"...{r.dod_last4}",
            r.account,
            r.role,
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in [header, *cells]) for i in range(len(header) - 1)]

    def line(values: Sequence[str]) -> str:
        fixed = "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=False))
        return f"{fixed}  {values[-1]}".rstrip()

    out = [line(header), line(["-" * w for w in widths] + ["-" * 4])]
    for row, cell in zip(rows, cells, strict=True):
        out.append(line(cell))
        out.extend(textwrap.wrap(row.try_this, width=96, initial_indent="    Try: ",
                                 subsequent_indent="         "))  # fmt: skip
    seeded = all(r.seeded for r in rows)
    note = (
        "Birth dates as stored in the database."
        if seeded
        else "The database is not seeded yet: birth dates are what `seed` would store today."
    )
    intro = (
        "Demo identities (all fictional). Verify with the date of birth and the last four "
        "digits of the DoD ID. " + note
    )
    return "\n".join([textwrap.fill(intro, width=100), "", *out])


def render_markdown(rows: Sequence[DemoIdentityRow]) -> str:
    lines = [
        "| Name | Role | Age | Date of birth | Phone | DoD ID last 4 | Account | Try |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        cells = (
            r.name,
            r.role,
            str(r.age),
            r.date_of_birth.isoformat(),
            r.phone or "",
            r.dod_last4,
            r.account,
            r.try_this,
        )
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def safe_url(database_url: str) -> str:
    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unreadable database URL)"


# ---------------------------------------------------------------------------------------------
# Entry point


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in YYYY-MM-DD form: {text!r}") from None


def _utc_moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date or time in ISO form (2026-11-25 or 2026-11-25T15:00): {text!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= security_alerts.MAX_LIMIT:
        raise argparse.ArgumentTypeError(
            f"a number from 1 to {security_alerts.MAX_LIMIT}: {text!r}"
        )
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m portal_core.cli",
        description=(
            "Genesis Assist portal database: migrate, seed demo data, list demo users, "
            "database roles, retention and security alerts."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    migrate_cmd = commands.add_parser("migrate", help="upgrade the schema to the latest revision")
    migrate_cmd.set_defaults(handler=cmd_migrate)

    seed_cmd = commands.add_parser("seed", help="add the deterministic demo population")
    seed_cmd.add_argument(
        "--if-empty", action="store_true", help="do nothing if clinics or patients already exist"
    )
    seed_cmd.add_argument(
        "--today", type=_iso_date, default=None, help="anchor date (default: today, UTC)"
    )
    seed_cmd.set_defaults(handler=cmd_seed)

    ids_cmd = commands.add_parser("demo-identities", help="print the demo people and what to try")
    ids_cmd.add_argument("--today", type=_iso_date, default=None, help="ages as of this date")
    ids_cmd.add_argument("--markdown", action="store_true", help="a Markdown table (README)")
    ids_cmd.set_defaults(handler=cmd_demo_identities)

    roles_cmd = commands.add_parser(
        "roles",
        help="PostgreSQL: create the schema-owner and runtime roles (run as a superuser)",
        description=(
            "Create (or complete) the two roles of a PostgreSQL deployment on the database "
            "PORTAL_DATABASE_URL names, connected as a superuser: OWNER owns the schema and "
            "runs migrations; RUNTIME, which the assistant uses, may only INSERT and SELECT "
            "audit rows and owns nothing. Passwords, if any, come from PORTAL_DB_OWNER_PASSWORD "
            "and PORTAL_DB_RUNTIME_PASSWORD (never from the command line). Idempotent."
        ),
    )
    roles_cmd.add_argument("--owner", required=True, help="the schema owner's role name")
    roles_cmd.add_argument("--runtime", required=True, help="the application's role name")
    roles_cmd.set_defaults(handler=cmd_roles)

    prune_cmd = commands.add_parser(
        "prune-deliveries",
        help="delete stored webhook replies older than PORTAL_DELIVERY_RETENTION_HOURS",
    )
    prune_cmd.set_defaults(handler=cmd_prune_deliveries)

    alerts_cmd = commands.add_parser(
        "security-alerts", help="list security alerts (repeated lockouts), newest first"
    )
    alerts_cmd.add_argument(
        "--since", type=_utc_moment, default=None, help="only alerts raised since (ISO, UTC)"
    )
    alerts_cmd.add_argument("--limit", type=_limit, default=100, help="at most this many")
    alerts_cmd.set_defaults(handler=cmd_security_alerts)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace, Settings], int] = args.handler
    settings = load_settings()
    try:
        return handler(args, settings)
    except (CliError, PortalError) as exc:
        return _fail(str(exc))
    except CommandError as exc:
        return _fail(f"Migration failed: {exc}")
    except (ArgumentError, NoSuchModuleError) as exc:
        return _fail(f"PORTAL_DATABASE_URL is not a usable database URL: {exc}")
    except (DBAPIError, Unavailable) as exc:
        error = exc.__cause__ if isinstance(exc.__cause__, DBAPIError) else exc
        orig = getattr(error, "orig", None)
        reason = str(orig).strip().splitlines()[0] if orig else error.__class__.__name__
        return _fail(f"Database error at {safe_url(settings.database_url)}: {reason}")
    except BrokenPipeError:
        # `... | head`: the reader stopped listening, which is not a failure of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
