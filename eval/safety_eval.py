"""Evaluate the emergency and crisis detector on the labelled corpus, and time it.

    .venv/bin/python -m eval.safety_eval            # every figure; exit 1 if a target is missed
    .venv/bin/python -m eval.safety_eval --half 2   # only the held-out half of the corpus
    .venv/bin/python -m eval.safety_eval --bench    # only the timing figures

Targets: every emergency and crisis phrasing detected (recall 100% for each kind), at most 2% of
the benign look-alikes flagged, and a median below 50 microseconds per message. Timing is
reported twice: "warm" repeats each message, as a long-running server sees common words again
and again; "cold" empties the word cache before every call, the worst case for new wording.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from portal_core import safety

CORPUS = Path(__file__).parent / "safety_corpus.tsv"
LABELS = ("medical", "crisis", "benign")
STYLES = ("web", "sms", "voice")
RECALL_TARGET = 1.0
FALSE_POSITIVE_TARGET = 0.02
MEDIAN_TARGET_US = 50.0


@dataclass(frozen=True)
class Example:
    label: str
    style: str
    text: str
    half: int
    line: int
    kind: str = ""  # what sort of case it is (only the harder corpus says)


@dataclass
class Report:
    total: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LABELS, 0))
    misses: list[Example] = field(default_factory=list)
    wrong_kind: list[tuple[Example, safety.Finding]] = field(default_factory=list)
    false_positives: list[tuple[Example, safety.Finding]] = field(default_factory=list)

    def recall(self, kind: str) -> float:
        missed = sum(1 for e in self.misses if e.label == kind)
        return 1 - missed / self.total[kind] if self.total[kind] else 1.0

    @property
    def kind_accuracy(self) -> float:
        detected = self.total["medical"] + self.total["crisis"] - len(self.misses)
        return 1 - len(self.wrong_kind) / detected if detected else 1.0

    @property
    def false_positive_rate(self) -> float:
        benign = self.total["benign"]
        return len(self.false_positives) / benign if benign else 0.0

    @property
    def meets_targets(self) -> bool:
        return (
            all(self.recall(k) >= RECALL_TARGET for k in safety.KINDS)
            and self.false_positive_rate <= FALSE_POSITIVE_TARGET
        )


def load(path: Path = CORPUS) -> list[Example]:
    """Rows of the TSV; '# half N' comment lines mark the halves, other '#' lines are notes.

    The header names the columns: `label style text`, or `label style kind text` where each row
    also says what sort of case it is.
    """
    examples: list[Example] = []
    half = 1
    columns = ["label", "style", "text"]
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.rstrip("\n")
        if not line.strip():
            continue
        if line.startswith("#"):
            words = line[1:].split()
            if len(words) == 2 and words[0] == "half":
                half = int(words[1])
            continue
        if line.startswith("label\t"):
            columns = line.split("\t")
            continue
        fields = dict(zip(columns, line.split("\t", len(columns) - 1), strict=False))
        label, style, text = fields.get("label"), fields.get("style"), fields.get("text")
        if label not in LABELS or style not in STYLES or not text or not text.strip():
            raise ValueError(f"{path}:{number}: bad row {line!r}")
        examples.append(Example(label, style, text, half, number, fields.get("kind", "")))
    return examples


def evaluate(examples: Sequence[Example]) -> Report:
    report = Report()
    for example in examples:
        report.total[example.label] += 1
        finding = safety.detect(example.text)
        if example.label == "benign":
            if finding is not None:
                report.false_positives.append((example, finding))
        elif finding is None:
            report.misses.append(example)
        elif finding.kind != example.label:
            report.wrong_kind.append((example, finding))
    return report


def timings_us(texts: Sequence[str], *, repeat: int, cold: bool) -> list[float]:
    """Microseconds per call for each text (the mean of `repeat` calls)."""
    detect, clear = safety.detect, safety.clear_word_cache
    per_text: list[float] = []
    for text in texts:
        detect(text)
        spent = 0
        for _ in range(repeat):
            if cold:
                clear()
            started = time.perf_counter_ns()
            detect(text)
            spent += time.perf_counter_ns() - started
        per_text.append(spent / repeat / 1000)
    return per_text


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench(examples: Sequence[Example]) -> bool:
    texts = [e.text for e in examples]
    ok = True
    for name, cold, repeat in (("warm", False, 200), ("cold", True, 20)):
        per_text = timings_us(texts, repeat=repeat, cold=cold)
        median = statistics.median(per_text)
        p95 = _percentile(per_text, 0.95)
        print(
            f"time per message ({name}, {len(texts)} messages x {repeat}): "
            f"median {median:.1f} us, p95 {p95:.1f} us, max {max(per_text):.1f} us"
        )
        ok = ok and median < MEDIAN_TARGET_US
    safety.clear_word_cache()
    return ok


def _print_report(report: Report, title: str) -> None:
    print(f"== {title}")
    for kind in safety.KINDS:
        found = report.total[kind] - sum(1 for e in report.misses if e.label == kind)
        print(f"recall {kind:8} {report.recall(kind):7.1%}  ({found}/{report.total[kind]})")
    print(f"kind accuracy   {report.kind_accuracy:7.1%}")
    print(
        f"false positives {report.false_positive_rate:7.1%}  "
        f"({len(report.false_positives)}/{report.total['benign']})"
    )
    for e in report.misses:
        print(f"  MISS  [{e.label}/{e.style}] line {e.line}: {e.text}")
    for e, f in report.wrong_kind:
        print(f"  KIND  [{e.label}->{f.kind}/{f.rule}] line {e.line}: {e.text}  <{f.trigger}>")
    for e, f in report.false_positives:
        print(f"  FALSE [{f.kind}/{f.rule}] line {e.line}: {e.text}  <{f.trigger}>")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", action="store_true", help="print only the timing figures")
    parser.add_argument("--half", type=int, choices=(1, 2), help="only this half of the corpus")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args(argv)
    examples = [e for e in load(args.corpus) if args.half in (None, e.half)]
    if args.bench:
        return 0 if bench(examples) else 1
    report = evaluate(examples)
    scope = f"half {args.half}" if args.half else "whole corpus"
    _print_report(report, f"{scope}: {len(examples)} messages")
    fast = bench(examples)
    ok = report.meets_targets and fast
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
