"""The intent model: a linear SVM over TF-IDF features, trained on knowledge/intents at start-up.

scikit-learn trains it (liblinear, ~0.2 s); scoring needs only numpy, so a trained model is cached on
disk under a digest of the examples and the settings, and later starts skip scikit-learn entirely.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from bot.nlu.features import FeatureSpec, FloatArray, HashArray, Vectoriser

log = logging.getLogger(__name__)

MODEL_VERSION = 2
SVM_C = 2.0
CLASS_WEIGHT: str | None = None  # 'balanced' measured no better (benchmarks/nlu_experiments.py)


def cache_dir() -> Path:
    configured = os.environ.get("HELPDESK_CACHE_DIR")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "helpdesk"


class IntentModel:
    def __init__(self, labels: list[str], vectoriser: Vectoriser, weights: FloatArray, bias: FloatArray) -> None:
        self.labels = labels
        self.vectoriser = vectoriser
        self.weights = weights  # features × intents
        self.bias = bias

    def scores(self, document: HashArray) -> FloatArray:
        """One decision value per intent (higher is more likely)."""
        indices, values = self.vectoriser.transform(document)
        if len(indices) == 0:
            return self.bias.copy()
        result: FloatArray = values @ self.weights[indices] + self.bias
        return result

    def scores_many(self, documents: Sequence[HashArray]) -> FloatArray:
        """Decision values for many messages at once (one gather and one sum per batch)."""
        transformed = [self.vectoriser.transform(document) for document in documents]
        lengths = np.array([len(indices) for indices, _ in transformed])
        result = np.tile(self.bias, (len(documents), 1))
        if lengths.sum() == 0:
            return result
        indices = np.concatenate([i for i, _ in transformed])
        values = np.concatenate([v for _, v in transformed])
        weighted = self.weights[indices] * values[:, None]
        rows = np.repeat(np.arange(len(documents)), lengths)
        np.add.at(result, rows, weighted)
        return result

    # --- training and the on-disk cache ----------------------------------------------------------

    @staticmethod
    def digest(documents: Sequence[HashArray], labels: Sequence[str], spec: FeatureSpec) -> str:
        hasher = hashlib.sha256(f"v{MODEL_VERSION}|C={SVM_C}|{json.dumps(asdict(spec))}".encode())
        for document, label in zip(documents, labels, strict=True):
            hasher.update(label.encode())
            hasher.update(np.ascontiguousarray(document).tobytes())
            hasher.update(b"\x1e")
        return hasher.hexdigest()[:32]

    @classmethod
    def train(cls, documents: Sequence[HashArray], labels: Sequence[str], spec: FeatureSpec) -> IntentModel:
        from scipy.sparse import csr_matrix
        from sklearn.svm import LinearSVC

        vectoriser = Vectoriser.fit(documents, spec)
        rows, cols, vals = [], [], []
        for row, document in enumerate(documents):
            indices, values = vectoriser.transform(document)
            rows.extend([row] * len(indices))
            cols.extend(indices.tolist())
            vals.extend(values.tolist())
        matrix = csr_matrix((vals, (rows, cols)), shape=(len(documents), len(vectoriser.keys)))
        svm = LinearSVC(C=SVM_C, class_weight=CLASS_WEIGHT)
        svm.fit(matrix, list(labels))
        weights = np.ascontiguousarray(svm.coef_.T, dtype=np.float32)
        bias = np.asarray(svm.intercept_, dtype=np.float32)
        return cls([str(label) for label in svm.classes_], vectoriser, weights, bias)

    @classmethod
    def load_or_train(cls, documents: Sequence[HashArray], labels: Sequence[str], spec: FeatureSpec) -> IntentModel:
        """The cached model for exactly these examples, trained first when there is none.

        Training runs in a child process, so scikit-learn (~100 MB) never stays in a serving process.
        """
        path = cache_dir() / f"intent-model-{cls.digest(documents, labels, spec)}.npz"
        if not path.exists():
            train_in_child(documents, labels, spec, path)
        if path.exists():
            try:
                return cls.load(path, spec)
            except (OSError, ValueError, KeyError):
                log.warning("intent model cache unreadable; training here", extra={"path": str(path)})
        return cls.train(documents, labels, spec)  # no writable cache: train in this process

    def save(self, path: Path) -> None:
        """Write atomically; a read-only or missing cache directory only costs the next start its time."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as handle:
                np.savez(
                    handle,
                    labels=np.array(self.labels),
                    keys=self.vectoriser.keys,
                    idf=self.vectoriser.idf,
                    weights=self.weights,
                    bias=self.bias,
                )
            os.replace(handle.name, path)
        except OSError:
            log.info("intent model not cached", extra={"path": str(path)})

    @classmethod
    def load(cls, path: Path, spec: FeatureSpec) -> IntentModel:
        with np.load(path, allow_pickle=False) as data:
            vectoriser = Vectoriser(spec, data["keys"].astype(np.uint64), data["idf"].astype(np.float32))
            return cls([str(x) for x in data["labels"]], vectoriser, data["weights"], data["bias"])


def train_in_child(documents: Sequence[HashArray], labels: Sequence[str], spec: FeatureSpec, path: Path) -> None:
    """Train in a fresh interpreter that writes the model to `path`; failures leave `path` absent."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".in.npz", delete=False) as handle:
            np.savez(
                handle,
                hashes=np.concatenate(documents) if documents else np.empty(0, dtype=np.uint64),
                lengths=np.array([len(d) for d in documents]),
                labels=np.array(labels),
                spec=np.array([spec.char_low, spec.char_high, int(spec.words)]),
            )
        done = subprocess.run(
            [sys.executable, "-m", "bot.nlu.classifier", handle.name, str(path)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            log.warning("training in a child process failed", extra={"stderr": done.stderr[-2000:]})
    except (OSError, subprocess.SubprocessError):
        log.info("could not train in a child process", exc_info=True)
    finally:
        with contextlib.suppress(NameError, OSError):
            Path(handle.name).unlink()


def _train_from_file(source: Path, target: Path) -> None:
    with np.load(source, allow_pickle=False) as data:
        low, high, words = (int(x) for x in data["spec"])
        spec = FeatureSpec(low, high, bool(words))
        documents = np.split(data["hashes"], np.cumsum(data["lengths"])[:-1])
        labels = [str(label) for label in data["labels"]]
    IntentModel.train(documents, labels, spec).save(target)


if __name__ == "__main__":
    _train_from_file(Path(sys.argv[1]), Path(sys.argv[2]))
