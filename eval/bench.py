"""`make bench`: the figures that say how fast the assistant is on this machine.

- the safety detector's time per message (median and p95, over the labelled corpus);
- `/model/parse` latency and whole REST turns (p50, p95) against the real Rasa and action
  servers started on loopback with the trained model and a freshly seeded SQLite portal.

Bounded: a fixed number of requests, loopback only.

    .venv/bin/python -m eval.bench --model models/genesis.tar.gz [--turns 60]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import channel_state.models  # noqa: E402, F401  (create_schema builds the channel tables too)
from portal_core import web_tokens  # noqa: E402
from portal_core.database import Database  # noqa: E402
from portal_core.seed import seed  # noqa: E402
from tests.bot.stack import running_stack  # noqa: E402

PARSE_TEXTS = [
    "I need to book an appointment",
    "refill my lisinopril pls",
    "um what are my lab results",
    "i cant breathe",
    "who is my pcm",
    "how do i reset my ds logon password",
]


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(name: str, samples: list[float]) -> None:
    ms = [s * 1000 for s in samples]
    print(
        f"{name:32s} n={len(ms):4d}  p50 {statistics.median(ms):7.1f} ms  "
        f"p95 {percentile(ms, 0.95):7.1f} ms  max {max(ms):7.1f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Genesis Assist benchmarks")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "genesis.tar.gz")
    parser.add_argument("--turns", type=int, default=60)
    args = parser.parse_args(argv)

    from eval import safety_eval

    safety_eval.main(["--bench"])

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'portal.db'}"
        database = Database(url)
        database.create_schema()
        seed(database)
        database.dispose()
        started = time.perf_counter()
        with running_stack(args.model, url, Path(tmp) / "logs") as stack:
            print(f"{'servers ready after':32s} {time.perf_counter() - started:.1f} s")
            stack.parse("warm up")
            parses = []
            for i in range(args.turns * 2):
                t0 = time.perf_counter()
                stack.parse(PARSE_TEXTS[i % len(PARSE_TEXTS)])
                parses.append(time.perf_counter() - t0)
            report("/model/parse", parses)
            greet, results = [], []
            token = web_tokens.issue_token(1, "premium")
            for i in range(args.turns):
                t0 = time.perf_counter()
                stack.say(f"bench-greet-{i}", "hello")
                greet.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                stack.say(f"bench-results-{i}", "show me my lab results", {"portal_token": token})
                results.append(time.perf_counter() - t0)
            report("REST turn: greeting", greet)
            report("REST turn: results (form+DB)", results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
