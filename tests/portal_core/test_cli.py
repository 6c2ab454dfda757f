"""The command line, run the way `make db` runs it: as subprocesses with PORTAL_DATABASE_URL."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal_core import cli, identity
from portal_core.database import Database
from portal_core.errors import LockedOut, VerificationFailed
from portal_core.models import Patient, Slot
from portal_core.seed import DEMO_IDENTITIES
from tests.portal_core.command_line import run_cli

TODAY = "2025-06-30"
ON = date(2025, 6, 30)


def counts(url: str) -> tuple[int, int]:
    db = Database(url)
    try:
        with db.transaction() as session:
            patients = session.scalar(select(func.count()).select_from(Patient))
            slots = session.scalar(select(func.count()).select_from(Slot))
            return patients, slots
    finally:
        db.dispose()


def test_migrate_then_seed_if_empty_and_again_is_a_no_op(tmp_path: Path) -> None:
    database = tmp_path / "var" / "portal.db"  # `var/` does not exist yet
    url = f"sqlite:///{database}"

    migrated = run_cli(url, "migrate")
    seeded = run_cli(url, "seed", "--if-empty", "--today", TODAY)

    assert migrated.returncode == 0, migrated.stderr
    assert seeded.returncode == 0, seeded.stderr
    assert "Seeded the demo data for 2025-06-30" in seeded.stdout
    first = counts(url)
    assert first[0] == len(DEMO_IDENTITIES) and first[1] > 1000

    again_migrated = run_cli(url, "migrate")
    again_seeded = run_cli(url, "seed", "--if-empty")

    assert again_migrated.returncode == 0, again_migrated.stderr
    assert again_seeded.returncode == 0, again_seeded.stderr
    assert "nothing seeded" in again_seeded.stdout
    assert counts(url) == first

    refused = run_cli(url, "seed")
    assert refused.returncode == 1
    assert "already holds" in refused.stderr and "Traceback" not in refused.stderr
    assert counts(url) == first


def test_seed_before_migrate_fails_cleanly_without_creating_a_file(tmp_path: Path) -> None:
    database = tmp_path / "portal.db"

    result = run_cli(f"sqlite:///{database}", "seed", "--if-empty")

    assert result.returncode == 1
    assert "migrate" in result.stderr and "Traceback" not in result.stderr
    assert not database.exists()


def test_seed_into_an_unmigrated_database_fails_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "portal.db"
    database.touch()
    monkeypatch.setenv("PORTAL_DATABASE_URL", f"sqlite:///{database}")

    assert cli.main(["seed"]) == 1
    assert "Run `python -m portal_core.cli migrate` first" in capsys.readouterr().err


def test_unreachable_database_is_one_plain_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PORTAL_DATABASE_URL", "postgresql+psycopg2://nobody:secret@127.0.0.1:1/x")

    assert cli.main(["migrate"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Database error at") and "127.0.0.1" in err
    assert "secret" not in err and "Traceback" not in err


def test_unusable_url(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PORTAL_DATABASE_URL", "not a url")

    assert cli.main(["seed"]) == 1
    assert "not a usable database URL" in capsys.readouterr().err


def test_bad_date_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["seed", "--today", "2025-02-30"])

    assert exit_info.value.code == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_demo_identities_from_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'portal.db'}"
    cli.migrate(url, log=False)
    monkeypatch.setenv("PORTAL_DATABASE_URL", url)
    assert cli.main(["seed", "--today", TODAY]) == 0
    capsys.readouterr()

    assert cli.main(["demo-identities", "--today", TODAY]) == 0
    table = capsys.readouterr().out

    assert "Birth dates as stored in the database" in table
    for ident in DEMO_IDENTITIES:
        line = next(row for row in table.splitlines() if row.startswith(ident.full_name))
        assert ident.dod_id[-4:] in line and str(ident.age) in line
        assert ident.date_of_birth(ON).isoformat() in line
        assert ident.dod_id not in table, "only the last four digits are printed"


def test_demo_identities_without_a_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nothing-here.db"
    monkeypatch.setenv("PORTAL_DATABASE_URL", f"sqlite:///{missing}")

    assert cli.main(["demo-identities", "--markdown"]) == 0
    out = capsys.readouterr().out

    assert out.startswith("| Name | Role |")
    assert len(out.strip().splitlines()) == 2 + len(DEMO_IDENTITIES)
    assert not missing.exists(), "listing must not create an empty database"


def test_security_alerts_lists_repeated_lockouts_for_operators(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'portal.db'}"
    assert run_cli(url, "migrate").returncode == 0
    empty = run_cli(url, "security-alerts")
    assert empty.returncode == 0 and empty.stdout.strip() == "No security alerts."

    db = Database(url)
    at = datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)
    try:
        for _ in range(2):  # locked, then locked again once the first lockout is over
            for _ in range(3):
                with pytest.raises((VerificationFailed, LockedOut)):
                    identity.verify(
                        db, "+12545550199", "sms:x", "sms", "1990-01-01", "0000", now=at
                    )
            at += timedelta(hours=1)
    finally:
        db.dispose()

    listed = run_cli(url, "security-alerts", "--limit", "5")
    assert listed.returncode == 0, listed.stderr
    assert "repeated_lockout  +12545550199" in listed.stdout
    assert "lockout 2 in a row" in listed.stdout
    later = run_cli(url, "security-alerts", "--since", "2026-11-26")
    assert later.stdout.strip() == "No security alerts since 2026-11-26T00:00:00+00:00."
    bad = run_cli(url, "security-alerts", "--limit", "0")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_operator_commands_on_a_database_never_migrated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing.db'}"
    for command in ("security-alerts", "prune-deliveries"):
        done = run_cli(url, command)
        assert done.returncode == 1 and "migrate" in done.stderr
    assert not (tmp_path / "missing.db").exists()


def test_roles_refuses_sqlite_plainly(tmp_path: Path) -> None:
    done = run_cli(f"sqlite:///{tmp_path / 'p.db'}", "roles", "--owner", "o", "--runtime", "r")
    assert done.returncode == 1
    assert (
        done.stderr.strip()
        == "error: Database roles exist only on PostgreSQL; SQLite has no users."
    )


def test_migrate_runs_as_the_schema_owner_when_one_is_configured(tmp_path: Path) -> None:
    app, owner = tmp_path / "app.db", tmp_path / "owner.db"
    done = run_cli(
        f"sqlite:///{app}", "migrate", env={"PORTAL_MIGRATION_DATABASE_URL": f"sqlite:///{owner}"}
    )
    assert done.returncode == 0, done.stderr
    assert str(owner) in done.stdout
    assert owner.exists() and not app.exists()
