"""The intent head (bot/understand/intent_head.py): shipped in step with the examples, refused
when damaged, and what a user notices: questions in other words and languages reach their
topic, off-topic messages do not get a leaflet."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from bot.cli import main
from bot.content import load_content
from bot.content.load import meaning_examples
from bot.content.yaml_source import ContentError
from bot.core import Core
from bot.understand.classify import Classification
from bot.understand.encoder import file_sha256
from bot.understand.intent_head import (
    OUT_OF_SCOPE,
    OUT_OF_SCOPE_FILE,
    IntentHead,
    IntentHeadError,
    examples_sha256,
    read_out_of_scope,
    training_pairs,
)

PROJECT = Path(__file__).resolve().parents[1]
INTENTS = PROJECT / "intents"


def test_the_shipped_head_matches_the_examples_it_records() -> None:
    """Fails when an example, a meaning example or an off-topic line changed since the head
    was trained: run `recovery-bot train-intents`."""
    head = IntentHead.load(INTENTS)
    content = load_content(PROJECT)
    pairs = training_pairs(meaning_examples(content), read_out_of_scope(
        INTENTS / OUT_OF_SCOPE_FILE))
    assert not head.is_stale(pairs), "intents changed since the head was trained"
    assert head.record["weights"]["sha256"] == file_sha256(INTENTS / "head" / "weights.npz")
    assert OUT_OF_SCOPE in head.classes
    assert set(head.classes) - {OUT_OF_SCOPE} == set(meaning_examples(content))
    assert head.record["metrics"]["cv"]["out_of_scope_accuracy"] >= 0.9


def test_the_fingerprint_ignores_order_and_sees_any_change() -> None:
    pairs = [("cravings", "urges at night"), ("methadone", "is methadone safe")]
    assert examples_sha256(pairs) == examples_sha256(list(reversed(pairs)))
    assert examples_sha256(pairs) != examples_sha256([*pairs[:1], ("methadone", "is it safe")])


def _copy_intents(content: Path) -> Path:
    return content / "intents" / "head"


def test_a_damaged_head_stops_the_start_naming_the_file(content: Path) -> None:
    weights = _copy_intents(content) / "weights.npz"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ContentError, match=r"weights\.npz has sha256 .*expected"):
        Core.load(content)


def test_a_missing_head_is_named(content: Path) -> None:
    shutil.rmtree(_copy_intents(content))
    with pytest.raises(ContentError, match=r"record\.json is missing.*train-intents"):
        Core.load(content)


def test_unreadable_weights_with_a_matching_hash_are_refused(content: Path) -> None:
    folder = _copy_intents(content)
    (folder / "weights.npz").write_bytes(b"not a zip file")
    record = json.loads((folder / "record.json").read_text())
    record["weights"]["sha256"] = file_sha256(folder / "weights.npz")
    (folder / "record.json").write_text(json.dumps(record))
    with pytest.raises(IntentHeadError, match=r"weights\.npz is damaged"):
        IntentHead.load(content / "intents")


def test_lint_says_when_the_head_lags_the_examples(content: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = content / "intents" / "cravings.yaml"
    path.write_text(path.read_text().replace("      - craving heroin\n",
                                             "      - craving heroin\n      - urges at 3am\n"))
    assert main(["--content", str(content), "lint"]) == 1
    err = capsys.readouterr().err
    assert "record.json:1: the intent head was trained on other examples" in err
    assert "embed-intents" in err  # the new example has no stored embedding either


def test_a_bad_off_topic_line_is_named_with_its_line(content: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = content / "intents" / OUT_OF_SCOPE_FILE
    path.write_text(path.read_text() + "{not json\n")
    assert main(["--content", str(content), "lint"]) == 1
    lines = len(path.read_text().splitlines())
    assert f"out_of_scope.jsonl:{lines}: not a JSON object" in capsys.readouterr().err


# what a user notices: none of these lines is an example of any intent; each is left
# unanswered by the words and the nearest examples alone (tested below with the head off)

HEAD_ANSWERS = [
    ("we just moved to a new town and my husband needs a clinic that will carry on his "
     "methadone, how do we find one", "find_treatment"),
    ("i had two years clean and used twice last week, is my tolerance really lower now",
     "relapse"),
    ("la fame d'eroina la sera è fortissima, come resisto?", "cravings"),
]


@pytest.mark.parametrize(("text", "topic"), HEAD_ANSWERS)
def test_a_question_in_other_words_reaches_its_topic(core: Core, text: str,
                                                     topic: str) -> None:
    c = core.classify(text)
    assert c.route == "answer", (text, c)
    assert core.classifier.parent(c.intent or "") == topic, (text, c.intent)


def test_without_the_head_those_questions_get_no_answer(core: Core) -> None:
    classifier = core.classifier
    shipped = classifier.tuning
    classifier.tuning = shipped.model_copy(update={"head_answer_min": 1.0,
                                                   "head_overrule_min": 1.0})
    try:
        routes = [classifier.classify(text).route for text, _ in HEAD_ANSWERS]
    finally:
        classifier.tuning = shipped
    assert "answer" not in routes, routes


def _sure_head(topic: str) -> IntentHead:
    """A head that is sure of ``topic`` whatever the message (a unit of the decision rule)."""
    classes = [topic, "fentanyl", OUT_OF_SCOPE]
    bias = np.array([5.0, 0.0, 0.0], dtype=np.float32)
    return IntentHead(classes, np.zeros((3, 512), dtype=np.float32), bias, {})


def test_a_sure_head_replaces_the_words_topic_and_keeps_it_as_a_button(core: Core) -> None:
    classifier = core.classifier
    words = Classification("answer", "fentanyl", 60.0, (("fentanyl", 60.0),),
                           tokens=("where", "do", "i", "get", "it"))
    shipped = classifier.head
    classifier.head = _sure_head("naloxone_where_to_get")
    try:
        message = classifier.normalise("where do i get it")
        c = classifier._by_head(words, np.ones(512, dtype=np.float32), message)
        off_topic = IntentHead([OUT_OF_SCOPE, "fentanyl"], np.zeros((2, 512), np.float32),
                               np.array([5.0, 0.0], np.float32), {})
        classifier.head = off_topic
        kept = classifier._by_head(words, np.ones(512, dtype=np.float32), message)
    finally:
        classifier.head = shipped
    assert (c.route, c.intent, c.second) == ("answer", "naloxone_where_to_get", "fentanyl")
    assert kept == words  # "off-topic" changes nothing: the words' answer stands


@pytest.mark.parametrize("text", [
    "what's the weather going to be like in leeds tomorrow",
    "can you help me with my maths homework, quadratic equations",
    "¿me recomiendas una receta fácil para la cena?",
    "wer hat gestern das Spiel gewonnen?",
    "my laptop keeps freezing when i open chrome",
])
def test_off_topic_messages_get_no_leaflet(core: Core, text: str) -> None:
    assert core.classify(text).route in ("clarify", "fallback"), text
