"""Thai understanding: normalisation, the danger lexicon, commands, and the floors on the held-out test file."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.engine import run_turn
from bot.nlu import normalise as normaliser
from bot.nlu.classifier import IntentModel
from bot.nlu.evaluate import TEST_FILES, evaluate, load_test_set
from bot.nlu.features import FeatureSpec, Vectoriser, char_ngram_hashes, terms, word_hash
from bot.nlu.normalise import aligned, canonical, clean, strip_tone_marks
from bot.nlu.pipeline import Understander, warm_up
from handlers.base import EventKind, Person, TextReply, Turn, Understanding
from knowledge.loader import INTENTS, get_knowledge
from tests.conftest import HELPDESK


@pytest.fixture(scope="module")
def nlu() -> Understander:
    return warm_up()


# --- normalisation ----------------------------------------------------------------------------------


def test_clean_handles_unicode_digits_and_mark_order() -> None:
    assert clean("อายุ๗๒\u200b ปี") == "อายุ72 ปี"
    assert clean("ท\u0e48\u0e35") == "ที่"  # tone mark typed before the vowel
    assert clean("ที่่") == "ที่"  # a doubled tone mark
    assert strip_tone_marks("เบี้ยยังชีพ") == "เบียยังชีพ"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("เเม่อายุ๗๒", "แม่อายุ72"),  # two sara e typed for sara ae
        ("ทํางาน", "ทำงาน"),  # nikhahit + sara aa typed for sara am
        ("ค่ะะะ", "ค่ะ"),  # a repeated vowel
        ("ดีี่่ค่ะ", "ดี่ค่ะ"),  # repeated vowel and tone mark
        ("ไม ่มีเงิน", "ไม มีเงิน"),  # a mark after a space dangles: PyThaiNLP drops it
        ("แม ่", "แม"),  # ... and no space is left at the end
        ("่สวัสดีค่ะ", "สวัสดีค่ะ"),  # a mark dangling at the start
        ("HELLO\u200bค่ะ\x07ok", "helloค่ะ ok"),  # format characters go, control characters are spaces
    ],
)
def test_canonical_form(typed: str, expected: str) -> None:
    assert canonical(typed) == expected


def test_aligned_form_keeps_every_position() -> None:
    typed = "โทร ๐๘๑-๒๓๔-๕๖๗๘ ค่ะ\u200b"
    assert aligned(typed) == "โทร 081-234-5678 ค่ะ\u200b"
    assert len(aligned(typed)) == len(typed)


def _samples() -> list[str]:
    knowledge = get_knowledge()
    texts = [t for t, _ in load_test_set()] + [e for i in knowledge.intents.values() for e in i.examples]
    rng = np.random.default_rng(7)
    alphabet = [*"กขคนมยรวสอหเแโใไะาำๅัิีึืุูํ็่้๊๋์ฺ ๑2", "\u200b", "เเ"]
    texts += ["".join(rng.choice(alphabet, size=int(rng.integers(1, 10)))) for _ in range(20_000)]
    return texts


def test_pythainlp_normalize_is_skipped_only_when_it_would_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    samples = _samples()
    fast = [clean(t) for t in samples]
    monkeypatch.setattr(normaliser, "_NEEDS_PYTHAINLP", re.compile(""))  # always run pythainlp's normalize
    assert [clean(t) for t in samples] == fast


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("มากกกกก", "มาก"), ("ครับบบบ", "ครับ"), ("ช่วยด้วยยยยย", "ช่วยด้วย"), ("55555 ตลก", "555 ตลก")],
)
def test_repeated_letters_collapse_and_laughter_is_one_token(nlu: Understander, typed: str, expected: str) -> None:
    assert nlu.normalise(typed).text == expected


def test_digit_runs_are_left_alone(nlu: Understander) -> None:
    assert nlu.normalise("โทร 0800000000").text == "โทร 0800000000"


def test_laughter_is_flagged(nlu: Understander) -> None:
    assert nlu.normalise("5555 ขำ").laughter
    assert not nlu.normalise("เบอร์ 0815555123").laughter


@pytest.mark.parametrize(("typed", "meant"), [("l;ylfu8iy[", "สวัสดีครับ"), ("Vy]Fs] l;ylfu8jt", "ฮัลโหล สวัสดีค่ะ")])
def test_thai_typed_on_the_english_layout_is_repaired(nlu: Understander, typed: str, meant: str) -> None:
    result = nlu.normalise(typed)
    assert result.layout_repaired
    assert result.text == meant


@pytest.mark.parametrize("english", ["ok", "hello there", "help me please", "thank you so much", "PM-2569-000123"])
def test_english_is_not_mistaken_for_a_wrong_layout(nlu: Understander, english: str) -> None:
    assert not nlu.normalise(english).layout_repaired


# --- features and the model ------------------------------------------------------------------------


def test_char_ngrams_stay_inside_words() -> None:
    # " ab " and " c " give 1- and 2-grams: 4 + 3 unigrams, 3 + 2 bigrams; none across the words.
    assert len(char_ngram_hashes("ab c", 1, 2)) == 12
    assert len(char_ngram_hashes("ab c", 2, 2)) == 5
    same = char_ngram_hashes("ab", 2, 2)
    assert set(same.tolist()) <= set(char_ngram_hashes("ab c", 2, 2).tolist())
    # the same characters in another order are other features
    assert set(char_ngram_hashes("ba", 2, 2).tolist()).isdisjoint({int(h) for h in same[1:2]})


def test_feature_hashes_are_stable_across_processes() -> None:
    code = "from bot.nlu.features import word_hash; print(word_hash('เบี้ย'))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(other.stdout) == word_hash("เบี้ย")


def test_vectoriser_gives_unit_length_tfidf() -> None:
    spec = FeatureSpec(1, 2, words=True)
    documents = [terms("ab", ["ab"], spec), terms("ac", ["ac"], spec)]
    vectoriser = Vectoriser.fit(documents, spec)
    indices, values = vectoriser.transform(terms("ab zz", ["ab", "zz"], spec))
    assert 0 < len(indices) < len(terms("ab zz", ["ab", "zz"], spec))  # unknown features are dropped
    assert float((values**2).sum()) == pytest.approx(1.0)


def test_model_cache_round_trips(tmp_path: Path) -> None:
    spec = FeatureSpec(1, 2, words=False)
    documents = [terms(text, [], spec) for text in ("aa", "bb", "aa cc", "bb dd", "ee", "ee ff")]
    labels = ["one", "two", "one", "two", "three", "three"]
    model = IntentModel.train(documents, labels, spec)
    model.save(tmp_path / "m.npz")
    loaded = IntentModel.load(tmp_path / "m.npz", spec)
    assert loaded.labels == model.labels
    probe = terms("aa", [], spec)
    assert (loaded.scores(probe) == model.scores(probe)).all()
    assert loaded.labels[int(loaded.scores(terms("aa cc", [], spec)).argmax())] == "one"
    assert np.allclose(model.scores_many([probe, probe])[1], model.scores(probe), atol=1e-5)


# --- understanding ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "ผัวเมากำลังตีหนู ช่วยด้วย",
        "เพื่อนบอกว่าจะกระโดดตึกคืนนี้",
        "my friend says he wants to kill himself",
        "ลุงข้างบ้านขังเด็กไว้ในห้อง",
        "โดนยึดพาสปอร์ต ไม่ให้กลับบ้าน",
        "อยากตายยยย",
        "ฉุกเฉิน",
    ],
)
def test_danger_is_an_emergency(nlu: Understander, message: str) -> None:
    assert nlu.understand(message).intent == "emergency"


@pytest.mark.parametrize("message", ["ไปตีกอล์ฟกันไหม", "ตื่นตีห้าทุกวัน", "แม่ตบยุงทั้งคืน", "grape juice"])
def test_harmless_lookalikes_do_not_match_the_danger_lexicon(nlu: Understander, message: str) -> None:
    assert nlu.danger.match(nlu.normalise(message).text) is None


def test_every_button_text_routes_to_its_intent(nlu: Understander) -> None:
    for intent, reply in get_knowledge().intent_replies.intents.items():
        for command in (reply.text, *reply.also):
            assert nlu.understand(command).intent == intent, command
            assert nlu.understand(command).confidence == 1.0


def test_keyboard_mashing_is_not_understood(nlu: Understander) -> None:
    result = nlu.understand("ฟหกดเ่าสว")
    assert (result.intent, result.confidence) == ("out_of_scope", 0.0)


def test_unsure_messages_offer_three_other_intents(nlu: Understander) -> None:
    unsure = [u for u in nlu.understand_many(["แม่", "เอ่อ", "ขอถามหน่อย", "ได้ไหม", "เรื่องนั้นอะ"]) if u.alternatives]
    assert unsure, "at least one vague message should come back unsure"
    for result in unsure:
        assert result.intent == "out_of_scope"
        assert len(result.alternatives) == 3
        assert "out_of_scope" not in result.alternatives
        assert set(result.alternatives) <= set(INTENTS)


def test_entities_come_with_the_intent(nlu: Understander) -> None:
    result = nlu.understand("แม่อายุ๗๒ อยู่โคราช ได้เบี้ยเดือนละเท่าไหร่คะ")
    assert result.intent == "elderly_allowance"
    assert result.entities == {"age": 72, "province": "นครราชสีมา"}


# --- the held-out test file ---------------------------------------------------------------------------


def test_held_out_file_is_not_in_the_training_phrases() -> None:
    training = {e.strip() for i in get_knowledge().intents.values() for e in i.examples}
    pairs = load_test_set()
    assert not [text for text, _ in pairs if text.strip() in training]
    counts = {intent: sum(1 for _, i in pairs if i == intent) for intent in INTENTS}
    assert min(counts.values()) >= 12, counts


def test_floors_on_the_held_out_file(nlu: Understander) -> None:
    report = evaluate(nlu, load_test_set(TEST_FILES))
    assert report.accuracy >= 0.92
    assert report.emergency_recall == 1.0
    assert report.false_emergency_rate <= 0.01


def test_nlu_command_reads_lines_and_writes_json(tmp_path: Path) -> None:
    lines = "สวัสดีค่ะ\nเลขเรื่อง pm-2569-000123 ถึงไหนแล้ว\n\n"
    done = subprocess.run([HELPDESK, "nlu"], input=lines, capture_output=True, text=True, timeout=120, check=True)
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["text"] for r in records] == ["สวัสดีค่ะ", "เลขเรื่อง pm-2569-000123 ถึงไหนแล้ว", ""]
    assert records[0]["intent"] == "greeting"
    assert records[1]["intent"] == "ticket_status"
    assert records[1]["entities"] == {"ticket_id": "PM-2569-000123"}
    assert all(0.0 <= r["confidence"] <= 1.0 for r in records)


# --- wired into the dialogue --------------------------------------------------------------------------


def _turn(understanding: Understanding) -> Turn:
    person = Person("U" + "1" * 32, "สมศรี", "given", False)
    return Turn(person=person, kind=EventKind.text, understanding=understanding, text="...")


@pytest.mark.parametrize("intent", INTENTS)
def test_every_intent_gets_a_thai_answer(intent: str) -> None:
    knowledge = get_knowledge()
    handler_name, outcome = run_turn(_turn(Understanding(intent, 0.9)), knowledge)
    assert outcome.replies, intent
    first = outcome.replies[0]
    shown = (
        first.text
        if isinstance(first, TextReply)
        else "\n".join(x for x in (first.title, first.figure, *first.lines, first.footnote) if x)
    )
    assert re.search("[\u0e00-\u0e7f]", shown), "the answer is in Thai"
    if handler_name == "routing":
        assert shown == knowledge.intent_replies.intents[intent].answer
    if handler_name == "programmes" and intent == "funeral_assistance":
        # "..." says nobody died: the funeral grant is asked about first, never answered as if someone had.
        assert isinstance(first, TextReply) and "เสียชีวิตแล้วเท่านั้น" in shown
    elif handler_name == "programmes":
        assert "ที่มา:" in shown, "a programme answer names its source"
    if intent == "emergency":
        assert all(number in shown for number in ("1300", "191", "1669", "1323"))


def test_unsure_gets_did_you_mean_buttons_with_emergency_first() -> None:
    knowledge = get_knowledge()
    understanding = Understanding("out_of_scope", 0.1, {}, ("emergency", "request_help", "complaint"))
    _, outcome = run_turn(_turn(understanding), knowledge)
    [reply] = outcome.replies
    assert isinstance(reply, TextReply)
    assert "1300" in reply.text
    sent = [button.text for button in reply.quick_replies]
    intents = knowledge.intent_replies.intents
    assert sent[:3] == [intents["emergency"].text, intents["request_help"].text, intents["complaint"].text]
