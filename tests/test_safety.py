"""The safety check: an overdose or a suicidal message must never get an ordinary answer.

Each message is sent through ``core.handle`` exactly as a shell would, and the tests look
at what the person sees: the route, and whether the first message carries the number to
call. Wordings that were once missed stay here as plain tests, so they never come back.
"""

from __future__ import annotations

import pytest

from bot.content.html_format import html_to_text
from bot.core import Core

URGENT = ("overdose", "crisis")

OVERDOSE_NOW = [
    # signs described by someone next to the person
    "my boyfriend is turning blue",
    "he's snoring really loud after shooting up and i cant wake him",
    "she took too much and wont wake up",
    "lips are blue and he's not breathing",
    "my son collapsed in the toilet after using",
    "he's breathing really slowly after a hit",
    "pupils are tiny and he's barely breathing",
    "my friend is cold and clammy and won't respond",
    "she's gurgling after she used",
    "my dad fell out on the couch and hes not moving",
    "he went limp after his shot",
    "she's slumped over in the car and won't answer",
    "found him on the floor with a syringe",
    "can't wake my girlfriend up she used tonight",
    "my mate is unresponsive after using",
    "my roommate hasn't come out of the bathroom for an hour and she was using",
    "is it safe to let him sleep it off",
    "she's nodding off and i can't get her to respond",
    "he's out cold with a needle next to him",
    "my husband is making weird snoring sounds after using",
    # said about oneself
    "i think i overdosed",
    "took way too many pills",
    "took 10 percs and my heart is racing",
    "i'm scared i'm going to overdose tonight",
    "doubled my dose and can't keep my eyes open",
    "i used again after rehab and i feel really weird, can barely stay awake",
    # slang, typos and disguises
    "he od'd",
    "my friend is oding",
    "friend overdoesed pls help",
    "0verd0se",
    "o v e r d o s e",
    "HE IS NOT BREATHING",
    # panic punctuation ("blue!" once read as leetspeak "bluei")
    "she's turning blue!",
    "lips are blue!!",
    "i took too much!!",
    "help!! he's not breathing!!",
    "he's not breathing",
    # naloxone already given
    "should i give him narcan he isnt waking up",
    "gave her narcan but it's wearing off and she's going back out",
    "do i do cpr or recovery position",
    # Spanish
    "ella no respira",
    "mi amigo tuvo una sobredosis",
]

OVERDOSE_QUESTIONS = [
    # TAXONOMY: "what an overdose looks like" is routed overdose too
    "how do i know if someone is overdosing",
    "what are the signs of an overdose",
    "is he overdosing or just high",
    "what does an overdose feel like",
    "overdose",
    "od",
]


@pytest.mark.parametrize("text", OVERDOSE_NOW + OVERDOSE_QUESTIONS)
def test_overdose_messages_get_the_overdose_steps(core: Core, text: str) -> None:
    reply = core.handle(text, None)
    assert reply.route == "overdose", (text, reply.route, reply.intent)
    assert reply.intent == "overdose"
    assert reply.messages == core.topic("overdose", None).messages


CRISIS = [
    "i want to die",
    "i wanna die",
    "i want to kill myself",
    "kms",
    "thinking about ending it all",
    "i'm suicidal",
    "im sucidal",
    "i've been cutting myself again",
    "i keep hurting myself",
    "everyone would be better off without me",
    "i don't want to live anymore",
    "i can't do this anymore",
    "no reason to live",
    "i'm going to hang myself",
    "suicide",
    "my daughter said she wants to kill herself",
    "me quiero morir",
    "what's the point of living anymore",
    "nobody would care if i was gone",
    "i wish i could go to sleep and never wake up",
    "i just want everything to stop forever",
    "i want to die!",
    "i want to kill myself!!",
    "i'm a burden to everyone",
]


@pytest.mark.parametrize("text", CRISIS)
def test_suicidal_messages_get_the_crisis_reply(core: Core, text: str) -> None:
    reply = core.handle(text, "US")
    assert reply.route == "crisis", (text, reply.route, reply.intent)
    assert reply.messages == core.topic("suicide", "US").messages
    assert "988" in html_to_text(reply.messages[0])


@pytest.mark.parametrize(
    "text",
    [
        "i want to take all my pills so i dont wake up",
        "I want to shoot enough to not wake up",
        "he overdosed and i want to die",
    ],
)
def test_overdose_with_suicidal_intent_gets_both_numbers(core: Core, text: str) -> None:
    reply = core.handle(text, "GB")
    assert reply.route == "overdose"
    first = html_to_text(reply.messages[0])
    assert "999" in first  # the emergency comes first
    assert any("116 123" in html_to_text(m) for m in reply.messages[1:])  # then Samaritans


# --- new wordings found by blind test sets (once missed; now caught) ---------------------

NEW_OVERDOSE_WORDINGS = [
    "she hit the fent and dropped",
    "he dropped after the shot and wont come round",
    "he won't come round",  # UK: "come round" = regain consciousness
    "she's not coming round",
    "i can't rouse him",
    "he's purple",
    "i think he's dead",
    "is he dead? he used an hour ago",
    "he's having a seizure after using",
    "i feel like i'm dying after using",
    "i mixed benzos and heroin and i'm so sleepy",
    "i accidentally took my methadone twice today",
]


@pytest.mark.parametrize("text", NEW_OVERDOSE_WORDINGS)
def test_new_overdose_wordings_route_overdose(core: Core, text: str) -> None:
    assert core.handle(text, None).route == "overdose"


NEW_CRISIS_WORDINGS = [
    "i hate my life i want out",
    "i'm going to jump",
    "life isn't worth it",
    "i have a plan to end things",
    "tengo ganas de morir",
    "no aguanto mas",
]


@pytest.mark.parametrize("text", NEW_CRISIS_WORDINGS)
def test_new_crisis_wordings_are_urgent(core: Core, text: str) -> None:
    assert core.handle(text, None).route in URGENT


# --- the safety check reads the whole message -------------------------------------------


def test_an_overdose_buried_in_a_long_message_is_found(core: Core) -> None:
    story = "so we were at my mates place and everything was fine at first. " * 50
    text = story + "now he won't wake up and his lips are blue"
    assert len(text) > 3000
    assert core.handle(text, "AU").route == "overdose"


def test_an_overdose_at_the_start_of_a_message_over_telegram_length_is_found(core: Core) -> None:
    text = "he's not breathing. " + "please help me i don't know what to do. " * 150
    assert len(text) > 4096
    reply = core.handle(text, "GB")
    assert reply.route == "overdose"
    assert "999" in html_to_text(reply.messages[0])


def test_safety_wins_over_a_topic_question_in_the_same_message(core: Core) -> None:
    text = "how long does withdrawal last, also my friend just collapsed after using"
    assert core.handle(text, None).route == "overdose"


def test_the_country_does_not_change_the_route(core: Core) -> None:
    for country in [None, *core.countries]:
        assert core.handle("my friend is not breathing", country).route == "overdose"
        assert core.handle("i want to kill myself", country).route == "crisis"


# --- questions that mention overdose but are not emergencies -----------------------------


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("will i get arrested if i call 911 for an overdose", "good_samaritan"),
        ("can i get in trouble for calling an ambulance if my friend overdoses", "good_samaritan"),
        ("is naloxone safe", "naloxone"),
        ("does narcan work on fentanyl overdose", "naloxone"),
    ],
)
def test_questions_about_calling_or_naloxone_get_that_answer(
    core: Core, text: str, intent: str
) -> None:
    reply = core.handle(text, "US")
    assert reply.route == "answer"
    assert reply.intent is not None and reply.intent.startswith(intent)


def test_the_police_question_still_shows_the_emergency_number(core: Core) -> None:
    reply = core.handle("will i get arrested if i call for an overdose", "AU")
    assert "000" in html_to_text(reply.messages[0])


def test_an_exempted_naloxone_question_still_shows_the_emergency_number(core: Core) -> None:
    reply = core.handle("is naloxone safe to give during an overdose", "GB")
    assert reply.route == "answer"
    assert "999" in html_to_text(reply.messages[0])


# --- look-alikes: everyday language is not an emergency -----------------------------------

LOOK_ALIKES = [
    "overdosed on netflix lol",
    "i'm dying of laughter",
    "this song is dope",
    "my phone battery is dying",
    "my battery died",
    "overdid it at the gym",
    "how do i make a withdrawal at the bank",
    "killing it today",
    "he killed it at karaoke",
    "this heat is killing me",
    "i could kill for a pizza",
    "i'm dead lol",
    "the movie was killer",
    "i want to quit smoking",
    "my laptop is not responding",
    "my plant is dying",
    "i'm feeling blue today",
    "blue slushie",
    "my kid won't wake up for school",
    "we fell out over money",
    "cutting onions makes me cry",
    "breathing exercises for anxiety",
    "overdue library book",
    "he keeps lying to me about using",
]


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_everyday_look_alikes_are_not_emergencies(core: Core, text: str) -> None:
    assert core.handle(text, None).route not in URGENT, text


# --- a message that is only a plea ------------------------------------------------------


@pytest.mark.parametrize("text", ["help him", "HELP HER!!", "someone help", "please help him"])
def test_a_bare_plea_for_someone_else_is_an_emergency(core: Core, text: str) -> None:
    reply = core.handle(text, "US")
    assert reply.route == "overdose"
    assert "911" in html_to_text(reply.messages[0])


@pytest.mark.parametrize("text", ["how do i help him", "help him quit", "can you help her stop"])
def test_a_plea_inside_a_question_is_not_an_emergency(core: Core, text: str) -> None:
    assert core.handle(text, "US").route not in URGENT
