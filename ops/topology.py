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
RASA_PORT = 5005  # inside a container, and the front door on loopback (`make run` uses it too)
ACTIONS_PORT = 5055
TRACKER_STORE = "bot.tracker_store.RedactingSQLTrackerStore"  # Rasa's SQL store, minus identity
LOCK_STORE = "bot.lock_store.AtomicRedisLockStore"  # Rasa's Redis ticket lock, made atomic

# What each role reads from its environment (besides what Python and Rasa read anyway). The
# loopback runner sets exactly these, and deploy/ must name exactly these for each service.
ENVIRONMENT: dict[str, tuple[str, ...]] = {
    "rasa": (
        "GENESIS_ENV",  # production: no start on a weak secret (bot/launch.py)
        "GENESIS_ENDPOINTS_FILE",  # tracker store, lock store, action endpoint
        "GENESIS_ACTION_URL",  # the balancer's action door
        "GENESIS_ACTION_TOKEN",  # the header the action servers require
        "RASA_API_TOKEN",  # the HTTP API's --auth-token
        "GENESIS_CORS_ORIGINS",  # the portal page's origins (the web chat)
        "PORTAL_JWT_SECRET",  # the web chat's portal tokens
        "PORTAL_DATABASE_URL",  # the Twilio channels keep deliveries and SMS state there
        "TWILIO_AUTH_TOKEN",
        "TWILIO_PUBLIC_BASE_URL",
        "RASA_TELEMETRY_ENABLED",
        "SQL_POOL_SIZE",  # Rasa's tracker store connection pool (per process)
        "SQL_MAX_OVERFLOW",
        "SANIC_WORKERS",
    ),
    "actions": (
        "GENESIS_ENV",
        "GENESIS_ACTION_TOKEN",
        "PORTAL_JWT_SECRET",
        "PORTAL_DATABASE_URL",
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
# The action endpoint is always read from the environment, so the action token (a secret) is
# never written into a file.
ACTION_ENDPOINT = {
    "url": "${GENESIS_ACTION_URL}",
    "headers": {"X-Genesis-Action-Token": "${GENESIS_ACTION_TOKEN}"},
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
        "type": TRACKER_STORE,
        "dialect": "postgresql",
        "url": url.host or "127.0.0.1",
        "port": url.port or 5432,
        "db": url.database,
        "username": url.username or "postgres",
    }
    if url.password:
        raise ValueError("give the tracker database's password as ${VAR} in deploy/, not here")
    return section


def lock_store_section(stores: Stores) -> dict[str, Any]:
    """Rasa's `lock_store:` endpoint for Redis, shared by every replica."""
    return {
        "type": LOCK_STORE,
        "url": stores.redis_host,
        "port": stores.redis_port,
        "db": stores.redis_db,
        "key_prefix": stores.lock_prefix,
    }


def endpoints(stores: Stores) -> dict[str, Any]:
    """A Rasa replica's endpoints: actions through the balancer, the shared stores."""
    return {
        "action_endpoint": ACTION_ENDPOINT,
        "tracker_store": tracker_store_section(stores),
        "lock_store": lock_store_section(stores),
    }


_PLAIN = re.compile(r"^(?:\$\{[A-Z_]+\}|[A-Za-z0-9_.:/-]+)$")


def endpoints_yaml(document: Mapping[str, Any]) -> str:
    """The endpoints as YAML with every value a plain scalar.

    Rasa expands `${VAR}` only in plain (unquoted) scalars, and whether a YAML dumper quotes
    one depends on resolvers Rasa registers at import; so this small, fixed shape is written
    by hand, and refuses any value that would need quoting.
    """

    def lines(mapping: Mapping[str, Any], depth: int) -> list[str]:
        out = []
        for key, value in mapping.items():
            if isinstance(value, Mapping):
                out.append(f"{'  ' * depth}{key}:")
                out.extend(lines(value, depth + 1))
            else:
                text = str(value)
                if not _PLAIN.match(text) or text.lower() in ("yes", "no", "true", "false", "null"):
                    raise ValueError(f"{key}: {text!r} would need quoting")
                out.append(f"{'  ' * depth}{key}: {text}")
        return out

    return "\n".join(lines(document, 0)) + "\n"


def rasa_command(python: str, *, model: str, host: str, port: int) -> list[str]:
    """One Rasa replica (NLU, dialogue, the channels), through the checked launcher."""
    return [
        python,
        "-m",
        "bot.launch",
        "rasa",
        "--model",
        model,
        "--host",
        host,
        "--port",
        str(port),
    ]


def actions_command(python: str, *, host: str, port: int) -> list[str]:
    """One action server, through the checked launcher (token required, loopback by default)."""
    return [python, "-m", "bot.launch", "actions", "--host", host, "--port", str(port)]


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
