"""The learned layer of the emergency detector: what a message means, beside what it says.

Why: the lexicon (`safety.py`) is predictable and reviewable, but it only knows the words its
rules name. People describe emergencies by their symptoms ("it feels like someone is sitting on
my chest and I'm soaked in sweat") and crises by what they are doing ("the gun is loaded and on my
lap"), in words no rule lists. A sentence encoder places such a message near the emergencies it
was shown, whatever the words. The two layers are joined by a union: the lexicon's finding first
(it quotes the words that triggered it), and otherwise the learned one.

What it is: a multinomial logistic regression (benign, medical, crisis) over the 384-dimensional
all-MiniLM-L6-v2 sentence embedding the NLU pipeline computes anyway
(`bot/components/sentence_embedder.py`), so in the assistant the check costs a dot product. It is
trained by `eval/safety_semantic_train.py` on the NLU training data (every intent; the `emergency`
examples by the lexicon's kind), both halves of `eval/safety_corpus.tsv` and only the development
half of `eval/safety_hard_corpus.tsv`; its held-out half measures it (`make eval`). The weights are
kept as data in `data/safety_semantic.json` with the encoder's SHA-256, and a model trained on
another encoder refuses to load.

Why it may still say no: the encoder weighs *what* a message is about much more than *when* or
*whether* it happens, so "my chest x-ray results" sits near "my chest hurts". A learned finding is
therefore cancelled by the lexicon's context cues for its kind anywhere in the message (the past,
a general question, results, humour, a reason for being away; `semantic_unless` in the lexicon),
and its threshold was chosen on the development half for at most 2 % false positives.

This module needs only numpy: the encoder lives with the pipeline, and callers pass its vector.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from portal_core import safety

MODEL_PATH = Path(__file__).parent / "data" / "safety_semantic.json"
LABELS = ("benign", *safety.KINDS)
RULE = "semantic"
_TRIGGER_MAX = 200


class SemanticModelError(ValueError):
    """The learned layer's weights are missing, malformed or for another encoder."""


@dataclass(frozen=True)
class SemanticModel:
    """Weights of the classifier over unit-length sentence embeddings."""

    weights: np.ndarray  # (labels, dimensions)
    bias: np.ndarray  # (labels,)
    threshold: float  # P(not benign) at or above which a message is an emergency
    encoder_sha256: str
    about: dict[str, Any]

    @property
    def dimensions(self) -> int:
        return int(self.weights.shape[1])

    def probabilities(self, vector: np.ndarray) -> dict[str, float]:
        """P(label) for one embedding (normalised here, so a scaled feature works too)."""
        unit = _unit(vector, self.dimensions)
        logits = self.weights @ unit + self.bias
        logits -= logits.max()
        odds = np.exp(logits)
        return {label: float(p) for label, p in zip(LABELS, odds / odds.sum(), strict=True)}

    def finding(self, text: str, vector: np.ndarray) -> safety.Finding | None:
        """The learned layer's emergency in `text` (whose embedding is `vector`), if any."""
        if not text or not text.strip():
            return None
        p = self.probabilities(vector)
        if 1.0 - p["benign"] < self.threshold:
            return None
        kind = max(safety.KINDS, key=lambda k: p[k])
        if safety.context_cue(text, kind) is not None:
            return None
        start = len(text) - len(text.lstrip())
        end = min(len(text.rstrip()), start + _TRIGGER_MAX)
        return safety.Finding(kind, text[start:end], start, end, rule=f"{RULE}:{kind}")


def detect(
    text: str, vector: np.ndarray | None, model: SemanticModel | None
) -> safety.Finding | None:
    """The union of both layers: the lexicon's finding, else the learned layer's.

    Without a vector or a model (a pipeline without the sentence encoder) only the lexicon speaks.
    """
    finding = safety.detect(text)
    if finding is not None or vector is None or model is None:
        return finding
    return model.finding(text, vector)


@lru_cache(maxsize=4)
def load(path: Path = MODEL_PATH, encoder_sha256: str | None = None) -> SemanticModel:
    """Read the weights; with `encoder_sha256`, refuse a model trained on another encoder."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        labels = tuple(data["labels"])
        weights = np.asarray(data["weights"], dtype=np.float64)
        bias = np.asarray(data["bias"], dtype=np.float64)
        threshold = float(data["threshold"])
        trained_on = str(data["encoder"]["sha256"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SemanticModelError(f"cannot read the safety model {path}: {exc}") from exc
    if labels != LABELS:
        raise SemanticModelError(f"{path}: labels {labels}, expected {LABELS}")
    if weights.ndim != 2 or weights.shape[0] != len(LABELS) or bias.shape != (len(LABELS),):
        raise SemanticModelError(f"{path}: weights of shape {weights.shape}, bias {bias.shape}")
    if not 0.0 < threshold < 1.0:
        raise SemanticModelError(f"{path}: threshold {threshold} is not a probability")
    if encoder_sha256 is not None and encoder_sha256 != trained_on:
        raise SemanticModelError(
            f"{path} was trained on the sentence encoder {trained_on}, not {encoder_sha256}: "
            "retrain it (make safety-model)."
        )
    about = {k: v for k, v in data.items() if k not in ("weights", "bias")}
    return SemanticModel(weights, bias, threshold, trained_on, about)


def _unit(vector: np.ndarray, dimensions: int) -> np.ndarray:
    flat = np.asarray(vector, dtype=np.float64).reshape(-1)
    if flat.shape != (dimensions,):
        raise SemanticModelError(f"an embedding of {flat.shape[0]} values, expected {dimensions}")
    norm = float(np.linalg.norm(flat))
    return flat / norm if norm > 0 else flat
