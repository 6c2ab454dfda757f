"""The pipeline's sentence encoder, for the evaluation and for training the safety model.

The same class, weights check and token limit as `bot/components/sentence_embedder.py`, so a
vector computed here is the one the EmergencyDetector gets from the pipeline. Vectors are kept in
`var/embeddings.npz` (keyed by the encoder's SHA-256 and the exact text), because encoding the
~6,000 evaluated texts takes minutes on a busy 2-core machine and they rarely change.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from bot.components.sentence_embedder import (
    MINILM_SHA256,
    SentenceEmbeddingFeaturizer,
    SentenceEncoder,
    default_model_dir,
    verify_weights,
)

BATCH = 64
CACHE = Path(__file__).resolve().parents[1] / "var" / "embeddings.npz"


@lru_cache(maxsize=1)
def encoder() -> SentenceEncoder:
    model_dir = default_model_dir()
    verify_weights(model_dir, MINILM_SHA256)
    max_tokens = int(SentenceEmbeddingFeaturizer.get_default_config()["max_tokens"])
    return SentenceEncoder(model_dir, max_tokens)


def encode_uncached(texts: Sequence[str]) -> np.ndarray:
    """Unit-length embeddings, one row per text, straight from the encoder."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    return np.vstack(
        [encoder().encode(list(texts[i : i + BATCH])) for i in range(0, len(texts), BATCH)]
    )


def encode(texts: Sequence[str], cache: Path | None = CACHE) -> np.ndarray:
    """Unit-length embeddings, one row per text; texts seen before come from the cache."""
    known = _read(cache) if cache else {}
    todo = sorted({t for t in texts if t not in known})
    if todo:
        known.update(zip(todo, encode_uncached(todo), strict=True))
        if cache:
            _write(cache, known)
    return np.vstack([known[t] for t in texts]) if texts else encode_uncached([])


def _read(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        return {}
    with np.load(path, allow_pickle=False) as data:
        if str(data["encoder"]) != MINILM_SHA256:
            return {}
        return dict(zip((str(t) for t in data["texts"]), data["vectors"], strict=True))


def _write(path: Path, known: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    texts = list(known)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(
        tmp,
        encoder=np.array(MINILM_SHA256),
        texts=np.array(texts),
        vectors=np.vstack([known[t] for t in texts]).astype(np.float32),
    )
    tmp.replace(path)
