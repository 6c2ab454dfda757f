"""Where a turn's time goes: Rasa and the action server in one process, timed piece by piece.

    .venv/bin/python -m eval.profile_turn --model models/genesis.tar.gz [--conversations 12]

The Rasa agent is loaded with the production endpoints (SQL tracker store on PostgreSQL, Redis
lock store, the action server over HTTP) and the action server (rasa-sdk's own app) is served
on a loopback port from the same event loop, so one clock sees everything. Web chat
conversations (book, refill, results) run one after another, after a warm-up, and the time is
attributed to:
- each NLU component (tokenizer and featurizers, the sentence encoder, the classifiers,
  the emergency detector...), from Rasa's graph nodes;
- each policy and the ensemble, per prediction (a turn predicts several actions);
- the action round trip (HTTP, JSON of tracker and domain, the action itself), and inside it
  the portal database (`Database.transaction`);
- the tracker store (PostgreSQL) and the lock store (Redis);
- the rest of Rasa's own bookkeeping (events, domain, channels).
Measurement code only: it wraps functions in this process and changes nothing installed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ops import services  # noqa: E402
from ops.topology import Stores, endpoints, endpoints_yaml  # noqa: E402

TIMES: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)
NLU_GROUPS = {
    "WhitespaceTokenizer": "NLU: tokenizer",
    "RegexFeaturizer": "NLU: regex + lexical featurizers",
    "LexicalSyntacticFeaturizer": "NLU: regex + lexical featurizers",
    "CountVectorsFeaturizer": "NLU: count-vector featurizers (words, char n-grams)",
    "SentenceEmbeddingFeaturizer": "NLU: sentence encoder (MiniLM)",
    "LogisticRegressionClassifier": "NLU: intent classifier",
    "CRFEntityExtractor": "NLU: CRF entities",
    "ResponseSelector": "NLU: response selector",
    "EmergencyDetector": "NLU: emergency detector",
    "UnknownWordsGuard": "NLU: unknown-words guard",
    "FallbackClassifier": "NLU: fallback + synonyms",
    "EntitySynonymMapper": "NLU: fallback + synonyms",
    "MemoizationPolicy": "policy: memoization",
    "RulePolicy": "policy: rules",
    "TEDPolicy": "policy: TED",
    "DefaultPolicyPredictionEnsemble": "policy: ensemble",
}


@contextlib.contextmanager
def timed(key: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        TIMES[key] += time.perf_counter() - started
        CALLS[key] += 1


def wrap_sync(owner: Any, name: str, key: Callable[[Any], str] | str) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with timed(key(self) if callable(key) else key):
            return original(self, *args, **kwargs)

    setattr(owner, name, wrapper)


def wrap_async(owner: Any, name: str, key: str) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with timed(key):
            return await original(self, *args, **kwargs)

    setattr(owner, name, wrapper)


def wrap_lock(owner: Any) -> None:
    """Time taking and giving back a conversation's lock (the production lock store's `lock`
    is an async context manager: its entry waits for the turn, its exit releases it)."""
    original = owner.lock

    @contextlib.asynccontextmanager
    async def lock(self: Any, *args: Any, **kwargs: Any) -> Any:
        held = original(self, *args, **kwargs)
        with timed(LOCK):
            ticket = await held.__aenter__()
        try:
            yield ticket
        except BaseException as error:
            with timed(LOCK):
                if not await held.__aexit__(type(error), error, error.__traceback__):
                    raise
        else:
            with timed(LOCK):
                await held.__aexit__(None, None, None)

    owner.lock = lock


ACTION = "action round trip (HTTP + action server)"
VALIDATION = "  of which: response validation (Rasa)"
PORTAL_DATABASE = "  of which: portal database (in the action)"
LOCK = "lock store (Redis)"
# Parts timed inside another part, printed under it.
PARTS_OF = {VALIDATION: ACTION, PORTAL_DATABASE: ACTION}


def instrument(speedups: bool) -> None:
    from rasa.core.actions.action import RemoteAction
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.engine.graph import GraphNode

    from bot.lock_store import AtomicRedisLockStore
    from portal_core.database import Database

    def node_key(node: Any) -> str:
        name = node._component_class.__name__
        return NLU_GROUPS.get(name, f"graph: other ({name})")

    wrap_sync(GraphNode, "__call__", node_key)
    if speedups:  # what bot/launch.py runs in production
        from bot import rasa_speedups

        rasa_speedups.apply()
    wrap_async(RemoteAction, "run", ACTION)
    wrap_sync(RemoteAction, "_validate_action_result", VALIDATION)
    wrap_async(SQLTrackerStore, "retrieve", "tracker store: load (PostgreSQL)")
    wrap_async(SQLTrackerStore, "save", "tracker store: save (PostgreSQL)")
    wrap_lock(AtomicRedisLockStore)
    original = Database.transaction

    @contextlib.contextmanager
    def transaction(self: Any) -> Iterator[Any]:
        with timed(PORTAL_DATABASE), original(self) as session:
            yield session

    Database.transaction = transaction  # type: ignore[method-assign]


def serve_actions(port: int) -> None:
    """rasa-sdk's own app for bot.actions, in a thread of this process (its own event loop)."""
    import threading
    import urllib.request

    from bot.launch import action_app

    app = action_app(os.environ["GENESIS_ACTION_TOKEN"])
    thread = threading.Thread(
        target=lambda: app.run(
            "127.0.0.1", port, workers=1, access_log=False, register_sys_signals=False
        ),
        daemon=True,
    )
    thread.start()
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError("the in-process action server did not start")


async def profile(model: Path, stores: Stores, patients: list[Any], rounds: int) -> list[float]:
    from rasa.core.agent import load_agent
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.core.utils import AvailableEndpoints

    from eval.load_bench import OPENERS, OUTCOMES, TASKS, next_move
    from ops.clients import Reply

    port = free_port()
    os.environ["GENESIS_ACTION_URL"] = f"http://127.0.0.1:{port}/webhook"
    serve_actions(port)
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as handle:
        handle.write(endpoints_yaml(endpoints(stores)))
    agent = await load_agent(
        model_path=str(model), endpoints=AvailableEndpoints.read_endpoints(handle.name)
    )
    os.unlink(handle.name)

    async def turn(sender: str, text: str, token: str) -> Reply:
        collector = CollectingOutputChannel()
        message = UserMessage(
            text, collector, sender, input_channel="rest", metadata={"portal_token": token}
        )
        started = time.perf_counter()
        with timed("turn"):
            await agent.handle_message(message)
        seconds = time.perf_counter() - started
        texts = [str(m.get("text")) for m in collector.messages if m.get("text")]
        buttons = [
            (str(b.get("title")), str(b.get("payload")))
            for m in collector.messages
            for b in m.get("buttons") or []
        ]
        return Reply(200, texts, seconds, buttons=buttons)

    import random

    from bot.channels.portal_rest import conversation_id

    async def conversation(patient: Any, task: str, seed: int) -> list[float]:
        # The id the web chat's channel gives a signed-in patient's conversation.
        sender = conversation_id(f"profile-{uuid.uuid4().hex[:10]}", patient.token)
        rng = random.Random(seed)
        reply = await turn(sender, OPENERS[task], patient.token)
        seconds = [reply.seconds]
        for _ in range(10):
            if any(marker in reply.text.lower() for marker in OUTCOMES[task]):
                break
            move = next_move(reply, patient, "web", rng)
            if move is None or move.text is None:
                break
            reply = await turn(sender, move.text, patient.token)
            seconds.append(reply.seconds)
        return seconds

    for i in range(3):  # warm-up: TensorFlow's first calls, connection pools
        await conversation(patients[i], TASKS[i % 3], i)
    TIMES.clear()
    CALLS.clear()
    per_turn: list[float] = []
    for i in range(rounds):
        per_turn += await conversation(patients[3 + i], TASKS[i % 3], 100 + i)
    return per_turn


def report(per_turn: list[float]) -> list[str]:
    turns = CALLS["turn"]
    total = TIMES["turn"]
    lines = [
        f"profile: {turns} web turns, mean {1000 * total / turns:.1f} ms, "
        f"median {1000 * statistics.median(per_turn):.1f} ms per turn"
    ]
    accounted = 0.0
    wholes = sorted(
        (k for k in TIMES if k != "turn" and k not in PARTS_OF), key=lambda k: -TIMES[k]
    )
    ordered = [
        key
        for whole in wholes
        for key in (
            whole,
            *sorted(
                (p for p in PARTS_OF if PARTS_OF[p] == whole and p in TIMES),
                key=lambda p: -TIMES[p],
            ),
        )
    ]
    for key in ordered:
        seconds = TIMES[key]
        if key not in PARTS_OF:
            accounted += seconds
        lines.append(
            f"  {key:58s} {1000 * seconds / turns:7.1f} ms/turn  {100 * seconds / total:5.1f} %"
            f"  ({CALLS[key] / turns:.1f} calls/turn)"
        )
    rest = total - accounted
    lines.append(
        f"  {'other (Rasa bookkeeping: events, domain, channel)':58s} "
        f"{1000 * rest / turns:7.1f} ms/turn  {100 * rest / total:5.1f} %"
    )
    return lines


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "genesis.tar.gz")
    parser.add_argument("--conversations", type=int, default=12)
    parser.add_argument(
        "--without-speedups",
        action="store_true",
        help="Rasa as installed, without bot/rasa_speedups.py (the 'before' figure)",
    )
    args = parser.parse_args(argv)

    # Rasa's structured log prints every debug event (whole trackers) unless configured: the
    # report would drown in it, and printing costs time inside the turns being measured.
    import logging

    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    logging.getLogger().setLevel(logging.WARNING)
    with services.scratch_stores("profile", "prof") as stores:
        os.environ["PORTAL_DATABASE_URL"] = stores.portal_url
        os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
        for name in ("GENESIS_ACTION_TOKEN", "PORTAL_JWT_SECRET"):
            os.environ.setdefault(name, secrets.token_urlsafe(48))
        from eval.bench_population import add_patients
        from portal_core.cli import migrate
        from portal_core.database import Database
        from portal_core.seed import seed

        migrate(stores.portal_url, log=False)
        portal = Database(stores.portal_url)
        seed(portal)
        patients = add_patients(portal, args.conversations + 3)
        portal.dispose()
        instrument(speedups=not args.without_speedups)
        per_turn = asyncio.run(profile(args.model, stores, patients, args.conversations))
        print("\n".join(report(per_turn)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
