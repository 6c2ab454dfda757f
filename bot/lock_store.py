"""A Redis lock store whose tickets are issued and released atomically, for several replicas.

Rasa holds a per-conversation lock around every turn, so two messages of one conversation never
run at once (the SQL tracker store appends events by count: two turns at once lose events).
Rasa 3.6's `RedisLockStore` reads the whole lock, changes it in Python and writes it back. Two
replicas issuing tickets at the same moment both read the same lock: they draw the same ticket
number (and run the two turns at once), or one overwrites the other's ticket; a release can then
delete the lock under a waiting ticket, which Rasa answers with `LockError`, and the message is
dropped. Five texts of one conversation split across the two replicas showed both
(`tests/prod/test_faults.py`).

Here every change is one Lua script, which Redis runs atomically, and time is Redis's own clock,
so the replicas' clocks never disagree about expiry. Per conversation there are three keys:

* `<prefix><id>:next`: the last ticket number issued (`INCR`);
* `<prefix><id>:queue`: the live tickets, scored by number; the lowest is served;
* `<prefix><id>:expires`: each ticket's expiry (ms, Redis time). A waiting ticket is renewed on
  every look, a served one lives `lock_lifetime` seconds from when it was served (Rasa's
  `TICKET_LOCK_LIFETIME`, 60 s by default), so a replica that dies holding the lock holds it no
  longer than that.

Waiters look every 20 ms rather than Rasa's one second: a text queued behind a 100 ms turn
should not wait a second. The client is `redis.asyncio`, so a slow or cut Redis stalls only the
turns that need it, never the event loop every conversation shares.

Configured in the endpoints file: `lock_store: type: bot.lock_store.AtomicRedisLockStore` with
Rasa's Redis keys (`url`, `port`, `db`, `password`, `use_ssl`, `key_prefix`, `socket_timeout`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import (
    DEFAULT_SOCKET_TIMEOUT_IN_SECONDS,
    LOCK_LIFETIME,
    LockError,
    LockStore,
)
from rasa.utils.endpoints import EndpointConfig
from redis import asyncio as aioredis
from redis.commands.core import AsyncScript

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "lock:"
POLL_SECONDS = 0.02
# Keys outlive their last use by this much at least, in case every holder and waiter vanished.
KEY_TTL_FACTOR = 4

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

_PRUNE = """
local dead = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for _, ticket in ipairs(dead) do
  redis.call('ZREM', KEYS[2], ticket)
  redis.call('ZREM', KEYS[3], ticket)
end
"""

_KEEP_KEYS = """
for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, ARGV[2]) end
"""

# KEYS: next, queue, expires. ARGV: lifetime ms, key ttl ms. Returns the new ticket's number.
ISSUE = (
    _NOW
    + """
local n = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], n, n)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[1]), n)
"""
    + _KEEP_KEYS
    + "return n\n"
)

# KEYS: next, queue, expires. ARGV: lifetime ms, key ttl ms, ticket.
# Returns 1 when the ticket is served now, 0 while others are ahead, -1 when it has expired.
TRY = (
    _NOW
    + _PRUNE
    + """
if not redis.call('ZSCORE', KEYS[2], ARGV[3]) then return -1 end
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[1]), ARGV[3])
"""
    + _KEEP_KEYS
    + """
local first = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
if tonumber(first) == tonumber(ARGV[3]) then return 1 end
return 0
"""
)

# KEYS: next, queue, expires. ARGV: ticket. Forgets the conversation once no one is queued.
RELEASE = """
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if redis.call('ZCARD', KEYS[2]) == 0 then redis.call('DEL', KEYS[1], KEYS[2], KEYS[3]) end
return 1
"""


@dataclass(frozen=True)
class _Scripts:
    issue: AsyncScript
    try_: AsyncScript
    release: AsyncScript


class AtomicRedisLockStore(LockStore):
    """Rasa's ticket lock for a conversation, shared by every replica through Redis."""

    def __init__(self, endpoint_config: EndpointConfig | None = None, **settings: Any) -> None:
        options: dict[str, Any] = dict(endpoint_config.kwargs) if endpoint_config else {}
        options.update(settings)
        if endpoint_config is not None and endpoint_config.url:
            options.setdefault("host", endpoint_config.url)
        prefix = str(options.get("key_prefix") or "")
        if prefix and not prefix.isalnum():
            log.warning("ignoring the non-alphanumeric lock key prefix %r", prefix)
            prefix = ""
        self.key_prefix = f"{prefix}:{DEFAULT_PREFIX}" if prefix else DEFAULT_PREFIX
        self._connection = {
            "host": str(options.get("host") or "localhost"),
            "port": int(options.get("port") or 6379),
            "db": int(options.get("db") or 0),
            "password": options.get("password") or None,
            "ssl": bool(options.get("use_ssl", False)),
            "socket_timeout": float(
                options.get("socket_timeout") or DEFAULT_SOCKET_TIMEOUT_IN_SECONDS
            ),
        }
        self._scripts: _Scripts | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        super().__init__()

    def _redis(self) -> _Scripts:
        """The scripts on a client of the running event loop (an asyncio client belongs to one
        loop). Scripts are sent once, then called by their SHA (`EVALSHA`)."""
        loop = asyncio.get_running_loop()
        if self._scripts is None or self._loop is not loop:
            client = aioredis.Redis(**self._connection)
            self._scripts = _Scripts(
                issue=client.register_script(ISSUE),
                try_=client.register_script(TRY),
                release=client.register_script(RELEASE),
            )
            self._loop = loop
        return self._scripts

    def _keys(self, conversation_id: str) -> list[str]:
        base = f"{self.key_prefix}{conversation_id}"
        return [f"{base}:next", f"{base}:queue", f"{base}:expires"]

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = POLL_SECONDS,
    ) -> AsyncGenerator[TicketLock, None]:
        """Wait for this conversation's turn, hold it for the block, then let the next in.

        Raises `LockError` when Redis can't be reached (the channel answers "try again") or
        when the ticket expired while waiting (the process stalled for a whole lifetime)."""
        keys = self._keys(conversation_id)
        lifetime_ms = max(1, int(lock_lifetime * 1000))
        ttl_ms = lifetime_ms * KEY_TTL_FACTOR
        redis = self._redis()
        try:
            ticket = int(await redis.issue(keys, [lifetime_ms, ttl_ms]))
        except Exception as error:  # noqa: BLE001 - Redis unreachable: no turn, a LockError
            raise LockError(f"could not issue a lock ticket: {error}") from error
        try:
            await self._wait(redis, keys, ticket, (lifetime_ms, ttl_ms), wait_time_in_seconds)
            expires = time.time() + lock_lifetime
            yield TicketLock(conversation_id, deque([Ticket(ticket, expires)]))
        finally:
            await self._release(redis, conversation_id, keys, ticket)

    @staticmethod
    async def _wait(
        redis: _Scripts,
        keys: list[str],
        ticket: int,
        times_ms: tuple[int, int],
        poll_seconds: float,
    ) -> None:
        """Until `ticket` is the lowest live one; `times_ms` is (lifetime, key ttl)."""
        while True:
            try:
                state = int(await redis.try_(keys, [*times_ms, ticket]))
            except Exception as error:  # noqa: BLE001
                raise LockError(f"could not check the lock {keys[1]}: {error}") from error
            if state == 1:
                return
            if state < 0:
                raise LockError(f"the ticket {ticket} of {keys[1]} expired while waiting")
            await asyncio.sleep(poll_seconds)

    async def _release(
        self, redis: _Scripts, conversation_id: str, keys: list[str], ticket: int
    ) -> None:
        try:
            await redis.release(keys, [ticket])
        except Exception:  # noqa: BLE001 - the ticket then expires on its own
            log.exception("could not release the lock of %s; it expires by itself", conversation_id)

    # Rasa's read-modify-write interface is what this store exists to avoid: nothing calls
    # these once `lock` is overridden, and a caller that tries is told so.

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        raise NotImplementedError("AtomicRedisLockStore changes tickets only through lock()")

    def delete_lock(self, conversation_id: str) -> None:
        raise NotImplementedError("AtomicRedisLockStore changes tickets only through lock()")

    def save_lock(self, lock: TicketLock) -> None:
        raise NotImplementedError("AtomicRedisLockStore changes tickets only through lock()")
