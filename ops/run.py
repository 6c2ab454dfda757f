"""Start the production topology on loopback without Docker, and stop it all on Ctrl-C.

    .venv/bin/python -m ops.run [--replicas 2] [--action-servers 2]      (`make run-prod`)

Two Rasa replicas and two action servers behind nginx, conversations in a PostgreSQL tracker
database, locks in Redis, the portal in its own PostgreSQL database (migrated and seeded on
first use). PostgreSQL and Redis are started where they aren't running. The fault tests and the
load benchmark start the same thing on free ports through `Topology`.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from ops import nginx, services
from ops.topology import (
    DEFAULT_LAYOUT,
    ROOT,
    Layout,
    Process,
    Stores,
    actions_command,
    endpoints,
    endpoints_yaml,
    environment,
    postgres_url,
    rasa_command,
)

# Generous: on a busy 2-core machine two replicas loading their models at once take minutes.
READY_SECONDS = {"rasa": 600.0, "actions": 120.0, "nginx": 20.0}
WARM_UP_SECONDS = 180.0
STOP_SECONDS = 20.0


@dataclass(frozen=True)
class Settings:
    """Everything a loopback topology needs besides its ports and stores.

    The three secrets are what `bot/launch.py` requires (`scripts/ensure-env` makes them for
    `make run-prod`; tests and the benchmark make their own).
    """

    model: Path
    twilio_auth_token: str
    twilio_public_base_url: str
    jwt_secret: str
    action_token: str
    api_token: str
    mode: str = "development"  # GENESIS_ENV: production refuses weak secrets, frozen clocks
    cors_origins: str = "http://127.0.0.1:8000"
    python: str = sys.executable
    # Per-role additions to the role's environment (benchmark tuning, e.g. SANIC_WORKERS).
    tuning: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @classmethod
    def generated(cls, model: Path, twilio_auth_token: str, public_url: str) -> Settings:
        """Settings with fresh random secrets (tests, the benchmark)."""
        return cls(
            model=model,
            twilio_auth_token=twilio_auth_token,
            twilio_public_base_url=public_url,
            jwt_secret=os.environ.get("PORTAL_JWT_SECRET") or secrets.token_urlsafe(48),
            action_token=secrets.token_urlsafe(48),
            api_token=os.environ.get("RASA_API_TOKEN") or secrets.token_urlsafe(48),
        )


def base_environment() -> dict[str, str]:
    """The inherited environment, with the project importable and TensorFlow quiet."""
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(ROOT),
        PYTHONDONTWRITEBYTECODE="1",
        TF_CPP_MIN_LOG_LEVEL="3",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
    )
    return env


def plan(layout: Layout, stores: Stores, settings: Settings, run_dir: Path) -> list[Process]:
    """The processes of a topology, in start order (action servers, replicas, balancer)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    endpoints_file = run_dir / "endpoints.yml"
    endpoints_file.write_text(endpoints_yaml(endpoints(stores)))
    config = nginx.write_config(nginx.loopback_site(layout, run_dir / "nginx"), run_dir / "nginx")
    processes: list[Process] = []
    # What both kinds of process need to reach the portal and trust each other.
    portal = {
        "GENESIS_ENV": settings.mode,
        "GENESIS_ACTION_TOKEN": settings.action_token,
        "PORTAL_JWT_SECRET": settings.jwt_secret,
        "PORTAL_DATABASE_URL": stores.portal_url,
    }
    for index, port in enumerate(layout.actions):
        env = environment("actions", {**portal, **settings.tuning.get("actions", {})})
        processes.append(
            Process(
                name=f"actions-{index + 1}",
                role="actions",
                argv=actions_command(settings.python, host=layout.host, port=port),
                env=env,
                ready_url=f"{layout.actions_url(index)}/health",
            )
        )
    for index, port in enumerate(layout.rasa):
        env = environment(
            "rasa",
            {
                **portal,
                "GENESIS_ENDPOINTS_FILE": str(endpoints_file),
                "GENESIS_ACTION_URL": layout.action_url,
                "RASA_API_TOKEN": settings.api_token,
                "GENESIS_CORS_ORIGINS": settings.cors_origins,
                "TWILIO_AUTH_TOKEN": settings.twilio_auth_token,
                "TWILIO_PUBLIC_BASE_URL": settings.twilio_public_base_url,
                **settings.tuning.get("rasa", {}),
            },
        )
        processes.append(
            Process(
                name=f"rasa-{index + 1}",
                role="rasa",
                argv=rasa_command(
                    settings.python, model=str(settings.model), host=layout.host, port=port
                ),
                env=env,
                ready_url=f"{layout.rasa_url(index)}/",
            )
        )
    processes.append(
        Process(
            name="nginx",
            role="nginx",
            argv=nginx.command(config, run_dir / "nginx"),
            ready_url=f"{layout.front_url}/health",
        )
    )
    return processes


def wait_serving(url: str, process: subprocess.Popen[bytes], seconds: float) -> None:
    """Return once `url` answers (a status below 400); raise if `process`, the server started to
    answer it, exits first or `seconds` pass. For a server started outside a `Topology`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early with {process.returncode}: {url}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:  # refused, reset, timed out, or an error status: not serving yet
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not come up in {seconds} s")


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


class Topology:
    """The running processes of one loopback topology; each can be stopped and started again."""

    def __init__(self, processes: list[Process], run_dir: Path, layout: Layout) -> None:
        self.specs = {p.name: p for p in processes}
        self.run_dir = run_dir
        self.layout = layout
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    # -- one process

    def start(self, name: str) -> subprocess.Popen[bytes]:
        spec = self.specs[name]
        env = base_environment()
        env.update(spec.env)
        with open(self.run_dir / f"{name}.log", "ab") as log:
            process = subprocess.Popen(
                spec.argv,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: nginx's workers go with it
            )
        self.running[name] = process
        return process

    def wait_ready(self, name: str, seconds: float | None = None) -> None:
        spec, process = self.specs[name], self.running[name]
        limit = seconds if seconds is not None else READY_SECONDS[spec.role]
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with {process.returncode}; see {self.run_dir}/{name}.log"
                )
            if spec.ready_url is None or _ready(spec.ready_url):
                if spec.role == "rasa":
                    self._warm_up(name, spec)
                return
            time.sleep(0.5)
        raise TimeoutError(f"{name} was not ready after {limit:.0f} s; see {self.run_dir}")

    def _warm_up(self, name: str, spec: Process) -> None:
        """One REST turn, so the first patient doesn't pay for TensorFlow's first call.

        A fresh replica's first message builds TensorFlow's graphs: seconds of CPU on the
        event loop, during which the replica answers nothing (behind a Twilio webhook, that
        is a timeout). The turn is a throw-away conversation of its own.
        """
        assert spec.ready_url is not None
        body = json.dumps({"sender": f"warmup-{name}-{uuid.uuid4().hex[:8]}", "message": "hi"})
        request = urllib.request.Request(
            spec.ready_url.rstrip("/") + "/webhooks/rest/webhook",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=WARM_UP_SECONDS):
            pass

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        """Stop one process (and its group); SIGKILL simulates a crash."""
        process = self.running.pop(name, None)
        if process is None or process.poll() is not None:
            return
        with suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_SECONDS)

    def restart(self, name: str) -> None:
        self.stop(name)
        self.start(name)
        self.wait_ready(name)

    def pid(self, name: str) -> int:
        return self.running[name].pid

    # -- all of them

    def start_all(self) -> None:
        """Everything at once (the replicas load their models in parallel), then wait."""
        for name in self.specs:
            self.start(name)
        for name in self.specs:
            self.wait_ready(name)

    def stop_all(self) -> None:
        """SIGTERM to everything at once, then SIGKILL whatever is left after the grace time."""
        processes = [self.running.pop(name) for name in reversed(list(self.running))]
        for process in processes:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for process in processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=STOP_SECONDS)


@contextmanager
def running(
    layout: Layout, stores: Stores, settings: Settings, run_dir: Path
) -> Iterator[Topology]:
    """A started topology, stopped afterwards whatever happens."""
    topology = Topology(plan(layout, stores, settings, run_dir), run_dir, layout)
    try:
        topology.start_all()
        yield topology
    finally:
        topology.stop_all()


# --- `make run-prod` -------------------------------------------------------------------------


def _prepare_portal(portal_url: str) -> None:
    """Migrate the portal database and seed the demo population the first time."""
    from portal_core.cli import migrate
    from portal_core.database import Database
    from portal_core.seed import seed_if_empty

    migrate(portal_url, log=False)
    database = Database(portal_url)
    try:
        seed_if_empty(database)
    finally:
        database.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Genesis Assist's production topology")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "genesis.tar.gz")
    parser.add_argument("--replicas", type=int, default=len(DEFAULT_LAYOUT.rasa))
    parser.add_argument("--action-servers", type=int, default=len(DEFAULT_LAYOUT.actions))
    args = parser.parse_args(argv)

    from portal_core.config import load_settings

    portal = load_settings()  # reads .env too
    portal_url = os.environ.get("GENESIS_PROD_PORTAL_URL") or postgres_url("genesis_portal")
    tracker_url = os.environ.get("GENESIS_PROD_TRACKER_URL") or postgres_url("genesis_tracker")
    token = os.environ.get("TWILIO_AUTH_TOKEN") or ""
    if not token:
        print("TWILIO_AUTH_TOKEN is not set (.env): the Twilio channels will refuse everything")
    layout = Layout(
        front=DEFAULT_LAYOUT.front,
        actions_front=DEFAULT_LAYOUT.actions_front,
        rasa=tuple(DEFAULT_LAYOUT.rasa[0] + i for i in range(args.replicas)),
        actions=tuple(DEFAULT_LAYOUT.actions[0] + i for i in range(args.action_servers)),
    )
    services.ensure_postgres()
    services.ensure_redis()
    for url in (portal_url, tracker_url):
        if services.ensure_database(url):
            print(f"created database {url.rsplit('/', 1)[-1]}")
    _prepare_portal(portal_url)
    settings = Settings(
        model=args.model,
        twilio_auth_token=token,
        twilio_public_base_url=os.environ.get("TWILIO_PUBLIC_BASE_URL") or layout.front_url,
        jwt_secret=portal.jwt_secret,
        action_token=os.environ.get("GENESIS_ACTION_TOKEN", ""),
        api_token=os.environ.get("RASA_API_TOKEN", ""),
        mode="production",
        cors_origins=os.environ.get("GENESIS_CORS_ORIGINS") or "http://127.0.0.1:8000",
    )
    run_dir = ROOT / "var" / "prod"
    stores = Stores(portal_url=portal_url, tracker_url=tracker_url)
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    print(f"starting {args.replicas} Rasa replicas and {args.action_servers} action servers...")
    try:
        with running(layout, stores, settings, run_dir) as topology:
            print(f"Front door (webhooks, REST): {layout.front_url}/webhooks/...")
            for name, spec in topology.specs.items():
                print(f"  {name:10s} pid {topology.pid(name):6d}  {spec.ready_url}")
            print(f"Logs in {run_dir}. Ctrl-C stops everything.")
            while not stopping:
                for name, process in list(topology.running.items()):
                    if process.poll() is not None:
                        print(f"{name} exited with {process.returncode}; starting it again")
                        topology.start(name)
                time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        print("stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
