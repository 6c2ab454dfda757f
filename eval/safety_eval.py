"""Evaluate the emergency and crisis detector on its labelled corpora, and time it.

    .venv/bin/python -m eval.safety_eval            # every figure; exit 1 if a target is missed
    .venv/bin/python -m eval.safety_eval --lexicon  # the lexicon alone (no sentence encoder)
    .venv/bin/python -m eval.safety_eval --half 2   # only the held-out half of the first corpus
    .venv/bin/python -m eval.safety_eval --bench    # only the timing figures

Two corpora. `safety_corpus.tsv` (the first, written with the lexicon) must be recalled whole
by the lexicon alone, with at most 2 % of its look-alikes flagged. `safety_hard_corpus.tsv`
(issue 11: symptoms without alarm words, weapons made ready, farewells, and hard look-alikes)
is in halves written before the tuning they measure; the development halves trained the learned
layer and shaped the lexicon's new rules, the held-out half only measures them. There the
detector is the union of both layers, as in the assistant, and must recall at least 90 % of each
kind (a target fixed before the first measurement) with at most 2 % false positives. Ordinary
messages are measured too, because a false positive there hijacks a conversation: every NLU
training example of a non-emergency intent (none may be flagged) and the held-out NLU utterances
(at most 2 %).

Timing: the lexicon "warm" repeats each message, as a long-running server sees common words again
and again; "cold" empties the word cache before every call, the worst case for new wording. The
learned layer is timed given the sentence embedding, which the pipeline computes anyway.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from portal_core import safety

CORPUS = Path(__file__).parent / "safety_corpus.tsv"
HARD_CORPUS = Path(__file__).parent / "safety_hard_corpus.tsv"
HELDOUT_UTTERANCES = Path(__file__).parent / "heldout_utterances.tsv"
NLU_DATA = Path(__file__).resolve().parents[1] / "bot" / "data" / "nlu"
LABELS = ("medical", "crisis", "benign")
STYLES = ("web", "sms", "voice")
RECALL_TARGET = 1.0
HARD_RECALL_TARGET = 0.90
# Halves of the harder corpus: 1 to 3 for development (2 and 3 were each held out until their
# first measurement). Half 4 was held out until its first measurement (README); the learned layer
# is never trained on it, but the lexicon was fixed for the false positives it showed.
HELDOUT_HALF = 4
HALF_NAMES = {
    1: "development half 1",
    2: "development half 2 (once held out)",
    3: "development half 3 (once held out)",
    4: "half 4 (never trained on; lexicon fixed after its first measurement)",
}
FALSE_POSITIVE_TARGET = 0.02
MEDIAN_TARGET_US = 50.0

Detector = Callable[[str], "safety.Finding | None"]


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
    found_by_kind: Counter[str] = field(default_factory=Counter)  # Example.kind -> detected
    total_by_kind: Counter[str] = field(default_factory=Counter)

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

    def meets(self, recall: float = RECALL_TARGET) -> bool:
        return (
            all(self.recall(k) >= recall for k in safety.KINDS)
            and self.false_positive_rate <= FALSE_POSITIVE_TARGET
        )

    @property
    def meets_targets(self) -> bool:
        return self.meets(RECALL_TARGET)


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


def ordinary_messages() -> list[Example]:
    """Messages that are no emergency, as a conversation brings them: the held-out NLU
    utterances of every non-emergency intent (as benign) and its emergencies (as medical or
    crisis, by the lexicon's reading where it has one)."""
    out = []
    lines = HELDOUT_UTTERANCES.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines[1:], start=2):
        intent, style, text = line.split("\t", 2)
        if intent == "emergency":
            finding = safety.detect(text)
            label = finding.kind if finding else "medical"
        else:
            label = "benign"
        out.append(Example(label, style, text, 0, number, intent))
    return out


def nlu_training_messages() -> list[Example]:
    """Every NLU training example of a non-emergency intent, as benign."""
    from rasa.shared.nlu.training_data.loading import load_data

    return [
        Example("benign", "web", str(m.get("text")), 0, 0, str(m.get("intent")))
        for m in load_data(str(NLU_DATA)).intent_examples
        if m.get("intent") != "emergency"
    ]


def evaluate(examples: Sequence[Example], detect: Detector = safety.detect) -> Report:
    report = Report()
    for example in examples:
        report.total[example.label] += 1
        finding = detect(example.text)
        if example.label == "benign":
            if finding is not None:
                report.false_positives.append((example, finding))
            continue
        report.total_by_kind[example.kind] += 1
        if finding is None:
            report.misses.append(example)
            continue
        report.found_by_kind[example.kind] += 1
        if finding.kind != example.label:
            report.wrong_kind.append((example, finding))
    return report


def union_detector(examples: Sequence[Example]) -> Detector:
    """The assistant's detector: the lexicon, else the learned layer on the text's embedding."""
    from eval import embedding
    from portal_core import safety_semantic

    model = safety_semantic.load(encoder_sha256=embedding.MINILM_SHA256)
    texts = sorted({e.text for e in examples})
    vectors = dict(zip(texts, embedding.encode(texts), strict=True))
    return lambda text: safety_semantic.detect(text, vectors[text], model)


# ------------------------------------------------------------------ timing


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


def _print_times(name: str, per_text: Sequence[float], unit: str = "us") -> None:
    print(
        f"time per message ({name}): median {statistics.median(per_text):.1f} {unit}, "
        f"p95 {_percentile(per_text, 0.95):.1f} {unit}, max {max(per_text):.1f} {unit}"
    )


def bench(examples: Sequence[Example], *, learned: bool = True) -> bool:
    texts = [e.text for e in examples]
    ok = True
    for name, cold, repeat in (("warm", False, 200), ("cold", True, 20)):
        per_text = timings_us(texts, repeat=repeat, cold=cold)
        _print_times(f"lexicon {name}, {len(texts)} messages x {repeat}", per_text)
        ok = ok and statistics.median(per_text) < MEDIAN_TARGET_US
    safety.clear_word_cache()
    if learned:
        _bench_learned(texts)
    return ok


def _bench_learned(texts: Sequence[str]) -> None:
    from eval import embedding
    from portal_core import safety_semantic

    model = safety_semantic.load(encoder_sha256=embedding.MINILM_SHA256)
    vectors = embedding.encode(texts)
    per_text = []
    for text, vector in zip(texts, vectors, strict=True):
        started = time.perf_counter_ns()
        for _ in range(20):
            model.finding(text, vector)
        per_text.append((time.perf_counter_ns() - started) / 20 / 1000)
    _print_times(f"learned layer given the embedding, {len(texts)} messages x 20", per_text)
    sample = list(texts[:60])
    embedding.encode_uncached(sample[:4])  # trace the graph first
    per_text = []
    for text in sample:
        started = time.perf_counter_ns()
        embedding.encode_uncached([text])
        per_text.append((time.perf_counter_ns() - started) / 1e6)
    _print_times(
        f"sentence encoder (paid once per message by the pipeline), {len(sample)} messages",
        per_text,
        "ms",
    )


# ------------------------------------------------------------------ printing


def _print_report(report: Report, title: str, *, details: bool = True) -> None:
    print(f"== {title}")
    for kind in safety.KINDS:
        if not report.total[kind]:
            continue
        found = report.total[kind] - sum(1 for e in report.misses if e.label == kind)
        print(f"recall {kind:8} {report.recall(kind):7.1%}  ({found}/{report.total[kind]})")
    if report.total["medical"] + report.total["crisis"]:
        print(f"kind accuracy   {report.kind_accuracy:7.1%}")
    if report.total["benign"]:
        print(
            f"false positives {report.false_positive_rate:7.1%}  "
            f"({len(report.false_positives)}/{report.total['benign']})"
        )
    if not details:
        return
    for e in report.misses:
        print(f"  MISS  [{e.label}/{e.style}/{e.kind or '-'}] line {e.line}: {e.text}")
    for e, f in report.wrong_kind:
        print(f"  KIND  [{e.label}->{f.kind}/{f.rule}] line {e.line}: {e.text}  <{f.trigger}>")
    for e, f in report.false_positives:
        where = f"line {e.line}" if e.line else e.kind
        print(f"  FALSE [{f.kind}/{f.rule}] {where}: {e.text}  <{f.trigger}>")


def _print_kinds(report: Report) -> None:
    print("recall by kind of case:")
    for kind in sorted(report.total_by_kind):
        found, total = report.found_by_kind[kind], report.total_by_kind[kind]
        print(f"  {kind:18} {found:3d}/{total:<3d} {found / total:6.1%}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", action="store_true", help="print only the timing figures")
    parser.add_argument("--lexicon", action="store_true", help="the lexicon alone, no encoder")
    parser.add_argument("--half", type=int, choices=(1, 2), help="only this half of the corpus")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args(argv)
    examples = [e for e in load(args.corpus) if args.half in (None, e.half)]
    if args.bench:
        return 0 if bench(examples, learned=not args.lexicon) else 1

    report = evaluate(examples)
    scope = f"half {args.half}" if args.half else "whole corpus"
    _print_report(report, f"lexicon, {args.corpus.name}, {scope}: {len(examples)} messages")
    ok = report.meets_targets
    if args.half or args.corpus != CORPUS:
        return 0 if ok else 1

    hard = load(HARD_CORPUS)
    ordinary = ordinary_messages()
    training = [] if args.lexicon else nlu_training_messages()
    union = None if args.lexicon else union_detector(hard + ordinary + training)
    for half, name in HALF_NAMES.items():
        part = [e for e in hard if e.half == half]
        lexicon_only = evaluate(part)
        _print_report(
            lexicon_only,
            f"lexicon alone, {HARD_CORPUS.name}, {name}: {len(part)} messages",
            details=union is None and half == HELDOUT_HALF,
        )
        if union is None:
            continue
        both = evaluate(part, union)
        _print_report(
            both,
            f"lexicon + learned layer, {HARD_CORPUS.name}, {name}: {len(part)} messages",
            details=half == HELDOUT_HALF,
        )
        if half == HELDOUT_HALF:
            _print_kinds(both)
            ok = ok and both.meets(HARD_RECALL_TARGET)

    for detector, name in ((safety.detect, "lexicon alone"), (union, "lexicon + learned layer")):
        if detector is None:
            continue
        heldout = evaluate(ordinary, detector)
        _print_report(heldout, f"{name}, {HELDOUT_UTTERANCES.name} ({len(ordinary)} utterances)")
        ok = ok and heldout.false_positive_rate <= FALSE_POSITIVE_TARGET
        if training:
            trained = evaluate(training, detector)
            _print_report(trained, f"{name}, NLU training examples of non-emergency intents")
            ok = ok and not trained.false_positives

    fast = bench(examples, learned=union is not None)
    ok = ok and fast
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
