"""Thai word segmentation with PyThaiNLP's dictionary plus our welfare words (nlpo3 or newmm).

nlpo3 is the default: it gave the same tokens as newmm on the measured messages and is several times
faster (benchmarks/nlu_bench.py prints both); `engine="newmm"` is kept for that comparison.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path

from knowledge.loader import KNOWLEDGE_DIR

CUSTOM_WORDS_FILE = KNOWLEDGE_DIR / "nlu" / "custom_words.txt"


def read_custom_words(path: Path = CUSTOM_WORDS_FILE) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


@cache
def dictionary_words() -> frozenset[str]:
    """PyThaiNLP's Thai word list (62k words, shipped in its wheel) and our own words."""
    corpus = resources.files("pythainlp.corpus").joinpath("words_th.txt").read_text(encoding="utf-8")
    words = {line.strip() for line in corpus.splitlines() if line.strip()}
    return frozenset(words | set(read_custom_words()))


class Tokeniser:
    def __init__(self, engine: str = "nlpo3") -> None:
        if engine not in ("nlpo3", "newmm"):
            raise ValueError(f"unknown tokeniser engine {engine!r}")
        self.engine = engine
        self.words = dictionary_words()
        self._segment: Callable[[str], list[str]]
        if engine == "nlpo3":
            import nlpo3

            with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as handle:
                handle.write("\n".join(sorted(self.words)))
            nlpo3.load_dict(handle.name, "helpdesk")
            Path(handle.name).unlink(missing_ok=True)
            self._segment = lambda text: nlpo3.segment(text, "helpdesk")
        else:
            from pythainlp.tokenize import word_tokenize
            from pythainlp.util import Trie

            trie = Trie(self.words)
            self._segment = lambda text: word_tokenize(text, engine="newmm", custom_dict=trie, keep_whitespace=False)

    def tokens(self, text: str) -> list[str]:
        """Words of the text, spaces dropped."""
        return [token for token in self._segment(text) if token.strip()]

    def coverage(self, text: str) -> float:
        """The share of the text's characters that fall inside dictionary words (0..1)."""
        return self.coverage_of(self.tokens(text))

    def coverage_of(self, tokens: list[str]) -> float:
        total = sum(len(token) for token in tokens)
        if total == 0:
            return 0.0
        return sum(len(token) for token in tokens if token in self.words) / total
