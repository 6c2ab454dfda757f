"""Train the safety detector's learned layer and write portal_core/data/safety_semantic.json.

    .venv/bin/python -m eval.safety_semantic_train      # or: make safety-model

What it learns from (never the held-out half of the harder corpus, which measures it):
- the NLU training data, every intent: `emergency` examples as the lexicon's kind for them (the
  test suite keeps lexicon and data in agreement), every other intent as benign: these are the
  ordinary messages a false positive would hijack;
- both halves of eval/safety_corpus.tsv;
- the development halves of eval/safety_hard_corpus.tsv (never its held-out half).

The classifier is scikit-learn's multinomial logistic regression over the sentence embedding
(lbfgs, so the same inputs give the same weights). C, the weight of the ordinary NLU messages and
the threshold were chosen by 5-fold cross-validation over the development halves (the other
sources always in training): C=10, ordinary NLU messages weighted 3 and P(emergency) >= 0.5, with
the context cues of `semantic_unless` applied, flagged none of the 448 development look-alikes
and none of the NLU training messages, while catching about 77 % of medical and 69 % of crisis
phrasings by meaning alone (the lexicon catches most of the rest by its rules). Weight 1 left
five ordinary training messages flagged ("my stomach hurts", "I'm finished here, goodbye.").
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from eval import embedding, safety_eval
from portal_core import safety, safety_semantic
from portal_core.safety_semantic import LABELS

ROOT = Path(__file__).resolve().parents[1]
NLU_DATA = ROOT / "bot" / "data" / "nlu"
C = 10.0
THRESHOLD = 0.5
ORDINARY_WEIGHT = 3.0  # each benign NLU example counts this many times


def nlu_examples() -> list[tuple[str, str]]:
    """(label, text) for every NLU training example, read by Rasa's own loader."""
    from rasa.shared.nlu.training_data.loading import load_data

    out = []
    for message in load_data(str(NLU_DATA)).intent_examples:
        text = str(message.get("text"))
        if message.get("intent") == "emergency":
            finding = safety.detect(text)
            out.append((finding.kind if finding else "medical", text))
        else:
            out.append(("benign", text))
    return out


def corpus_examples() -> list[tuple[str, str]]:
    old = [(e.label, e.text) for e in safety_eval.load(safety_eval.CORPUS)]
    hard = [
        (e.label, e.text)
        for e in safety_eval.load(safety_eval.HARD_CORPUS)
        if e.half != safety_eval.HELDOUT_HALF
    ]
    return old + hard


def train(examples: list[tuple[str, str]], ordinary: int) -> dict[str, object]:
    """Fit on `examples`, whose first `ordinary` rows are the NLU training examples."""
    from sklearn import __version__ as sklearn_version
    from sklearn.linear_model import LogisticRegression

    texts = [t for _, t in examples]
    labels = np.array([LABELS.index(label) for label, _ in examples])
    vectors = embedding.encode(texts)
    weights = np.ones(len(examples))
    weights[:ordinary][labels[:ordinary] == 0] = ORDINARY_WEIGHT
    model = LogisticRegression(C=C, max_iter=5000).fit(vectors, labels, sample_weight=weights)
    digest = hashlib.sha256("\n".join(f"{la}\t{t}" for la, t in examples).encode()).hexdigest()
    return {
        "about": "Learned layer of the emergency detector: see portal_core/safety_semantic.py.",
        "encoder": {
            "name": "sentence-transformers/all-MiniLM-L6-v2",
            "sha256": embedding.MINILM_SHA256,
            "dimensions": int(vectors.shape[1]),
        },
        "labels": list(LABELS),
        "threshold": THRESHOLD,
        "training": {
            "trainer": "eval/safety_semantic_train.py",
            "classifier": f"sklearn {sklearn_version} LogisticRegression(C={C}, lbfgs)",
            "ordinary_nlu_weight": ORDINARY_WEIGHT,
            "examples": dict(Counter(label for label, _ in examples)),
            "examples_sha256": digest,
        },
        "bias": [round(float(b), 6) for b in model.intercept_],
        "weights": [[round(float(w), 6) for w in row] for row in model.coef_],
    }


def _dumps(data: dict[str, object]) -> str:
    """Indented JSON with one line per row of weights (reviewable, and small diffs)."""
    weights = data.pop("weights")
    text = json.dumps(data, indent=1)
    rows = ",\n  ".join(json.dumps(row) for row in weights)  # type: ignore[attr-defined]
    data["weights"] = weights
    return text[: text.rindex("}")].rstrip() + f',\n "weights": [\n  {rows}\n ]\n}}\n'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=safety_semantic.MODEL_PATH)
    args = parser.parse_args(argv)
    ordinary = nlu_examples()
    data = train(ordinary + corpus_examples(), len(ordinary))
    args.out.write_text(_dumps(data), encoding="utf-8")
    safety_semantic.load.cache_clear()
    safety_semantic.load(args.out, embedding.MINILM_SHA256)  # it must load back
    print(f"wrote {args.out} from {data['training']['examples']}")  # type: ignore[index]
    return 0


if __name__ == "__main__":
    sys.exit(main())
