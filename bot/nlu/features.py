"""Sparse TF-IDF features: character n-grams inside each word (robust to typos and missing spaces)
plus whole words from the tokeniser. Fitted on the example phrases; applied with plain Python + numpy."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int32]


def char_ngrams(text: str, low: int, high: int) -> list[str]:
    """n-grams of each space-separated chunk padded with spaces (like scikit-learn's char_wb)."""
    grams: list[str] = []
    for chunk in text.split():
        padded = f" {chunk} "
        size = len(padded)
        for n in range(low, high + 1):
            if n > size:
                break
            grams.extend(padded[i : i + n] for i in range(size - n + 1))
    return grams


@dataclass(frozen=True)
class FeatureSpec:
    char_low: int = 1
    char_high: int = 4
    words: bool = True


def terms(text: str, tokens: Sequence[str], spec: FeatureSpec) -> list[str]:
    found = char_ngrams(text, spec.char_low, spec.char_high)
    if spec.words:
        found.extend("w:" + token for token in tokens)
    return found


class Vectoriser:
    """Vocabulary and IDF weights; `transform` gives (indices, l2-normalised sublinear TF-IDF values)."""

    def __init__(self, spec: FeatureSpec, vocabulary: dict[str, int], idf: FloatArray) -> None:
        self.spec = spec
        self.vocabulary = vocabulary
        self.idf = idf

    @classmethod
    def fit(cls, documents: Sequence[list[str]], spec: FeatureSpec) -> Vectoriser:
        document_frequency: Counter[str] = Counter()
        for document in documents:
            document_frequency.update(set(document))
        vocabulary = {term: index for index, term in enumerate(sorted(document_frequency))}
        n = len(documents)
        idf = np.empty(len(vocabulary), dtype=np.float32)
        for term, index in vocabulary.items():
            idf[index] = math.log((1 + n) / (1 + document_frequency[term])) + 1.0
        return cls(spec, vocabulary, idf)

    def transform(self, document: list[str]) -> tuple[IntArray, FloatArray]:
        vocabulary = self.vocabulary
        known = [(vocabulary[term], count) for term, count in Counter(document).items() if term in vocabulary]
        if not known:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float32)
        indices = np.array([index for index, _ in known], dtype=np.int32)
        tf = 1.0 + np.log(np.array([count for _, count in known], dtype=np.float32))
        values: FloatArray = (tf * self.idf[indices]).astype(np.float32)
        norm = np.float32(np.sqrt(np.dot(values, values)))
        return indices, values / norm if norm else values
