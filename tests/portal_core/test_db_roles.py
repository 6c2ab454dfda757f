"""PostgreSQL: the runtime role reads and appends audit rows and can do nothing else to them.

Each test creates a throw-away database and two throw-away roles (role names are cluster-wide,
so they are unique per test and dropped afterwards), sets them up with `db_roles.create_roles`
as the superuser, migrates as the owner and then acts as the runtime role, the way a
deployment runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, func, pool, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from channel_state import deliveries, retention
from ops import services
from portal_core import audit, db_roles, identity, messaging, records, security_alerts
from portal_core.actors import Actor
from portal_core.cli import migrate
from portal_core.config import Settings
from portal_core.database import Database
from portal_core.errors import InvalidInput, LockedOut, VerificationFailed
from portal_core.models import AuditEvent, Patient
from portal_core.seed import seed
from tests.conftest import PG_ADMIN_URL, throwaway_database
from tests.portal_core.command_line import run_cli

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)
MARCUS_PHONE = "+12545550101"


@dataclass(frozen=True)
class Deployment:
    admin_url: str  # the superuser, on the throw-away database
    owner: str
    runtime: str

    def url_as(self, role: str) -> str:
        return make_url(self.admin_url).set(username=role).render_as_string(hide_password=False)


@pytest.fixture
def deployment(postgres_url: str) -> Iterator[Deployment]:
    """An empty database and two role names nobody else uses; all dropped afterwards."""
    suffix = uuid.uuid4().hex[:10]
    name = f"genesis_roles_{suffix}"
    owner, runtime = f"genesis_owner_{suffix}", f"genesis_app_{suffix}"
    try:
        with throwaway_database(name) as url:
            yield Deployment(url, owner, runtime)
    finally:
        with services.administering(PG_ADMIN_URL) as (conn, _):
            conn.execute(text(f"DROP ROLE IF EXISTS {runtime}"))
            conn.execute(text(f"DROP ROLE IF EXISTS {owner}"))


def _refused(url: str, statement: str, match: str) -> None:
    engine = create_engine(url, future=True, poolclass=pool.NullPool)
    try:
        with pytest.raises(DBAPIError, match=match), engine.begin() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


def _audit_rows(url: str) -> list[tuple[object, ...]]:
    engine = create_engine(url, future=True, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(select(AuditEvent.__table__).order_by("id"))]
    finally:
        engine.dispose()


TAMPERING = [
    ("UPDATE audit_events SET detail = 'rewritten'", "permission denied"),
    ("DELETE FROM audit_events", "permission denied"),
    ("TRUNCATE audit_events", "permission denied"),
    ("ALTER TABLE audit_events DISABLE TRIGGER ALL", "must be owner"),
    ("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update", "must be owner"),
    ("DROP TRIGGER audit_events_no_delete ON audit_events", "must be owner"),
    ("DROP TABLE audit_events", "must be owner"),
    ("ALTER TABLE audit_events OWNER TO CURRENT_USER", "must be owner"),
    (
        "INSERT INTO audit_events (id, at, action, resource, channel, transport, outcome) "
        "SELECT id, at, action, resource, channel, transport, outcome FROM audit_events "
        "ON CONFLICT (id) DO UPDATE SET detail = 'rewritten'",
        "permission denied",
    ),
    ("SET session_replication_role = replica", "permission denied"),
    ("CREATE TABLE shadow_audit (id int)", "permission denied for schema public"),
    ("UPDATE alembic_version SET version_num = '0001'", "permission denied"),
]


def _exercise_the_services(db: Database) -> None:
    """What the assistant does in a day, as the runtime role: every write path it has."""
    seed(db, today=NOW.date())
    with db.transaction() as s:
        marcus = s.scalars(select(Patient).where(Patient.first_name == "Marcus")).one()
        pid, born, last4 = marcus.id, marcus.date_of_birth, marcus.dod_id[-4:]
    key = f"sms:{MARCUS_PHONE}"
    who = identity.verify(db, MARCUS_PHONE, key, "sms", born, last4, now=NOW)
    assert who.patient_id == pid
    found = identity.current_identity(db, key, channel="sms", phone=MARCUS_PHONE, now=NOW)
    assert found is not None
    answer = records.results_for_channel(db, found.actor, pid, channel="sms", now=NOW)
    assert answer.found > 0
    sent = messaging.send_message(
        db, found.actor, pid, to="my PCM", body="Is my lisinopril dose right?", now=NOW
    )
    assert sent.thread_id
    assert deliveries.claim(db, "sms:SM1", "sms", key, now=NOW).fresh
    deliveries.complete(db, "sms:SM1", "<Response/>", now=NOW)
    later = NOW + timedelta(days=2)
    assert retention.prune(db, now=later, settings=Settings()).deliveries == 1
    # Two lockouts in a row on another number: escalation and an operator alert.
    stranger, at = "+12545550199", later
    for _ in range(2):
        for _ in range(3):
            with pytest.raises((VerificationFailed, LockedOut)):
                identity.verify(db, stranger, "sms:x", "sms", date(1990, 1, 1), "0000", now=at)
        at += timedelta(hours=1)
    assert [a.kind for a in security_alerts.list_alerts(db)] == ["repeated_lockout"]
    assert identity.end_session(db, key, now=NOW) is True


def test_the_runtime_role_only_inserts_and_reads_audit_rows(deployment: Deployment) -> None:
    report = db_roles.create_roles(deployment.admin_url, deployment.owner, deployment.runtime)
    assert set(report.created) == {deployment.owner, deployment.runtime}
    migrate(deployment.url_as(deployment.owner), log=False)
    runtime_url = deployment.url_as(deployment.runtime)

    db = Database(runtime_url)
    try:
        _exercise_the_services(db)
        with db.transaction() as s:
            audit.record(s, Actor(1, "web", "web-1"), subject_id=1, action="read", resource="x")
            assert s.scalar(select(func.count()).select_from(AuditEvent)) > 10
    finally:
        db.dispose()

    before = _audit_rows(runtime_url)
    for statement, refusal in TAMPERING:
        _refused(runtime_url, statement, refusal)
    assert _audit_rows(runtime_url) == before
    # The owner could disable the triggers, but even the owner can't simply rewrite a row.
    _refused(deployment.url_as(deployment.owner), TAMPERING[0][0], "append-only")


def test_roles_set_up_after_the_schema_was_migrated_by_another_role(
    deployment: Deployment,
) -> None:
    """An existing deployment, migrated by the superuser, handed over to the two roles."""
    migrate(deployment.admin_url, log=False)

    report = db_roles.create_roles(deployment.admin_url, deployment.owner, deployment.runtime)

    assert "audit_events" in report.reowned and "alembic_version" in report.reowned
    runtime_url = deployment.url_as(deployment.runtime)
    db = Database(runtime_url)
    try:
        _exercise_the_services(db)
    finally:
        db.dispose()
    for statement, refusal in TAMPERING:
        _refused(runtime_url, statement, refusal)
    # Setting up again changes nothing and creates nothing.
    again = db_roles.create_roles(deployment.admin_url, deployment.owner, deployment.runtime)
    assert (again.created, again.reowned) == ((), ())


def test_the_command_line_sets_the_roles_up_with_passwords_from_the_environment(
    deployment: Deployment,
) -> None:
    args = ["roles", "--owner", deployment.owner, "--runtime", deployment.runtime]
    secret = {"PORTAL_DB_OWNER_PASSWORD": "owner-secret-not-on-the-command-line"}
    done = run_cli(deployment.admin_url, *args, env=secret)
    assert done.returncode == 0, done.stderr
    assert deployment.owner in done.stdout and "only INSERT and SELECT" in done.stdout
    assert "owner-secret" not in done.stdout + done.stderr
    admin = create_engine(deployment.admin_url, future=True, poolclass=pool.NullPool)
    try:
        with admin.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT rolname, rolpassword IS NOT NULL FROM pg_authid "
                    "WHERE rolname IN (:o, :r)"
                ),
                {"o": deployment.owner, "r": deployment.runtime},
            ).all()
    finally:
        admin.dispose()
    assert dict(rows) == {deployment.owner: True, deployment.runtime: False}


@pytest.mark.parametrize(
    ("owner", "runtime"),
    [("same", "same"), ("Robert'); DROP ROLE x;--", "app"), ("owner", ""), ("1owner", "app")],
)
def test_role_names_are_checked_before_anything_runs(owner: str, runtime: str) -> None:
    with pytest.raises(InvalidInput):
        db_roles.create_roles("postgresql://nowhere.invalid/x", owner, runtime)


def test_a_superuser_runtime_role_is_refused(deployment: Deployment) -> None:
    superuser = make_url(PG_ADMIN_URL).username or "postgres"
    with pytest.raises(InvalidInput, match="superuser"):
        db_roles.create_roles(deployment.admin_url, deployment.owner, superuser)
    admin = create_engine(deployment.admin_url, future=True, poolclass=pool.NullPool)
    try:
        with admin.connect() as conn:  # nothing was left half done
            owner = conn.execute(
                text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": deployment.owner}
            ).first()
    finally:
        admin.dispose()
    assert owner is None


def test_sqlite_has_no_roles(tmp_path: object) -> None:
    with pytest.raises(InvalidInput, match="only on PostgreSQL"):
        db_roles.create_roles(f"sqlite:///{tmp_path}/x.db", "owner", "app")
