"""The conversation lock the replicas share through Redis: one turn at a time, none dropped.

Each "replica" here is a thread with its own event loop and its own store, as the Rasa processes
are, all against the machine's real Redis; the turns of one conversation race for the lock from
both at once, as five texts split across the load balancer do.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from rasa.core.lock_store import LockError, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from bot.lock_store import POLL_SECONDS, AtomicRedisLockStore
from ops import services
from tests.bot.stack import free_port

HOST, PORT, DB = "127.0.0.1", 6379, 0


@pytest.fixture(scope="module")
def client() -> redis.Redis:
    try:
        services.ensure_redis()
    except Exception as exc:  # noqa: BLE001 - any failure means "not available here"
        pytest.skip(f"Redis unavailable: {exc}")
    return redis.Redis(host=HOST, port=PORT, db=DB)


@pytest.fixture
def prefix(client: redis.Redis) -> Iterator[str]:
    """A key prefix of this test's own; whatever is left under it is removed afterwards."""
    unique = f"locktest{uuid.uuid4().hex[:10]}"
    yield unique
    for key in client.scan_iter(f"{unique}:*"):
        client.delete(key)


def store(prefix: str, kind: type[LockStore] = AtomicRedisLockStore) -> LockStore:
    return kind(host=HOST, port=PORT, db=DB, key_prefix=prefix)


class Ledger:
    """Who held the lock when: overlaps and failures, from every thread."""

    def __init__(self) -> None:
        self.guard = threading.Lock()
        self.inside = 0
        self.overlaps = 0
        self.served: list[tuple[int, int]] = []  # (replica, turn) in the order they got in
        self.failures: list[str] = []
        self.stuck = False  # some turn still waiting when the race was called off

    def enter(self, replica: int, turn: int) -> None:
        with self.guard:
            self.inside += 1
            self.overlaps += self.inside > 1
            self.served.append((replica, turn))

    def leave(self) -> None:
        with self.guard:
            self.inside -= 1


def replica(
    lock_store: LockStore, conversation: str, replica_no: int, turns: int, ledger: Ledger
) -> threading.Thread:
    """A thread playing one Rasa process: `turns` turns of `conversation` at once."""

    async def turn(turn_no: int) -> None:
        try:
            async with lock_store.lock(conversation, wait_time_in_seconds=POLL_SECONDS):
                ledger.enter(replica_no, turn_no)
                await asyncio.sleep(0.02)  # the turn's own work, awaited as Rasa's is
                ledger.leave()
        except LockError as error:
            ledger.failures.append(str(error))

    async def all_turns() -> None:
        await asyncio.gather(*(turn(n) for n in range(turns)))

    return threading.Thread(target=asyncio.run, args=(all_turns(),), daemon=True)


def race(
    stores: list[LockStore], conversation: str, turns_each: int, patience: float = 60.0
) -> Ledger:
    """Every store's turns at once; called off after `patience` seconds (ledger.stuck)."""
    ledger = Ledger()
    threads = [replica(s, conversation, i, turns_each, ledger) for i, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + patience
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    ledger.stuck = any(t.is_alive() for t in threads)
    return ledger


def test_turns_of_one_conversation_from_two_replicas_run_one_at_a_time_and_all_run(
    prefix: str, client: redis.Redis
) -> None:
    ledger = race([store(prefix), store(prefix)], "sms:+12545550101", turns_each=8)
    assert not ledger.stuck and ledger.failures == []
    assert ledger.overlaps == 0
    assert len(ledger.served) == 16
    assert list(client.scan_iter(f"{prefix}:*")) == []  # nothing left behind


def test_rasas_own_redis_lock_store_loses_or_overlaps_turns_in_the_same_race(
    prefix: str,
) -> None:
    """Why the store above exists: Rasa 3.6's read-modify-write tickets, in the same race (and
    looking as often), let turns run at once or drop them with LockError. Up to five rounds, as
    a race is a race; the first has always been enough."""
    for round_no in range(5):
        conversation = f"sms:+1254555{round_no:04d}"
        stores = [store(prefix, RedisLockStore), store(prefix, RedisLockStore)]
        ledger = race(stores, conversation, 8, patience=5.0)
        if ledger.stuck or ledger.overlaps or ledger.failures or len(ledger.served) < 16:
            return
    pytest.fail("five races without a lost or overlapping turn")


def test_a_replica_serves_its_own_turns_in_the_order_they_came(prefix: str) -> None:
    ledger = race([store(prefix)], "web:abc", turns_each=10)
    assert not ledger.stuck
    assert [turn for _, turn in ledger.served] == list(range(10))


def test_other_conversations_do_not_wait(prefix: str) -> None:
    lock_store = store(prefix)

    async def scenario() -> float:
        async with lock_store.lock("sms:+12545550101"):
            started = time.monotonic()
            async with lock_store.lock("sms:+12545550102"):
                return time.monotonic() - started

    assert asyncio.run(scenario()) < 1.0


def test_a_replica_that_died_holding_the_lock_holds_it_only_for_the_lifetime(
    prefix: str, client: redis.Redis
) -> None:
    lock_store = store(prefix)
    dead = store(prefix)

    async def scenario() -> float:
        held = dead.lock("voice:CA1", lock_lifetime=0.5)
        await held.__aenter__()  # and never __aexit__: the process is gone
        started = time.monotonic()
        async with lock_store.lock("voice:CA1"):
            return time.monotonic() - started

    waited = asyncio.run(scenario())
    assert 0.3 < waited < 5.0


def test_a_waiting_turn_keeps_its_place_past_the_lifetime(prefix: str) -> None:
    """A ticket that waits longer than the lifetime is renewed while it waits, not lost."""
    lock_store = store(prefix)
    order: list[str] = []

    async def slow() -> None:
        async with lock_store.lock("sms:+12545550103", lock_lifetime=0.4):
            order.append("slow in")
            await asyncio.sleep(0.3)
            order.append("slow out")

    async def waiting() -> None:
        await asyncio.sleep(0.05)
        async with lock_store.lock("sms:+12545550103", lock_lifetime=0.2):
            order.append("waiting in")

    async def scenario() -> None:
        await asyncio.gather(slow(), waiting())

    asyncio.run(scenario())
    assert order == ["slow in", "slow out", "waiting in"]


def test_redis_unreachable_is_a_lock_error_at_once() -> None:
    unreachable = AtomicRedisLockStore(host="127.0.0.1", port=free_port(), db=0)

    async def scenario() -> None:
        async with unreachable.lock("sms:+12545550101"):
            pytest.fail("got a lock without Redis")

    started = time.monotonic()
    with pytest.raises(LockError):
        asyncio.run(scenario())
    assert time.monotonic() - started < 5.0


def test_the_endpoints_file_entry_builds_it_with_rasas_redis_keys(prefix: str) -> None:
    config: dict[str, Any] = {"port": PORT, "db": DB, "key_prefix": prefix, "password": None}
    endpoint = EndpointConfig(url=HOST, type="bot.lock_store.AtomicRedisLockStore", **config)
    built = LockStore.create(endpoint)
    assert isinstance(built, AtomicRedisLockStore)
    assert built.key_prefix == f"{prefix}:lock:"
    ledger = race([built], "sms:+12545550104", turns_each=3)
    assert not ledger.stuck and ledger.failures == [] and len(ledger.served) == 3


def test_a_non_alphanumeric_prefix_is_not_used_as_a_key_pattern() -> None:
    assert AtomicRedisLockStore(key_prefix="a*b").key_prefix == "lock:"
