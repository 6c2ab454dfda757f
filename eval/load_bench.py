"""`make bench`, second half: simulated patients against the production topology, side by side
with the stock `rasa init` assistant served by the same Rasa.

    .venv/bin/python -m eval.load_bench --model models/genesis.tar.gz [--quick]

1. The stock assistant (`rasa init --no-prompt`, trained once and cached under var/bench/) is
   served alone and driven through 4-turn REST conversations ("hello", "I am sad", "yes",
   "bye") at 1, 10 and 50 concurrent conversations.
2. The production topology (`ops.run`: nginx, two Rasa replicas, two action servers,
   PostgreSQL trackers and portal, Redis locks) starts on free loopback ports with a fresh
   portal database and bench patients (`eval/bench_population.py`). Whole conversations (verify
   on phone channels, then book, refill or read results) go through the front door as the web
   chat (REST with a portal token), as signed Twilio SMS and as signed Twilio voice calls, at
   the same concurrency levels; then at 10 against one replica's own port (the one-replica
   throughput).
Each level is bounded by a number of conversations and a time limit. Printed per level: turn
latency p50/p95/p99 (overall and per channel), turns per second, errors (HTTP errors and
timeouts), "please try again" answers, conversations that reached their outcome, and each
process's peak resident memory. The last line is the summary:

    bench: p95 ratio R at 10 conversations, T turns/s, twilio p99 M ms, errors E
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eval.bench_population import BenchPatient, add_patients  # noqa: E402
from ops import services  # noqa: E402
from ops.clients import Call, Patients, Reply, Signer  # noqa: E402
from ops.run import Settings, base_environment, running, wait_serving  # noqa: E402
from ops.topology import Layout  # noqa: E402

LEVELS = (1, 10, 50)
CONVERSATIONS = {1: 6, 10: 30, 50: 50}
QUICK_CONVERSATIONS = {1: 3, 10: 10, 50: 20}
LEVEL_SECONDS = 240.0  # no new conversation starts after this; the ones running finish
REQUEST_SECONDS = 30.0
MAX_TURNS = 14
STOCK_TURNS = ("hello", "I am sad", "yes", "bye")
WHEN = ("next week in the morning", "as soon as possible", "next week in the afternoon")
CHANNELS = ("web", "sms", "voice")
TASKS = ("book", "refill", "results")
OPENERS = {
    "book": "I need to book a sick visit",
    "refill": "refill my lisinopril",
    "results": "show me my lab results",
}
OUTCOMES = {
    "book": ("you're booked",),
    "refill": ("refill request number",),
    "results": ("lab results", "your most recent"),
}
BENCH_TOKEN = "bench-twilio-token"
BENCH_PUBLIC_URL = "https://assist.bench.test"
STOCK_CACHE = ROOT / "var" / "bench"


# --- measurements ----------------------------------------------------------------------------


@dataclass
class TurnRecord:
    channel: str
    seconds: float
    status: int
    try_again: bool = False
    step: str = ""  # what the patient was doing: "opener", "dob", "pick", ... (Move.step)


@dataclass
class Level:
    label: str
    concurrency: int
    wall: float = 0.0
    turns: list[TurnRecord] = field(default_factory=list)
    started: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    rss_mb: dict[str, float] = field(default_factory=dict)
    cpu_s: dict[str, float] = field(default_factory=dict)  # CPU seconds used during the level
    derailed: list[str] = field(default_factory=list)  # a few replies patients couldn't answer

    def latencies(self, channels: tuple[str, ...] | None = None) -> list[float]:
        return [
            t.seconds * 1000
            for t in self.turns
            if t.status == 200 and (channels is None or t.channel in channels)
        ]

    @property
    def errors(self) -> int:
        return sum(1 for t in self.turns if t.status != 200)

    @property
    def try_again(self) -> int:
        return sum(1 for t in self.turns if t.try_again)

    @property
    def throughput(self) -> float:
        return len(self.turns) / self.wall if self.wall else 0.0


def percentile(samples: list[float], share: float) -> float:
    """Nearest-rank percentile (no interpolation: p99 of 100 samples is the 99th)."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = max(1, int(-(-share * len(ordered) // 1)))  # ceil
    return ordered[min(rank, len(ordered)) - 1]


def slowest_steps(level: Level, channels: tuple[str, ...], share: float = 0.05) -> str:
    """Which steps the slowest turns were (the tail's make-up), most frequent first: where a
    p99 comes from, so that work goes to the turns that make it."""
    turns = [t for t in level.turns if t.status == 200 and t.channel in channels]
    if not turns:
        return ""
    slow = sorted(turns, key=lambda t: t.seconds, reverse=True)[: max(1, int(len(turns) * share))]
    every = Counter(t.step for t in turns)
    counted = Counter(t.step for t in slow).most_common()
    return ", ".join(f"{step or '?'} {n}/{every[step]}" for step, n in counted)


def describe(level: Level) -> list[str]:
    ms = level.latencies()
    lines = [
        f"{level.label:34s} conc {level.concurrency:3d}  turns {len(level.turns):4d}  "
        f"p50 {statistics.median(ms) if ms else float('nan'):7.0f} ms  "
        f"p95 {percentile(ms, 0.95):7.0f}  p99 {percentile(ms, 0.99):7.0f}  "
        f"{level.throughput:5.1f} turns/s  errors {level.errors}  try-again {level.try_again}"
    ]
    by_channel = sorted({t.channel for t in level.turns})
    if len(by_channel) > 1:
        parts = []
        for channel in by_channel:
            c = level.latencies((channel,))
            parts.append(f"{channel} p95 {percentile(c, 0.95):.0f}/p99 {percentile(c, 0.99):.0f}")
        lines.append(" " * 36 + "  ".join(parts) + " ms")
    tail = slowest_steps(level, ("sms", "voice"))
    if tail:
        lines.append(" " * 36 + f"slowest 5% of phone turns, by step: {tail}")
    if level.outcomes:
        done = ", ".join(f"{k} {v}" for k, v in sorted(level.outcomes.items()))
        lines.append(" " * 36 + f"conversations {level.started}: {done}")
    for example in level.derailed:
        lines.append(" " * 36 + f"derailed at: {example}")
    if level.cpu_s and level.turns:
        per_turn = {k: v * 1000 / len(level.turns) for k, v in level.cpu_s.items() if v > 0}
        spent = ", ".join(
            f"{k} {v:.0f}" for k, v in sorted(per_turn.items(), key=lambda kv: -kv[1])
        )
        busy = sum(level.cpu_s.values()) / level.wall if level.wall else 0.0
        lines.append(
            " " * 36 + f"CPU ms a turn: {spent}; {busy:.2f} of {os.cpu_count()} cores busy"
        )
    if level.rss_mb:
        rss = ", ".join(f"{k} {v:.0f}" for k, v in level.rss_mb.items())
        lines.append(" " * 36 + f"peak RSS MB: {rss}")
    return lines


# --- memory ----------------------------------------------------------------------------------


def group_rss_mb(pid: int) -> float:
    """Resident memory of a process and every process in its group (nginx's workers)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.getpgid(int(entry)) != pid:
                continue
            with open(f"/proc/{entry}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except (OSError, ValueError):
            continue
    return total / 1024


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Servers of this machine's, not of the topology's process groups: their CPU is counted by name.
SHARED_SERVERS = ("postgres", "redis-server")


def _cpu_seconds(entry: str) -> tuple[int, str, float]:
    """(process group, command name, user + system CPU seconds) of /proc/<entry>."""
    with open(f"/proc/{entry}/stat") as stat:
        text = stat.read()
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    # After the name: state, ppid, pgrp, ..., utime (11th), stime (12th).
    return int(fields[2]), name, (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each named process group, the shared servers and this
    client: where a level's CPU went, across processes (the turn profile sees one process)."""
    groups = {pid: name for name, pid in pids.items()}
    used: dict[str, float] = dict.fromkeys([*pids, *SHARED_SERVERS], 0.0)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            group, name, seconds = _cpu_seconds(entry)
        except (OSError, ValueError, IndexError):
            continue
        if group in groups:
            used[groups[group]] += seconds
        elif name in SHARED_SERVERS:
            used[name] += seconds
    times = os.times()
    used["bench client"] = times.user + times.system
    return used


class RssSampler:
    """Peak resident memory per named process group while a level runs."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.peak: dict[str, float] = dict.fromkeys(pids, 0.0)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            for name, pid in self.pids.items():
                self.peak[name] = max(self.peak[name], group_rss_mb(pid))
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)


# --- patients --------------------------------------------------------------------------------


@dataclass
class Move:
    text: str | None = None
    digits: str | None = None
    step: str = ""  # what this answers, for the tail's breakdown by step


NUMBERED = re.compile(r"\b(\d{1,2}) for\b")
SPOKEN_NUMBERS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _choice_count(reply: Reply, channel: str) -> int:
    if channel == "web":
        return len(reply.buttons)
    if channel == "sms":
        return len(set(NUMBERED.findall(reply.text)))
    return sum(1 for word in SPOKEN_NUMBERS if re.search(rf"\b{word} for\b", reply.text.lower()))


def _choose(reply: Reply, channel: str, index: int) -> Move:
    if channel == "web":
        return Move(text=reply.buttons[index][1])
    if channel == "sms":
        return Move(text=str(index + 1))
    return Move(digits=str(index + 1))


def _yes(reply: Reply, channel: str) -> Move:
    if channel == "web":
        for title, payload in reply.buttons:
            if title.strip().lower() == "yes":
                return Move(text=payload)
    return Move(text="yes")


# The replies the simulated patients had no answer to, collected while a level runs.
DERAILED: list[str] = []


def next_move(reply: Reply, patient: BenchPatient, channel: str, rng: random.Random) -> Move | None:
    """What a patient answers to the assistant's last reply; None when there is nothing to say."""
    text = reply.text.lower()
    if "date of birth" in text:
        if channel == "voice":
            return Move(digits=patient.dob_keyed, step="dob")
        return Move(patient.dob_typed, step="dob")
    if "last four" in text:
        if channel == "voice":
            return Move(digits=patient.last4, step="last4")
        return Move(patient.last4, step="last4")
    if "who is this for" in text:
        return Move("myself", step="for whom")
    if "what kind of appointment" in text:
        return Move("sick visit", step="visit type")
    if "when would you like" in text:
        return Move(rng.choice(WHEN), step="when")
    if "which medication" in text:
        return Move(patient.medication, step="medication")
    if "pick it up at" in text:
        if _choice_count(reply, channel):
            return replace(_choose(reply, channel, 0), step="pharmacy")
        return Move("yes", step="pharmacy")
    count = _choice_count(reply, channel)
    if ("times" in text or "here are" in text) and count >= 2:
        # Any of the first three times; the last choice is "none of these".
        return replace(_choose(reply, channel, rng.randrange(min(3, count - 1))), step="pick")
    if "look for other times" in text:  # the time was taken meanwhile: yes, look again
        return Move("yes", step="look again")
    asks = text.rstrip().endswith("?") or "reply 1 for yes" in text or "one for yes" in text
    if asks and ("book" in text or "request a refill" in text):
        return replace(_yes(reply, channel), step="confirm")
    return None


async def converse(
    client: Patients,
    patient: BenchPatient,
    channel: str,
    task: str,
    record: Callable[[TurnRecord], None],
    rng: random.Random,
) -> str:
    """One whole conversation; its outcome ("book", "refill", "results", or why it stopped)."""
    sender = f"bench-{uuid.uuid4().hex[:12]}"
    call = Call(caller=patient.phone)

    async def send(move: Move) -> Reply:
        try:
            if channel == "web":
                reply = await client.rest(sender, move.text or "", patient.token)
            elif channel == "sms":
                reply = await client.sms(patient.phone, move.text or "")
            else:
                reply = await client.call(call, said=move.text, digits=move.digits)
        except (aiohttp.ClientError, asyncio.TimeoutError):
            reply = Reply(status=599, texts=[], seconds=REQUEST_SECONDS)
        record(TurnRecord(channel, reply.seconds, reply.status, reply.try_again, move.step))
        return reply

    if channel == "voice":
        greeting = await send(Move(step="greeting"))
        if greeting.status != 200:
            return "error"
    reply = await send(Move(OPENERS[task], step=f"open {task}"))
    for _ in range(MAX_TURNS):
        if reply.status != 200:
            return "error"
        if reply.try_again:
            return "try-again"
        if any(marker in reply.text.lower() for marker in OUTCOMES[task]):
            return task
        move = next_move(reply, patient, channel, rng)
        if move is None:
            DERAILED.append(f"{channel}/{task}: {reply.text[:140]}")
            return "derailed"
        reply = await send(move)
    return "too long"


async def stock_converse(client: Patients, record: Callable[[TurnRecord], None]) -> str:
    sender = f"stock-{uuid.uuid4().hex[:12]}"
    for text in STOCK_TURNS:
        try:
            reply = await client.rest(sender, text)
        except (aiohttp.ClientError, asyncio.TimeoutError):
            reply = Reply(status=599, texts=[], seconds=REQUEST_SECONDS)
        record(TurnRecord("rest", reply.seconds, reply.status))
        if reply.status != 200:
            return "error"
    return "done"


async def run_level(
    label: str,
    concurrency: int,
    conversations: int,
    conversation: Callable[[int, Patients, Callable[[TurnRecord], None]], Awaitable[str]],
    base_url: str,
    signer: Signer,
    pids: dict[str, int],
) -> Level:
    """`concurrency` patients at a time until `conversations` have started (or time is up)."""
    level = Level(label, concurrency)
    DERAILED.clear()
    counter = iter(range(conversations))
    deadline = time.monotonic() + LEVEL_SECONDS
    sampler = RssSampler(pids)
    stop = asyncio.Event()
    connector = aiohttp.TCPConnector(limit=concurrency * 2)
    async with aiohttp.ClientSession(connector=connector) as session:
        client = Patients(base_url, signer, session, timeout=REQUEST_SECONDS)

        async def worker() -> None:
            for index in counter:
                if time.monotonic() > deadline:
                    return
                level.started += 1
                level.outcomes[await conversation(index, client, level.turns.append)] += 1

        sampling = asyncio.ensure_future(sampler.run(stop))
        cpu_before = cpu_seconds(pids)
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        level.wall = time.perf_counter() - started
        cpu_after = cpu_seconds(pids)
        level.cpu_s = {name: cpu_after[name] - cpu_before.get(name, 0.0) for name in cpu_after}
        stop.set()
        await sampling
    level.rss_mb = sampler.peak
    level.derailed = sorted(set(DERAILED))[:3]
    return level


# --- the stock assistant ---------------------------------------------------------------------


def _stock_fingerprint() -> str:
    import rasa

    project = Path(rasa.__file__).parent / "cli" / "initial_project"
    digest = hashlib.sha256(rasa.__version__.encode())
    for path in sorted(project.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(project)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def stock_project() -> Path:
    """`rasa init --no-prompt` (which trains), once per Rasa version; cached under var/bench/."""
    target = STOCK_CACHE / f"stock-{_stock_fingerprint()}"
    if list(target.glob("models/*.tar.gz")):
        return target
    STOCK_CACHE.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix="stock-", dir=STOCK_CACHE))
    print("training the stock `rasa init` assistant (once)...", flush=True)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "rasa", "init", "--no-prompt", "--init-dir", str(building)],
        cwd=building,
        env=base_environment(),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"stock assistant trained in {time.perf_counter() - started:.0f} s", flush=True)
    shutil.rmtree(target, ignore_errors=True)
    building.rename(target)
    return target


@contextmanager
def serving_stock(project: Path, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    model = sorted(project.glob("models/*.tar.gz"))[-1]
    argv = [
        sys.executable, "-m", "rasa", "run", "--enable-api", "--model", str(model),
        "--credentials", "credentials.yml", "--interface", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    with open(log, "wb") as out:
        process = subprocess.Popen(
            argv,
            cwd=project,
            env=base_environment(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_serving(f"http://127.0.0.1:{port}/", process, 300)
        yield process
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


# --- the whole run ---------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def genesis_conversation(
    patients: list[BenchPatient], offset: int, seed: int
) -> Callable[[int, Patients, Callable[[TurnRecord], None]], Awaitable[str]]:
    def conversation(
        index: int, client: Patients, record: Callable[[TurnRecord], None]
    ) -> Awaitable[str]:
        channel = CHANNELS[index % len(CHANNELS)]
        task = TASKS[(index // len(CHANNELS)) % len(TASKS)]
        rng = random.Random(seed * 1000 + index)
        return converse(client, patients[offset + index], channel, task, record, rng)

    return conversation


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Genesis Assist load benchmark")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "genesis.tar.gz")
    parser.add_argument("--quick", action="store_true", help="fewer conversations per level")
    parser.add_argument("--skip-stock", action="store_true")
    args = parser.parse_args(argv)
    counts = QUICK_CONVERSATIONS if args.quick else CONVERSATIONS
    # The bench patients' portal tokens are signed here, before the servers start, with the
    # secret the servers will verify them with (Settings.generated reads the same variable).
    for name in ("PORTAL_JWT_SECRET", "RASA_API_TOKEN"):
        os.environ[name] = os.environ.get(name) or secrets.token_urlsafe(48)
    work = Path(tempfile.mkdtemp(prefix="genesis-bench-"))
    levels: dict[str, Level] = {}

    stock: dict[int, Level] = {}
    if not args.skip_stock:
        project = stock_project()
        port = free_port()
        started = time.perf_counter()
        with serving_stock(project, port, work / "stock.log") as process:
            print(f"stock rasa init ready after {time.perf_counter() - started:.0f} s", flush=True)
            url = f"http://127.0.0.1:{port}"
            signer = Signer(BENCH_TOKEN, BENCH_PUBLIC_URL)
            asyncio.run(_warm_stock(url, signer))
            for concurrency in LEVELS:
                level = asyncio.run(
                    run_level(
                        "stock rasa init (REST)",
                        concurrency,
                        counts[concurrency],
                        lambda _i, client, record: stock_converse(client, record),
                        url,
                        signer,
                        {"stock-rasa": process.pid},
                    )
                )
                stock[concurrency] = level
                print("\n".join(describe(level)), flush=True)

    try:
        with services.scratch_stores("bench", "bench") as stores:
            from portal_core.cli import migrate
            from portal_core.database import Database
            from portal_core.seed import seed

            migrate(stores.portal_url, log=False)
            portal = Database(stores.portal_url)
            seed(portal)
            needed = sum(counts.values()) + counts[10]
            patients = add_patients(portal, needed)
            portal.dispose()
            layout = Layout(
                front=free_port(),
                actions_front=free_port(),
                rasa=(free_port(), free_port()),
                actions=(free_port(), free_port()),
            )
            settings = Settings.generated(args.model, BENCH_TOKEN, BENCH_PUBLIC_URL)
            signer = Signer(BENCH_TOKEN, BENCH_PUBLIC_URL)
            started = time.perf_counter()
            with running(layout, stores, settings, work / "prod") as topology:
                print(f"production topology ready after {time.perf_counter() - started:.0f} s")
                pids = {name: topology.pid(name) for name in topology.running}
                offset = 0
                for concurrency in LEVELS:
                    level = asyncio.run(
                        run_level(
                            "genesis, 2 replicas (web+SMS+voice)",
                            concurrency,
                            counts[concurrency],
                            genesis_conversation(patients, offset, concurrency),
                            layout.front_url,
                            signer,
                            pids,
                        )
                    )
                    offset += counts[concurrency]
                    levels[f"two-{concurrency}"] = level
                    print("\n".join(describe(level)), flush=True)
                level = asyncio.run(
                    run_level(
                        "genesis, 1 replica (web+SMS+voice)",
                        10,
                        counts[10],
                        genesis_conversation(patients, offset, 99),
                        layout.rasa_url(0),
                        signer,
                        pids,
                    )
                )
                levels["one-10"] = level
                print("\n".join(describe(level)), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    ten = levels["two-10"]
    errors = sum(level.errors for level in levels.values())
    twilio = ten.latencies(("sms", "voice"))
    ours_p95 = percentile(ten.latencies(), 0.95)
    if 10 in stock:
        stock_p95 = percentile(stock[10].latencies(), 0.95)
        ratio = ours_p95 / stock_p95
        print(
            f"ratios to stock at 10: p95 {ratio:.2f} ({ours_p95:.0f} / {stock_p95:.0f} ms), "
            f"turns/s {ten.throughput / stock[10].throughput:.2f}"
        )
    else:
        ratio = float("nan")
    print(
        f"throughput at 10 conversations: one replica {levels['one-10'].throughput:.1f} turns/s, "
        f"two replicas {ten.throughput:.1f} turns/s; try-again at 50: {levels['two-50'].try_again}"
    )
    print(
        f"bench: p95 ratio {ratio:.2f} at 10 conversations, {ten.throughput:.1f} turns/s, "
        f"twilio p99 {percentile(twilio, 0.99):.0f} ms, errors {errors}"
    )
    return 0


async def _warm_stock(url: str, signer: Signer) -> None:
    async with aiohttp.ClientSession() as session:
        client = Patients(url, signer, session, timeout=120)
        await client.rest(f"warmup-{uuid.uuid4().hex[:6]}", "hello")


if __name__ == "__main__":
    raise SystemExit(main())
