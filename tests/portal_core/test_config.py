"""Start-up checks: no default secret, and production refuses weak ones."""

from __future__ import annotations

import pytest

from portal_core import config
from portal_core.config import StartupError, check_startup, load_settings, secret_problem

STRONG = "s" * 48
NAMES = ("PORTAL_JWT_SECRET", "GENESIS_ACTION_TOKEN", "RASA_API_TOKEN")


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("GENESIS_ENV", "production")
    monkeypatch.delenv("GENESIS_FROZEN_NOW", raising=False)
    for name in NAMES:
        monkeypatch.setenv(name, STRONG)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "t" * 32)
    return monkeypatch


def test_there_is_no_default_jwt_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_JWT_SECRET", "")
    assert load_settings().jwt_secret == ""
    assert config.Settings().jwt_secret == ""


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "is not set"),
        ("   ", "is not set"),
        ("change-me-to-a-long-random-string", "placeholder"),
        ("dev-only-insecure-secret-change-me", "placeholder"),
        ("please-change-me-before-production-0123456789", "placeholder"),
        ("x" * 31, "shorter than 32 bytes"),
    ],
)
def test_weak_secrets_are_named(value: str, problem: str) -> None:
    found = secret_problem("PORTAL_JWT_SECRET", value)
    assert found is not None and problem in found


def test_a_strong_secret_passes() -> None:
    assert secret_problem("PORTAL_JWT_SECRET", STRONG) is None


def test_production_with_strong_secrets_starts(production: pytest.MonkeyPatch) -> None:
    assert check_startup(NAMES, twilio=True) == []


@pytest.mark.parametrize("name", NAMES)
def test_production_refuses_each_missing_secret(production: pytest.MonkeyPatch, name: str) -> None:
    production.delenv(name)
    with pytest.raises(StartupError, match=name):
        check_startup(NAMES)


def test_production_refuses_enabled_twilio_without_its_token(
    production: pytest.MonkeyPatch,
) -> None:
    production.delenv("TWILIO_AUTH_TOKEN")
    assert check_startup(NAMES, twilio=False) == []
    with pytest.raises(StartupError, match="TWILIO_AUTH_TOKEN"):
        check_startup(NAMES, twilio=True)


def test_production_refuses_the_test_clock(production: pytest.MonkeyPatch) -> None:
    production.setenv("GENESIS_FROZEN_NOW", "2026-06-10T12:00:00+00:00")
    with pytest.raises(StartupError, match="GENESIS_FROZEN_NOW"):
        check_startup(NAMES)


def test_development_warns_instead(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENESIS_ENV", "development")
    monkeypatch.setenv("PORTAL_JWT_SECRET", "short")
    problems = check_startup(("PORTAL_JWT_SECRET",))
    assert problems and "shorter" in problems[0]


def test_an_unknown_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENESIS_ENV", "prod")
    with pytest.raises(StartupError, match="GENESIS_ENV"):
        check_startup(())
