"""Evaluation on a held-out file: accuracy, macro-F1, per-intent precision/recall, confusions, emergencies."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.nlu.pipeline import Understander

TEST_FILES = (
    Path(__file__).resolve().parents[2] / "tests" / "data" / "nlu_test_a.yaml",
    Path(__file__).resolve().parents[2] / "tests" / "data" / "nlu_test_b.yaml",
)


def load_test_set(paths: Sequence[Path] = TEST_FILES) -> list[tuple[str, str]]:
    """(message, intent) pairs from YAML files mapping intent → messages."""
    pairs: list[tuple[str, str]] = []
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            for intent, messages in (yaml.safe_load(handle) or {}).items():
                pairs.extend((message, intent) for message in messages)
    return pairs


@dataclass(frozen=True)
class Report:
    total: int
    accuracy: float
    macro_f1: float
    per_intent: dict[str, tuple[float, float, float, int]]  # precision, recall, f1, support
    confusions: list[tuple[str, str, int]]  # expected, predicted, count
    emergency_recall: float
    false_emergency_rate: float
    mistakes: list[tuple[str, str, str]]  # message, expected, predicted


def evaluate(understander: Understander, pairs: Sequence[tuple[str, str]]) -> Report:
    predicted = [u.intent for u in understander.understand_many([text for text, _ in pairs])]
    expected = [intent for _, intent in pairs]
    intents = sorted(set(expected) | set(predicted))
    per_intent: dict[str, tuple[float, float, float, int]] = {}
    for intent in intents:
        true_positive = sum(1 for e, p in zip(expected, predicted, strict=True) if e == p == intent)
        predicted_n = predicted.count(intent)
        support = expected.count(intent)
        precision = true_positive / predicted_n if predicted_n else 0.0
        recall = true_positive / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_intent[intent] = (precision, recall, f1, support)
    scored = [v for k, v in per_intent.items() if v[3] > 0]
    confusions = Counter((e, p) for e, p in zip(expected, predicted, strict=True) if e != p)
    emergencies = [p for e, p in zip(expected, predicted, strict=True) if e == "emergency"]
    others = [p for e, p in zip(expected, predicted, strict=True) if e != "emergency"]
    return Report(
        total=len(pairs),
        accuracy=sum(e == p for e, p in zip(expected, predicted, strict=True)) / len(pairs),
        macro_f1=sum(v[2] for v in scored) / len(scored),
        per_intent=per_intent,
        confusions=[(e, p, n) for (e, p), n in confusions.most_common(10)],
        emergency_recall=emergencies.count("emergency") / len(emergencies) if emergencies else 1.0,
        false_emergency_rate=others.count("emergency") / len(others) if others else 0.0,
        mistakes=[(t, e, p) for (t, e), p in zip(pairs, predicted, strict=True) if e != p],
    )


def format_report(report: Report, show_mistakes: bool = False) -> str:
    lines = [
        f"messages            {report.total}",
        f"accuracy            {report.accuracy:.3f}",
        f"macro-F1            {report.macro_f1:.3f}",
        f"emergency recall    {report.emergency_recall:.3f}",
        f"false emergencies   {report.false_emergency_rate:.3%}",
        "",
        f"{'intent':22s} {'precision':>9s} {'recall':>7s} {'f1':>6s} {'n':>4s}",
    ]
    for intent, (precision, recall, f1, support) in sorted(report.per_intent.items()):
        lines.append(f"{intent:22s} {precision:9.3f} {recall:7.3f} {f1:6.3f} {support:4d}")
    lines += ["", "most confused (expected → predicted):"]
    lines += [f"  {e} → {p}: {n}" for e, p, n in report.confusions]
    if show_mistakes:
        lines += ["", "mistakes:"] + [f"  [{e} → {p}] {t}" for t, e, p in report.mistakes]
    return "\n".join(lines)
