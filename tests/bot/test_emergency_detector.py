"""The pipeline's emergency layer decides in both directions, whatever the classifier said.

Its learned layer is tested here with the real sentence encoder, as the pipeline runs it: the
SentenceEmbeddingFeaturizer featurizes the message, then the EmergencyDetector reads it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message

from bot.components.emergency_detector import EmergencyDetector
from bot.components.sentence_embedder import SentenceEmbeddingFeaturizer
from eval import embedding, safety_eval
from portal_core import safety, safety_semantic

NLU_DATA = Path(__file__).resolve().parents[2] / "bot" / "data" / "nlu"


@pytest.fixture(scope="module")
def embedder() -> SentenceEmbeddingFeaturizer:
    return SentenceEmbeddingFeaturizer({}, "embedder")


def classified(text: str, intent: str, confidence: float = 0.9) -> Message:
    message = Message(data={"text": text})
    message.set("intent", {"name": intent, "confidence": confidence})
    message.set(
        "intent_ranking",
        [
            {"name": intent, "confidence": confidence},
            {"name": "check_results", "confidence": 0.05},
        ],
    )
    message.set("entities", [])
    return message


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("i cant breathe", "medical"),
        ("my husband collapsed and wont wake up", "medical"),
        ("i want to end my life", "crisis"),
    ],
)
def test_a_finding_forces_emergency(text: str, kind: str) -> None:
    message = classified(text, "book_appointment")
    EmergencyDetector({}).process([message])
    assert message.get("intent") == {"name": "emergency", "confidence": 1.0}
    assert message.get("intent_ranking")[0]["name"] == "emergency"
    [entity] = [e for e in message.get("entities") if e["entity"] == "emergency_kind"]
    assert entity["value"] == kind
    assert text[entity["start"] : entity["end"]]


def test_the_fallback_classifier_after_it_never_undoes_an_emergency() -> None:
    """A confident classifier (a long booking message) once left the runner-up within the
    FallbackClassifier's ambiguity threshold of the forced emergency: "say that another way"."""
    from rasa.engine.storage.resource import Resource
    from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier

    message = classified("book an appointment, my husband is not breathing", "book_appointment")
    message.set("intent_ranking", [{"name": "book_appointment", "confidence": 0.999}])
    EmergencyDetector({}).process([message])
    fallback = FallbackClassifier.create(
        {**FallbackClassifier.get_default_config(), "threshold": 0.4, "ambiguity_threshold": 0.1},
        None,  # type: ignore[arg-type]
        Resource("fallback"),
        None,  # type: ignore[arg-type]
    )
    fallback.process([message])
    assert message.get("intent")["name"] == "emergency"


@pytest.mark.parametrize(
    "text", ["refill my nitroglycerin", "i'm dying to know if my results are in"]
)
def test_no_finding_forbids_emergency(text: str) -> None:
    message = classified(text, "emergency", 0.8)
    EmergencyDetector({}).process([message])
    assert message.get("intent")["name"] == "check_results"
    assert all(r["name"] != "emergency" for r in message.get("intent_ranking"))


def test_ordinary_messages_are_left_alone() -> None:
    message = classified("book a physical", "book_appointment")
    EmergencyDetector({}).process([message])
    assert message.get("intent")["name"] == "book_appointment"


# Found by the learned layer only: described by what is happening, in words no rule lists.
LEARNED_ONLY = [
    ("book me an appointment please, my little boy got into the garage and drank something blue",
     "medical"),
    ("I'd like to book a visit, my daughter swallowed something from under the sink and is "
     "drooling", "medical"),
    ("Please schedule my son, he is breathing weird and his lips look dusky", "medical"),
    ("I sold my truck, gave my dog away and I'm done with everything", "crisis"),
    ("my pistol is cleaned and loaded and I've written everything down for my wife", "crisis"),
]  # fmt: skip

LOOK_ALIKES = [
    "my chest x-ray results please",
    "dying to know if my labs are back",
    "book a follow-up after last year's heart attack",
    "what does it feel like when your sugar gets low",
    "I'm moving to Japan next month, cancel everything",
    "can you refill my insulin and my test strips",
]


@pytest.mark.parametrize(("text", "kind"), LEARNED_ONLY)
def test_the_learned_layer_finds_what_no_rule_names(
    embedder: SentenceEmbeddingFeaturizer, text: str, kind: str
) -> None:
    assert safety.detect(text) is None  # the lexicon alone would miss it
    message = classified(text, "book_appointment")
    embedder.process([message])
    EmergencyDetector({}).process([message])
    assert message.get("intent") == {"name": "emergency", "confidence": 1.0}
    [entity] = [e for e in message.get("entities") if e["entity"] == "emergency_kind"]
    assert entity["value"] == kind
    assert text[entity["start"] : entity["end"]] == text.strip()


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_the_learned_layer_leaves_look_alikes_alone(
    embedder: SentenceEmbeddingFeaturizer, text: str
) -> None:
    message = classified(text, "emergency", 0.8)
    embedder.process([message])
    EmergencyDetector({}).process([message])
    assert message.get("intent")["name"] == "check_results"


def test_without_the_learned_layer_or_the_embedding_the_lexicon_decides_alone(
    embedder: SentenceEmbeddingFeaturizer,
) -> None:
    text, _ = LEARNED_ONLY[0]
    switched_off = classified(text, "book_appointment")
    embedder.process([switched_off])
    EmergencyDetector({"semantic": False}).process([switched_off])
    assert switched_off.get("intent")["name"] == "book_appointment"
    not_featurized = classified(text, "book_appointment")
    EmergencyDetector({}).process([not_featurized])
    assert not_featurized.get("intent")["name"] == "book_appointment"


def test_the_detector_needs_the_sentence_embedder_before_it() -> None:
    assert SentenceEmbeddingFeaturizer in EmergencyDetector.required_components()


def _training_examples() -> list[tuple[str, str]]:
    """Every NLU training example as (intent, plain text), read by Rasa's own loader."""
    data = load_data(str(NLU_DATA))
    return [(str(m.get("intent")), str(m.get("text"))) for m in data.intent_examples]


def test_the_detector_agrees_with_every_training_example() -> None:
    """The detector overrules the classifier both ways, so an `emergency` example it misses
    would be answered as something else in production, and a benign example it catches would be
    answered with 911: the lexicon and the training data must agree on every line."""
    examples = _training_examples()
    assert len(examples) > 1000
    missed = [t for i, t in examples if i == "emergency" and safety.detect(t) is None]
    caught = [t for i, t in examples if i != "emergency" and safety.detect(t) is not None]
    assert missed == []
    assert caught == []


def test_the_learned_layer_flags_no_ordinary_training_example() -> None:
    """The union only adds findings, so the `emergency` examples stay caught; in the other
    direction no ordinary training example may be read as an emergency by the learned layer
    either (the eval's embedding cache makes a second run quick)."""
    model = safety_semantic.load(encoder_sha256=embedding.MINILM_SHA256)
    ordinary = [t for i, t in _training_examples() if i != "emergency"]
    vectors = embedding.encode(ordinary)
    flagged = [t for t, v in zip(ordinary, vectors, strict=True) if model.finding(t, v)]
    assert flagged == []


def test_the_harder_corpus_stays_caught_without_false_alarms() -> None:
    """A regression guard over every half of the harder corpus (the held-out figures are in
    README and `make eval`): both layers together keep the recall and false-positive rate."""
    examples = safety_eval.load(safety_eval.HARD_CORPUS)
    report = safety_eval.evaluate(examples, safety_eval.union_detector(examples))
    assert report.recall("medical") >= 0.97 and report.recall("crisis") >= 0.95, report.misses
    assert report.false_positive_rate <= safety_eval.FALSE_POSITIVE_TARGET, [
        e.text for e, _ in report.false_positives
    ]
    assert report.wrong_kind == []
