"""Held-out intent accuracy of a trained model, per channel style.

The utterances in `eval/heldout_utterances.tsv` were written before the training data was tuned
and are never copied into it, so this is the figure that says how the assistant copes with what
real patients type, text and say. Labels are intents; `faq/<topic>` also checks the answer the
ResponseSelector picks.

    .venv/bin/python -m eval.nlu_heldout --model models/            # newest model in a folder
    .venv/bin/python -m eval.nlu_heldout --model models/x.tar.gz --errors --min-accuracy 0.9
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import os
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_DATA = Path(__file__).resolve().parent / "heldout_utterances.tsv"
STYLES = ("web", "sms", "voice")
RETRIEVAL_INTENT = "faq"


@dataclass(frozen=True)
class Example:
    intent: str
    style: str
    text: str

    @property
    def base_intent(self) -> str:
        return self.intent.split("/", 1)[0]


@dataclass(frozen=True)
class Outcome:
    example: Example
    predicted: str
    confidence: float
    predicted_key: str | None

    @property
    def intent_ok(self) -> bool:
        return self.predicted == self.example.base_intent

    @property
    def key_ok(self) -> bool:
        return self.intent_ok and self.predicted_key == self.example.intent


def read_examples(path: Path) -> list[Example]:
    """Read the TSV, refusing unknown styles so a typo cannot silently drop a row from a style."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    examples = []
    for line_no, row in enumerate(rows, start=2):
        style = (row.get("style") or "").strip()
        if style not in STYLES:
            raise ValueError(f"{path}:{line_no}: unknown style {style!r}")
        examples.append(Example(row["intent"].strip(), style, row["text"].strip()))
    return examples


def newest_model(path: Path) -> Path:
    if path.is_file():
        return path
    models = sorted(path.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise FileNotFoundError(f"no *.tar.gz model in {path}")
    return models[-1]


def _selected_key(parse: dict[str, Any]) -> str | None:
    selector = (parse.get("response_selector") or {}).get(RETRIEVAL_INTENT) or {}
    return (selector.get("response") or {}).get("intent_response_key")


async def _parse_all(model: Path, examples: list[Example]) -> list[Outcome]:
    # Imported here: loading TensorFlow takes seconds and `--help` should not wait for it.
    import structlog
    from rasa.core.agent import Agent

    # Rasa logs every parse at debug level through structlog; keep the report readable.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    agent = Agent.load(str(model))
    outcomes = []
    for example in examples:
        parse = await agent.parse_message(example.text)
        intent = parse.get("intent") or {}
        predicted = intent.get("name") or ""
        outcomes.append(
            Outcome(
                example=example,
                predicted=predicted,
                confidence=float(intent.get("confidence") or 0.0),
                predicted_key=_selected_key(parse) if predicted == RETRIEVAL_INTENT else None,
            )
        )
    return outcomes


def summarise(outcomes: list[Outcome]) -> dict[str, Any]:
    by_style: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_style[outcome.example.style].append(outcome)

    def accuracy(items: list[Outcome]) -> float:
        return sum(o.intent_ok for o in items) / len(items) if items else 0.0

    faq = [o for o in outcomes if o.example.base_intent == RETRIEVAL_INTENT]
    confusions = Counter((o.example.base_intent, o.predicted) for o in outcomes if not o.intent_ok)
    return {
        "n": len(outcomes),
        "accuracy": accuracy(outcomes),
        "by_style": {
            style: {"n": len(by_style[style]), "accuracy": accuracy(by_style[style])}
            for style in STYLES
        },
        "faq_topic_accuracy": sum(o.key_ok for o in faq) / len(faq) if faq else None,
        "confusions": [
            {"expected": e, "predicted": p, "count": c} for (e, p), c in confusions.most_common()
        ],
    }


def _print_report(summary: dict[str, Any], outcomes: list[Outcome], show_errors: bool) -> None:
    print(f"held-out intent accuracy: {summary['accuracy']:.3f} (n={summary['n']})")
    for style, figures in summary["by_style"].items():
        print(f"  {style:<6} {figures['accuracy']:.3f} (n={figures['n']})")
    if summary["faq_topic_accuracy"] is not None:
        print(f"faq topic accuracy (intent and answer right): {summary['faq_topic_accuracy']:.3f}")
    if show_errors:
        for o in outcomes:
            is_faq = o.example.base_intent == RETRIEVAL_INTENT
            if not (o.key_ok if is_faq else o.intent_ok):
                got = o.predicted_key or o.predicted
                print(
                    f"  MISS [{o.example.style}] {o.example.text!r}: expected {o.example.intent}, "
                    f"got {got} ({o.confidence:.2f})"
                )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models"), help="model file or folder")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--errors", action="store_true", help="list every miss")
    parser.add_argument("--json", type=Path, help="also write the summary here")
    parser.add_argument(
        "--min-accuracy", type=float, default=0.0, help="exit 1 when overall accuracy is lower"
    )
    args = parser.parse_args(argv)

    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.getLogger().setLevel(logging.ERROR)

    examples = read_examples(args.data)
    outcomes = asyncio.run(_parse_all(newest_model(args.model), examples))
    summary = summarise(outcomes)
    _print_report(summary, outcomes, args.errors)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return 0 if summary["accuracy"] >= args.min_accuracy else 1


if __name__ == "__main__":
    sys.exit(main())
