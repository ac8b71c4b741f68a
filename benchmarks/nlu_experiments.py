"""The measurements behind bot/nlu's choices: 5-fold cross-validation on the TRAINING phrases only.

    .venv/bin/python benchmarks/nlu_experiments.py

The held-out test file is never read here (it is the final measure: `helpdesk nlu --evaluate`).
"""

from __future__ import annotations

import random
import time
from collections import defaultdict

import numpy as np
from rapidfuzz import fuzz, process

from bot.nlu import pipeline as nlu
from bot.nlu.classifier import IntentModel
from bot.nlu.danger import DangerMatcher
from bot.nlu.features import FeatureSpec, terms
from bot.nlu.normalise import normalise
from bot.nlu.tokenise import Tokeniser
from knowledge.loader import load_knowledge

FOLDS = 5


def folds(labels: list[str], k: int, seed: int = 7) -> list[list[int]]:
    """Stratified folds: each intent's examples dealt round-robin after a shuffle."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        by_label[label].append(index)
    rng = random.Random(seed)
    out: list[list[int]] = [[] for _ in range(k)]
    for indices in by_label.values():
        rng.shuffle(indices)
        for position, index in enumerate(indices):
            out[position % k].append(index)
    return out


def main() -> None:
    knowledge = load_knowledge()
    tokeniser = Tokeniser("nlpo3")
    danger = DangerMatcher(knowledge.danger)
    texts: list[str] = []
    labels: list[str] = []
    for intent, examples in sorted(knowledge.intents.items()):
        texts += examples.examples
        labels += [intent] * len(examples.examples)
    normalised = [normalise(t, tokeniser.coverage).text for t in texts]
    tokens_all = [tokeniser.tokens(t) for t in normalised]
    split = folds(labels, FOLDS)
    print(f"{len(texts)} training phrases, {len(set(labels))} intents, {FOLDS}-fold cross-validation\n")

    def cv_scores(spec: FeatureSpec, c: float, class_weight: str | None = None) -> tuple[np.ndarray, list[str]]:
        """Out-of-fold decision values for every phrase."""
        import bot.nlu.classifier as classifier

        classifier.SVM_C = c
        classifier.CLASS_WEIGHT = class_weight
        docs = [terms(n, t, spec) for n, t in zip(normalised, tokens_all, strict=True)]
        all_scores = np.zeros((len(texts), 24), dtype=np.float32)
        model_labels: list[str] = []
        for held in split:
            held_set = set(held)
            train = [i for i in range(len(texts)) if i not in held_set]
            model = IntentModel.train([docs[i] for i in train], [labels[i] for i in train], spec)
            model_labels = model.labels
            for i in held:
                all_scores[i] = model.scores(docs[i])
        return all_scores, model_labels

    def report(name: str, predictions: list[str]) -> float:
        accuracy = float(np.mean([p == y for p, y in zip(predictions, labels, strict=True)]))
        emergency = [p for p, y in zip(predictions, labels, strict=True) if y == "emergency"]
        others = [p for p, y in zip(predictions, labels, strict=True) if y != "emergency"]
        recall = float(np.mean([p == "emergency" for p in emergency]))
        false_rate = float(np.mean([p == "emergency" for p in others]))
        print(f"{name:58s} acc {accuracy:.3f}  emergency recall {recall:.3f}  false emergency {false_rate:.3f}")
        return accuracy

    print("## Features and regularisation (argmax of the linear SVM, no rules)")
    best: tuple[float, FeatureSpec, float] | None = None
    for spec in (
        FeatureSpec(1, 3, False),
        FeatureSpec(1, 4, False),
        FeatureSpec(2, 5, False),
        FeatureSpec(1, 3, True),
        FeatureSpec(1, 4, True),
    ):
        for c in (0.5, 1.0, 2.0):
            scores, model_labels = cv_scores(spec, c)
            predictions = [model_labels[int(i)] for i in scores.argmax(axis=1)]
            name = f"char {spec.char_low}-{spec.char_high}{' + words' if spec.words else ''}, C={c}"
            accuracy = report(name, predictions)
            if best is None or accuracy > best[0]:
                best = (accuracy, spec, c)
    assert best is not None
    _, spec, c = best
    balanced, balanced_labels = cv_scores(spec, c, "balanced")
    report("the best, with balanced class weights", [balanced_labels[int(i)] for i in balanced.argmax(axis=1)])
    print(f"\nchosen: {spec}, C={c}\n")
    scores, model_labels = cv_scores(spec, c)
    em = model_labels.index("emergency")
    oos = model_labels.index("out_of_scope")

    print("## Fusion with rapidfuzz token_set_ratio nearest example (out-of-fold)")
    started = time.perf_counter()
    joined = [" ".join(t) for t in tokens_all]
    fuzzy = np.zeros((len(texts), 24), dtype=np.float32)
    for held in split:
        held_set = set(held)
        train = [i for i in range(len(texts)) if i not in held_set]
        choices = [joined[i] for i in train]
        for i in held:
            for _, score, position in process.extract(joined[i], choices, scorer=fuzz.token_set_ratio, limit=15):
                label_index = model_labels.index(labels[train[position]])
                fuzzy[i, label_index] = max(fuzzy[i, label_index], score / 100)
    per_message_ms = (time.perf_counter() - started) / len(texts) * 1000
    report("rapidfuzz alone", [model_labels[int(i)] for i in fuzzy.argmax(axis=1)])
    for weight in (0.25, 0.5, 1.0):
        fused = scores + weight * fuzzy
        report(f"SVM + {weight} x rapidfuzz", [model_labels[int(i)] for i in fused.argmax(axis=1)])
    print(f"(rapidfuzz costs {per_message_ms:.2f} ms a message over {len(choices)} examples)\n")

    print("## Danger lexicon and the emergency tie margin (SVM as chosen)")
    dangers = [danger.match(n) for n in normalised]
    report("SVM alone", [model_labels[int(i)] for i in scores.argmax(axis=1)])
    for margin in (0.0, 0.1, 0.2, 0.35, 0.5):
        predictions = []
        for i, row in enumerate(scores):
            best_i = int(row.argmax())
            close = row[em] >= row[best_i] - margin
            predictions.append("emergency" if dangers[i] or close else model_labels[best_i])
        report(f"lexicon + margin {margin}", predictions)
    lexicon_hits = [labels[i] for i, d in enumerate(dangers) if d]
    print(
        f"lexicon matches {sum(1 for x in lexicon_hits if x == 'emergency')} emergency phrases and "
        f"{sum(1 for x in lexicon_hits if x != 'emergency')} others: "
        f"{sorted({texts[i] for i, d in enumerate(dangers) if d and labels[i] != 'emergency'})[:8]}\n"
    )

    print("## Emergency from the classifier alone only above a confidence (lexicon always counts)")
    for temperature in (4.0, 8.0):
        for needed in (0.0, 0.3, 0.5, 0.7):
            predictions = []
            for i, row in enumerate(scores):
                best_i = int(row.argmax())
                sure = nlu.softmax(row, temperature)[best_i] >= needed
                if dangers[i] or (best_i == em and sure):
                    predictions.append("emergency")
                else:  # an unsure classifier emergency becomes "did you mean" (out_of_scope)
                    predictions.append(model_labels[best_i] if best_i != em else "out_of_scope")
            report(f"T={temperature}, classifier emergency needs >= {needed}", predictions)
            alone = [
                "emergency"
                if int(row.argmax()) == em and nlu.softmax(row, temperature)[em] >= needed
                else model_labels[int(row.argmax())]
                if int(row.argmax()) != em
                else "out_of_scope"
                for row in scores
            ]
            report("  (the classifier without the lexicon, same rule)", alone)
    print()

    print("## Temperature and out-of-scope floor")
    for temperature in (2.0, 4.0, 8.0):
        for floor in (0.2, 0.3, 0.4):
            predictions = []
            for row in scores:
                probabilities = nlu.softmax(row, temperature)
                best_i = int(row.argmax())
                label = model_labels[best_i]
                if probabilities[best_i] < floor and best_i != oos:
                    label = "out_of_scope"
                predictions.append(label)
            report(f"T={temperature} floor={floor}", predictions)


if __name__ == "__main__":
    main()
