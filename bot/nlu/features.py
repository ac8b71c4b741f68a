"""Sparse TF-IDF features: character n-grams inside each word (robust to typos and missing spaces)
plus whole words from the tokeniser.

Every feature is a 64-bit polynomial hash computed with numpy over the text's code points, and the
vocabulary is a sorted array of hashes: looking features up is a `searchsorted`, not a dictionary
lookup per n-gram (which cost ~150 µs a message). The hash is fixed, so a cached model stays valid
across processes (Python's own `hash` is salted per process).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int32]
HashArray = npt.NDArray[np.uint64]

BASE = np.uint64(1_000_003)
LENGTH_SALT = [np.uint64(0x9E3779B97F4A7C15 * n % 2**64) for n in range(16)]
WORD_SALT = 0xC2B2AE3D27D4EB4F
MASK = 2**64 - 1


@dataclass(frozen=True)
class FeatureSpec:
    char_low: int = 1
    char_high: int = 4
    words: bool = True


def char_ngram_hashes(text: str, low: int, high: int) -> HashArray:
    """Hashes of the n-grams of each space-separated chunk padded with spaces (like scikit-learn's char_wb)."""
    chunks = text.split()
    if not chunks:
        return np.empty(0, dtype=np.uint64)
    joined = "".join(f" {chunk} " for chunk in chunks)
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    chunk_of = np.repeat(np.arange(len(chunks)), [len(chunk) + 2 for chunk in chunks])
    found: list[HashArray] = []
    rolling = codes
    with np.errstate(over="ignore"):
        for n in range(1, high + 1):
            if n > 1:
                rolling = rolling[:-1] * BASE + codes[n - 1 :]
            if n >= low and len(rolling):
                inside_one_chunk = chunk_of[: len(rolling)] == chunk_of[n - 1 :]
                found.append(rolling[inside_one_chunk] ^ LENGTH_SALT[n])
    return np.concatenate(found) if found else np.empty(0, dtype=np.uint64)


def word_hash(word: str) -> int:
    value = WORD_SALT
    for character in word:
        value = (value * 1_000_003 + ord(character)) & MASK
    return value


def terms(text: str, tokens: Sequence[str], spec: FeatureSpec) -> HashArray:
    """Every feature of one message, as hashes (repeats kept: they are the term counts)."""
    grams = char_ngram_hashes(text, spec.char_low, spec.char_high)
    if not spec.words or not tokens:
        return grams
    words = np.fromiter((word_hash(token) for token in tokens), dtype=np.uint64, count=len(tokens))
    return np.concatenate([grams, words])


class Vectoriser:
    """Vocabulary (sorted hashes) and IDF; `transform` gives (indices, l2-normalised sublinear TF-IDF)."""

    def __init__(self, spec: FeatureSpec, keys: HashArray, idf: FloatArray) -> None:
        self.spec = spec
        self.keys = keys
        self.idf = idf

    @classmethod
    def fit(cls, documents: Sequence[HashArray], spec: FeatureSpec) -> Vectoriser:
        per_document = [np.unique(document) for document in documents]
        keys, document_frequency = np.unique(np.concatenate(per_document), return_counts=True)
        n = len(documents)
        idf = (np.log((1 + n) / (1 + document_frequency)) + 1.0).astype(np.float32)
        return cls(spec, keys.astype(np.uint64), idf)

    def transform(self, document: HashArray) -> tuple[IntArray, FloatArray]:
        if len(document) == 0 or len(self.keys) == 0:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float32)
        positions = np.searchsorted(self.keys, document)
        positions[positions == len(self.keys)] = 0
        known = positions[self.keys[positions] == document]
        if len(known) == 0:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float32)
        indices, counts = np.unique(known, return_counts=True)
        values: FloatArray = ((1.0 + np.log(counts)) * self.idf[indices]).astype(np.float32)
        norm = np.float32(np.sqrt(np.dot(values, values)))
        return indices.astype(np.int32), values / norm if norm else values
