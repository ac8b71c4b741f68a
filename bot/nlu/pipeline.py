"""Text in, Understanding out: normalise, tokenise, danger lexicon, intent model, entities.

The constants below were chosen by cross-validation on the training phrases (benchmarks/nlu_experiments.py;
the figures are in bot/nlu/DECISIONS.md), never on the held-out test file.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import replace
from functools import cache
from typing import Any

import numpy as np

from bot.nlu.answers import ages_of_people, polarity
from bot.nlu.classifier import IntentModel
from bot.nlu.coordinates import warm_up as warm_up_coordinates
from bot.nlu.danger import DangerMatcher
from bot.nlu.entities import extract_entities
from bot.nlu.entities import warm_up as warm_up_entities
from bot.nlu.features import FeatureSpec, HashArray, terms
from bot.nlu.normalise import Normalised, normalise
from bot.nlu.tokenise import Tokeniser
from handlers.base import Understanding
from knowledge.loader import Knowledge, get_knowledge

FEATURES = FeatureSpec(char_low=1, char_high=4, words=True)
# Softmax temperature turning SVM margins into confidences in 0..1.
TEMPERATURE = 8.0
# Below this confidence the message is out of scope, with "did you mean" buttons for the best three.
CONFIDENCE_FLOOR = 0.20
# Emergency wins a tie with the best intent (a missed emergency is the worst error). A wider margin
# caught more in cross-validation but doubled false emergencies; the danger lexicon carries recall instead.
EMERGENCY_MARGIN = 0.0
DANGER_CONFIDENCE = 0.95
BATCH_CHUNK = 256  # messages scored together: ~5 MB of intermediate arrays
# Without a lexicon match, the classifier must be this sure to call an emergency; below it the message
# gets "did you mean" with emergency first. Cross-validation: false emergencies 1.3 % → 0.7 %, recall kept.
EMERGENCY_MIN_CONFIDENCE = 0.5
# Below this share of dictionary words, Thai text is keyboard mashing rather than a message.
GIBBERISH_COVERAGE = 0.5
THAI_LETTER = re.compile("[\u0e01-\u0e2e]")
# A message that is only a number (and its unit) is an answer, never an emergency or any other intent.
BARE_NUMBER = re.compile(r"^\s*(?:อายุ\s*)?[\d.,]+\s*(?:ปี|ขวบ|บาท|k)?\s*(?:ค่ะ|คะ|ครับ|คับ|จ้า|นะ)?\s*$")
# The kinds of answer `expect` understands; entity kinds are read by extract_entities.
ENTITY_KINDS = ("age", "monthly_income", "province")


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    shifted = (scores - scores.max()) * temperature
    exps = np.exp(shifted)
    result: np.ndarray = exps / exps.sum()
    return result


class Understander:
    """Built once per process (≈ 1 s cold, less with the model cache); then thread-safe and fast."""

    def __init__(self, knowledge: Knowledge, engine: str = "nlpo3") -> None:
        self.tokeniser = Tokeniser(engine)
        self.danger = DangerMatcher(knowledge.danger)
        self.commands = {self.normalise(c).text: i for c, i in knowledge.intent_replies.commands().items()}
        documents: list[HashArray] = []
        labels: list[str] = []
        for intent, examples in sorted(knowledge.intents.items()):
            for example in examples.examples:
                documents.append(self.document(self.normalise(example)))
                labels.append(intent)
        self.model = IntentModel.load_or_train(documents, labels, FEATURES)
        self.emergency_index = self.model.labels.index("emergency")
        self.out_of_scope_index = self.model.labels.index("out_of_scope")

    def normalise(self, text: str) -> Normalised:
        return normalise(text, self.tokeniser.coverage)

    def document(self, normalised: Normalised) -> HashArray:
        return terms(normalised.text, self.tokeniser.tokens(normalised.text), FEATURES)

    def understand(self, text: str, expect: str | None = None) -> Understanding:
        """One message; `expect` is the kind of answer the bot has just asked for ("age", "monthly_income",
        "province", "yesno"), so that a bare "67", "๖๗", "หกสิบเจ็ด", "เชียงใหม่" or "ไม่มีค่ะ" is read as it."""
        return self.read_answer(text, expect, self.understand_many([text])[0])

    def read_answer(self, text: str, expect: str | None, understanding: Understanding) -> Understanding:
        """What a conversation needs beyond the intent: the text as understood (layout repaired), yes/no,
        ages by person, and whether the message answers what was asked."""
        entities = dict(understanding.entities)
        if expect in ENTITY_KINDS and expect not in entities:
            entities.update({k: v for k, v in extract_entities(text, expect=expect).items() if k == expect})  # type: ignore[arg-type]
        normalised = self.normalise(text).text
        answer_polarity = polarity(normalised)
        answers = expect if expect in entities or (expect == "yesno" and answer_polarity) else None
        if answers and understanding.intent == "emergency" and understanding.danger is None:
            # A bare answer to our own question is not a cry for help unless it says so in words.
            understanding = replace(understanding, intent="out_of_scope", confidence=0.0)
        return replace(
            understanding,
            entities=entities,
            answers=answers,
            polarity=answer_polarity,
            people=ages_of_people(normalised),
            text=normalised,
        )

    def understand_many(self, texts: Sequence[str]) -> list[Understanding]:
        """Messages understood together, scored by the model a chunk at a time (bounded memory)."""
        results: list[Understanding] = []
        for start in range(0, len(texts), BATCH_CHUNK):
            results.extend(self._understand_chunk(texts[start : start + BATCH_CHUNK]))
        return results

    def _understand_chunk(self, texts: Sequence[str]) -> list[Understanding]:
        prepared = [self._prepare(text) for text in texts]
        pending = [i for i, item in enumerate(prepared) if not isinstance(item, Understanding)]
        results: list[Understanding | None] = [item if isinstance(item, Understanding) else None for item in prepared]
        if pending:
            batch = [prepared[i] for i in pending]
            scores = self.model.scores_many([item[0] for item in batch if not isinstance(item, Understanding)])
            for row, (i, item) in enumerate(zip(pending, batch, strict=True)):
                assert not isinstance(item, Understanding)
                results[i] = self.decide(scores[row], item[1], item[2])
        return [result for result in results if result is not None]

    def _prepare(self, text: str) -> Understanding | tuple[HashArray, str | None, dict[str, Any]]:
        """Everything up to the model: a final answer when no guessing is needed, else its features."""
        normalised = self.normalise(text)
        entities = extract_entities(text)
        if not normalised.text.strip() or BARE_NUMBER.match(normalised.text):
            return Understanding("out_of_scope", 0.0, entities)
        danger = self.danger.match(normalised.text)
        tokens = self.tokeniser.tokens(normalised.text)
        if danger is None and self.is_gibberish(tokens):
            return Understanding("out_of_scope", 0.0, entities)
        command = self.commands.get(normalised.text)
        if command is not None and danger is None:
            # A button's text or a known command ("เมนู"): no guessing needed.
            return Understanding(command, 1.0, entities)
        return terms(normalised.text, tokens, FEATURES), danger, entities

    def is_gibberish(self, tokens: list[str]) -> bool:
        """Thai letters that form almost no dictionary words ("ฟหกด", "กขคงจ"): not understood, not off-topic."""
        thai = [token for token in tokens if THAI_LETTER.search(token)]
        if not thai:
            return False
        return self.tokeniser.coverage_of(thai) < GIBBERISH_COVERAGE

    def decide(self, scores: np.ndarray, danger: str | None, entities: dict[str, Any]) -> Understanding:
        labels = self.model.labels
        confidences = softmax(scores, TEMPERATURE)
        best = int(scores.argmax())
        emergency_confidence = float(confidences[self.emergency_index])
        if danger is not None:
            return Understanding(
                "emergency", max(emergency_confidence, DANGER_CONFIDENCE), dict(entities), danger=danger
            )
        emergency_on_top = scores[self.emergency_index] >= scores[best] - EMERGENCY_MARGIN
        if emergency_on_top and emergency_confidence >= EMERGENCY_MIN_CONFIDENCE:
            return Understanding("emergency", round(emergency_confidence, 4), dict(entities))
        confidence = float(confidences[best])
        if emergency_on_top or (confidence < CONFIDENCE_FLOOR and best != self.out_of_scope_index):
            # Unsure: offer the likeliest intents, emergency first whenever it is among them.
            order = [int(i) for i in np.argsort(-scores) if int(i) != self.out_of_scope_index]
            suggestions = sorted(order[:3], key=lambda i: i != self.emergency_index)
            return Understanding(
                "out_of_scope", round(confidence, 4), dict(entities), tuple(labels[i] for i in suggestions)
            )
        return Understanding(labels[best], round(confidence, 4), dict(entities))


_lock = threading.Lock()


@cache
def _default() -> Understander:
    return Understander(get_knowledge())


def warm_up() -> Understander:
    """Build the default understander now (start-up), not on the first citizen's message."""
    with _lock:
        understander = _default()
        warm_up_entities()
        warm_up_coordinates()
        return understander


def understand(text: str, expect: str | None = None) -> Understanding:
    """The intent of one message, with a confidence in 0..1 and the entities found; `expect` is the kind of
    answer the bot has just asked for (see Understander.understand)."""
    return warm_up().understand(text, expect)
