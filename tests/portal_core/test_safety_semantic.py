"""The learned layer of the emergency detector, given vectors: its weights, its cues, the union.

These need no sentence encoder: the classifier is probed with vectors built from its own
weights. What it does with real sentences is tested with the encoder in
tests/bot/test_emergency_detector.py and measured by `make eval`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from portal_core import safety, safety_semantic
from portal_core.safety_semantic import LABELS, SemanticModelError

MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


@pytest.fixture(scope="module")
def model() -> safety_semantic.SemanticModel:
    return safety_semantic.load()


def toward(model: safety_semantic.SemanticModel, label: str) -> np.ndarray:
    """A unit vector the classifier reads as `label` (its weights' direction against benign)."""
    i, benign = LABELS.index(label), LABELS.index("benign")
    direction = model.weights[i] - (model.weights[benign] if label != "benign" else 0)
    return direction / np.linalg.norm(direction)


def test_the_shipped_model_is_for_the_pinned_encoder(model: safety_semantic.SemanticModel) -> None:
    assert model.encoder_sha256 == MINILM_SHA256
    assert model.dimensions == 384 and model.weights.shape == (3, 384)
    assert 0 < model.threshold < 1
    examples = model.about["training"]["examples"]
    assert examples["benign"] > 4000 and examples["medical"] > 200 and examples["crisis"] > 150


def test_a_model_for_another_encoder_refuses_to_load() -> None:
    with pytest.raises(SemanticModelError, match="retrain"):
        safety_semantic.load(safety_semantic.MODEL_PATH, "0" * 64)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("weights"), "cannot read"),
        (lambda d: d.update(labels=["benign", "crisis", "medical"]), "labels"),
        (lambda d: d.update(weights=[[0.0] * 384] * 2), "shape"),
        (lambda d: d.update(threshold=1.5), "probability"),
    ],
)
def test_a_malformed_model_is_a_clear_error(tmp_path: Path, change, message: str) -> None:
    data = json.loads(safety_semantic.MODEL_PATH.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(SemanticModelError, match=message):
        safety_semantic.load(path)


def test_probabilities_are_a_distribution_and_ignore_scale(
    model: safety_semantic.SemanticModel,
) -> None:
    vector = np.random.default_rng(0).normal(size=384)
    p = model.probabilities(vector)
    assert set(p) == set(LABELS) and abs(sum(p.values()) - 1) < 1e-9
    assert model.probabilities(vector * 10) == pytest.approx(p)  # the pipeline scales by 10
    with pytest.raises(SemanticModelError, match="384"):
        model.probabilities(np.ones(10))


@pytest.mark.parametrize("kind", safety.KINDS)
def test_a_message_read_as_an_emergency_is_found_with_its_kind(
    model: safety_semantic.SemanticModel, kind: str
) -> None:
    text = "  it is happening again and it is getting worse  "
    finding = model.finding(text, toward(model, kind))
    assert finding is not None and finding.kind == kind
    assert finding.rule == f"semantic:{kind}"
    assert text[finding.start : finding.end] == finding.trigger == text.strip()


def test_a_message_read_as_ordinary_is_not(model: safety_semantic.SemanticModel) -> None:
    assert model.finding("it is happening again", toward(model, "benign")) is None
    assert model.finding("", toward(model, "medical")) is None
    assert model.finding("   ", toward(model, "medical")) is None


@pytest.mark.parametrize(
    ("text", "kind", "cue"),
    [
        ("I had crushing pressure like that last year", "medical", "past"),
        ("it happened when he was two", "medical", "long_ago"),
        ("what does that feel like", "medical", "info"),
        ("are my chest x-ray results back", "medical", "results"),
        ("the wait is killing me", "medical", "idiom"),
        ("I won't be around next week, I'm deploying", "crisis", "planning"),
        ("what are the warning signs in teens", "crisis", "info"),
    ],
)
def test_context_cues_cancel_a_learned_finding(
    model: safety_semantic.SemanticModel, text: str, kind: str, cue: str
) -> None:
    """The encoder weighs what a message is about, not when or whether it happens."""
    assert safety.context_cue(text, kind) == cue
    assert model.finding(text, toward(model, kind)) is None


def test_a_return_to_now_keeps_a_long_ago_story_an_emergency(
    model: safety_semantic.SemanticModel,
) -> None:
    text = "when he was two it happened once and now it is happening again"
    assert safety.context_cue(text, "medical") is None
    assert model.finding(text, toward(model, "medical")) is not None


def test_the_union_prefers_the_lexicon_and_falls_back_to_the_learned_layer(
    model: safety_semantic.SemanticModel,
) -> None:
    lexical = safety_semantic.detect("I can't breathe", toward(model, "benign"), model)
    assert lexical is not None and lexical.rule == "breathing"  # quoted words, not the model
    learned = safety_semantic.detect("it is happening again", toward(model, "crisis"), model)
    assert learned is not None and learned.rule == "semantic:crisis"
    # Without the embedding or the model, the lexicon decides alone.
    assert safety_semantic.detect("it is happening again", None, model) is None
    assert safety_semantic.detect("it is happening again", toward(model, "crisis"), None) is None
