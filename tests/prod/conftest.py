"""The production topology for the fault tests, started once per session on free loopback ports.

Two Rasa replicas and two action servers behind nginx; trackers in a PostgreSQL database and the
portal in another, both created for this session with unique names and dropped afterwards; locks
in Redis under a unique key prefix. The portal database and Redis are reached through TCP proxies
the tests control (`tests/prod/proxy.py`), so an outage is staged for these servers only, never
for the shared PostgreSQL and Redis other agents use.

Every test here is marked `prod` (select them with `pytest -m prod`, leave them out with
`-m "not prod"`).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
import redis
from sqlalchemy import func, select, text

from eval.bench_population import BenchPatient, add_patients
from ops import nginx, services
from ops.clients import Patients, Signer
from ops.run import Settings, Topology, running
from ops.topology import Layout, Stores, postgres_url
from portal_core.cli import migrate
from portal_core.database import Database
from portal_core.models import Appointment, RefillRequest
from portal_core.seed import seed
from tests.bot.stack import (
    TWILIO_TEST_PUBLIC_URL,
    TWILIO_TEST_TOKEN,
    free_port,
    trained_model,
)
from tests.prod.proxy import TcpProxy

HERE = Path(__file__).resolve().parent
T = TypeVar("T")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test of the running topology `prod` (the deploy-file checks need no servers)."""
    for item in items:
        path = Path(str(item.fspath)).resolve()
        if path.parent == HERE and path.name != "test_deploy_files.py":
            item.add_marker(pytest.mark.prod)
            item.add_marker(pytest.mark.slow)


@dataclass
class Prod:
    """The running topology and the handles the fault tests pull on."""

    topology: Topology
    layout: Layout
    stores: Stores
    portal: Database
    portal_proxy: TcpProxy
    redis_proxy: TcpProxy
    signer: Signer

    tracker: Database
    made: int = 0

    def run(self, coroutine: Awaitable[T]) -> T:
        return asyncio.run(_with_timeout(coroutine))

    def patients(
        self, session: aiohttp.ClientSession, base_url: str | None = None, timeout: float = 60
    ) -> Patients:
        return Patients(base_url or self.layout.front_url, self.signer, session, timeout=timeout)

    def replica_url(self, index: int) -> str:
        return self.layout.rasa_url(index)

    def new_patients(self, count: int) -> list[BenchPatient]:
        """Fresh adults with their own phones (copies of a seeded one; no family)."""
        made = add_patients(self.portal, count, start=self.made)
        self.made += count
        return made

    def appointments(self, patient_id: int) -> list[int]:
        """The slots of the patient's booked appointments, read straight from PostgreSQL."""
        with self.portal.transaction() as session:
            return list(
                session.scalars(
                    select(Appointment.slot_id).where(
                        Appointment.patient_id == patient_id, Appointment.status == "booked"
                    )
                )
            )

    def slot_bookings(self, slot_id: int) -> int:
        with self.portal.transaction() as session:
            return int(
                session.scalar(
                    select(func.count(Appointment.id)).where(
                        Appointment.slot_id == slot_id, Appointment.status == "booked"
                    )
                )
            )

    def refills(self, patient_id: int) -> int:
        with self.portal.transaction() as session:
            return int(
                session.scalar(
                    select(func.count(RefillRequest.id)).where(
                        RefillRequest.patient_id == patient_id
                    )
                )
            )

    def tracker_events(self, conversation: str) -> list[dict[str, Any]]:
        """The conversation's events as Rasa's SQL tracker store keeps them, in order."""
        with self.tracker.transaction() as session:
            rows = session.execute(
                text("SELECT data FROM events WHERE sender_id = :s ORDER BY id"),
                {"s": conversation},
            )
            return [json.loads(row[0]) for row in rows]

    def user_texts(self, conversation: str) -> list[str]:
        return [
            e.get("text") or "" for e in self.tracker_events(conversation) if e["event"] == "user"
        ]


async def _with_timeout(coroutine: Awaitable[T]) -> T:
    return await asyncio.wait_for(coroutine, 300)


def _skip_reason() -> str | None:
    if nginx.binary() is None:
        return "nginx is not installed (scripts/install-nginx; make test installs it)"
    try:
        services.ensure_postgres()
        services.ensure_redis()
    except Exception as exc:  # noqa: BLE001 - any failure means "not available here"
        return f"PostgreSQL or Redis unavailable: {exc}"
    return None


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prod]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    unique = uuid.uuid4().hex[:10]
    portal_url = postgres_url(f"genesis_prod_{unique}_portal")
    tracker_url = postgres_url(f"genesis_prod_{unique}_tracker")
    for url in (portal_url, tracker_url):
        services.ensure_database(url)
    portal_proxy = TcpProxy("127.0.0.1", 5432).start()
    redis_proxy = TcpProxy("127.0.0.1", 6379).start()
    prefix = f"genesisprod{unique}"
    try:
        migrate(portal_url, log=False)
        portal = Database(portal_url)
        seed(portal)
        tracker = Database(tracker_url)
        stores = Stores(
            portal_url=postgres_url(f"genesis_prod_{unique}_portal", port=portal_proxy.port),
            tracker_url=tracker_url,
            redis_port=redis_proxy.port,
            lock_prefix=prefix,
        )
        layout = Layout(
            front=free_port(),
            actions_front=free_port(),
            rasa=(free_port(), free_port()),
            actions=(free_port(), free_port()),
        )
        # The session's secrets (tests/conftest.py), a Twilio token of the tests' own.
        settings = Settings.generated(trained_model(), TWILIO_TEST_TOKEN, TWILIO_TEST_PUBLIC_URL)
        run_dir = tmp_path_factory.mktemp("prod")
        with running(layout, stores, settings, run_dir) as topology:
            yield Prod(
                topology=topology,
                layout=layout,
                stores=stores,
                portal=portal,
                portal_proxy=portal_proxy,
                redis_proxy=redis_proxy,
                signer=Signer(TWILIO_TEST_TOKEN, TWILIO_TEST_PUBLIC_URL),
                tracker=tracker,
            )
        portal.dispose()
        tracker.dispose()
    finally:
        portal_proxy.stop()
        redis_proxy.stop()
        for url in (portal_url, tracker_url):
            services.drop_database(url)
        client = redis.Redis(host="127.0.0.1", port=6379)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
