"""The production topology as data: which processes run, with which command and environment.

    nginx (front) ──round robin──> Rasa replica 1..n ──> nginx (actions) ──> action server 1..m
                                        │                                          │
                       PostgreSQL tracker database, Redis locks          PostgreSQL portal database

Every Rasa replica is stateless: conversations live in the SQL tracker store (its own
PostgreSQL database beside the portal's), and Redis's lock store makes the turns of one
conversation run one at a time whichever replica receives them, so the load balancer needs no
sticky sessions (Twilio's webhooks carry no cookie to stick to anyway). Action servers are
stateless too; they reach the portal database only.

`make run-prod`, the fault tests (`tests/prod/`), the load benchmark and the operator files in
`deploy/` all come from this one description; `tests/prod/test_deploy_files.py` checks that
`deploy/docker-compose.yml` and `deploy/k8s/` name the same commands and environment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
CREDENTIALS = "bot/credentials.yml"
ACTIONS_PACKAGE = "bot.actions"
RASA_PORT = 5005  # inside a container, and the front door on loopback (`make run` uses it too)
ACTIONS_PORT = 5055

# What each role reads from its environment (besides what Python and Rasa read anyway). The
# loopback runner sets exactly these, and deploy/ must name exactly these for each service.
ENVIRONMENT: dict[str, tuple[str, ...]] = {
    "rasa": (
        "PORTAL_DATABASE_URL",  # the Twilio channels keep deliveries and SMS state there
        "TWILIO_AUTH_TOKEN",
        "TWILIO_PUBLIC_BASE_URL",
        "RASA_TELEMETRY_ENABLED",
        "SQL_POOL_SIZE",  # Rasa's tracker store connection pool (per process)
        "SQL_MAX_OVERFLOW",
        "SANIC_WORKERS",
    ),
    "actions": (
        "PORTAL_DATABASE_URL",
        "PORTAL_JWT_SECRET",
        "SANIC_HOST",  # rasa-sdk binds here (default 0.0.0.0)
        "RASA_TELEMETRY_ENABLED",
    ),
}
# Tuning that is the same everywhere; secrets and addresses come from the deployment.
DEFAULTS: dict[str, dict[str, str]] = {
    "rasa": {
        "RASA_TELEMETRY_ENABLED": "false",
        "SQL_POOL_SIZE": "10",
        "SQL_MAX_OVERFLOW": "10",
        "SANIC_WORKERS": "1",
    },
    "actions": {"RASA_TELEMETRY_ENABLED": "false"},
}


@dataclass(frozen=True)
class Stores:
    """Where the shared state lives.

    `portal_url` is the portal's SQLAlchemy URL (`PORTAL_DATABASE_URL`); `tracker_url` the
    PostgreSQL database Rasa's SQL tracker store uses (a separate database, so the two can be
    sized, backed up and permissioned apart). `lock_prefix` keeps several deployments (or test
    runs) sharing one Redis apart; Rasa allows letters and digits only.
    """

    portal_url: str
    tracker_url: str
    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    redis_db: int = 0
    lock_prefix: str = "genesis"

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9]+", self.lock_prefix):
            raise ValueError("the lock prefix must be letters and digits (Rasa's rule)")
        if make_url(self.tracker_url).get_backend_name() != "postgresql":
            raise ValueError("the tracker store of the production topology is PostgreSQL")


def tracker_store_section(stores: Stores) -> dict[str, Any]:
    """Rasa's `tracker_store:` endpoint for the tracker database."""
    url = make_url(stores.tracker_url)
    section: dict[str, Any] = {
        "type": "SQL",
        "dialect": "postgresql",
        "url": url.host or "127.0.0.1",
        "port": url.port or 5432,
        "db": url.database,
        "username": url.username or "postgres",
    }
    if url.password:
        section["password"] = url.password
    return section


def lock_store_section(stores: Stores) -> dict[str, Any]:
    """Rasa's `lock_store:` endpoint for Redis."""
    return {
        "type": "redis",
        "url": stores.redis_host,
        "port": stores.redis_port,
        "db": stores.redis_db,
        "key_prefix": stores.lock_prefix,
    }


def endpoints(action_url: str, stores: Stores) -> dict[str, Any]:
    """A Rasa replica's whole endpoints file: actions through the balancer, shared stores."""
    return {
        "action_endpoint": {"url": action_url},
        "tracker_store": tracker_store_section(stores),
        "lock_store": lock_store_section(stores),
    }


def rasa_command(
    python: str, *, model: str, endpoints_file: str, host: str, port: int
) -> list[str]:
    """One Rasa replica: NLU, dialogue and the channels (REST, Twilio SMS and voice)."""
    return [
        python, "-m", "rasa", "run",
        "--enable-api",
        "--model", model,
        "--endpoints", endpoints_file,
        "--credentials", CREDENTIALS,
        "--interface", host,
        "--port", str(port),
    ]  # fmt: skip


def actions_command(python: str, *, port: int) -> list[str]:
    """One action server (rasa-sdk); it binds to `SANIC_HOST`."""
    return [python, "-m", "rasa_sdk", "--actions", ACTIONS_PACKAGE, "--port", str(port)]


def environment(role: str, values: Mapping[str, str]) -> dict[str, str]:
    """The role's variables: the defaults, then `values`; nothing the role doesn't read."""
    names = ENVIRONMENT[role]
    unknown = set(values) - set(names)
    if unknown:
        raise ValueError(f"{role} does not read {sorted(unknown)}")
    merged = {**DEFAULTS.get(role, {}), **values}
    missing = [n for n in names if n not in merged]
    if missing:
        raise ValueError(f"{role} needs {missing}")
    return {name: merged[name] for name in names}


@dataclass(frozen=True)
class Layout:
    """Loopback ports: the front door, the action balancer, and each replica's own."""

    front: int
    actions_front: int
    rasa: tuple[int, ...]
    actions: tuple[int, ...]
    host: str = "127.0.0.1"

    @property
    def front_url(self) -> str:
        return f"http://{self.host}:{self.front}"

    @property
    def action_url(self) -> str:
        return f"http://{self.host}:{self.actions_front}/webhook"

    def rasa_url(self, index: int) -> str:
        return f"http://{self.host}:{self.rasa[index]}"

    def actions_url(self, index: int) -> str:
        return f"http://{self.host}:{self.actions[index]}"


# `make run-prod`: the front door where `make run` puts Rasa, so `make sms` and `make call`
# work against either; each replica on its own port beside it.
DEFAULT_LAYOUT = Layout(front=5005, actions_front=5055, rasa=(5105, 5106), actions=(5155, 5156))


@dataclass(frozen=True)
class Process:
    """One process of the topology: how to start it and how to know it is ready."""

    name: str
    role: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    ready_url: str | None = None


def postgres_url(database: str, *, host: str = "127.0.0.1", port: int = 5432) -> str:
    """A loopback PostgreSQL URL (trust authentication as user postgres, as on this machine)."""
    return f"postgresql+psycopg2://postgres@{host}:{port}/{quote(database)}"
