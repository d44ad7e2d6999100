"""429 pauses that hold (issue 14, item 5; PTB issue #5338), through the real Application.

A 429 pauses its chat; 429s for two chats at once are a global flood wait that pauses every
send, including one that was already in flight when the 429 came; when the pause ends the
emergency message goes first.
"""

from __future__ import annotations

from conftest import texts

A, B, C = 6001, 6002, 6003
OVERDOSE_TEXT = "my friend took heroin and won't wake up"
QUESTION = "how long does withdrawal last"
RETRY_AFTER = 2


async def test_a_flood_wait_holds_for_sends_in_flight_and_the_emergency_goes_first(
    api, core, bot
):
    emergency = core.handle(OVERDOSE_TEXT, None)
    answer = core.handle(QUESTION, None)
    release = api.hold_next("sendMessage", lambda params: params["chat_id"] == A)
    api.text(A, QUESTION)
    api.text(A, QUESTION)  # A's second reply waits behind its first, which is in flight
    await api.wait_for_calls("sendMessage", 1)
    api.fail_next("sendMessage", 429, times=2, retry_after=RETRY_AFTER)
    api.text(C, QUESTION)
    await api.wait_for(lambda a: any(c.outcome == "429" for c in a.calls_of("sendMessage")))
    api.text(B, OVERDOSE_TEXT)  # a second chat limited at once: a bot-wide flood wait
    await api.wait_for(lambda a: api.pending_failures("sendMessage") == 0)
    limited = [c for c in api.calls_of("sendMessage") if c.outcome == "429"]
    release.set()  # the request in flight completes during the pause (PTB #5338 released it)

    await api.wait_for_sent(A, 2 * len(answer.messages))
    await api.wait_for_sent(B, len(emergency.messages))
    await api.wait_for_sent(C, len(answer.messages))
    after = [c for c in api.calls_of("sendMessage") if c.seq > limited[-1].seq]
    # nothing was sent before the pause was over, not even A's next message...
    assert all(c.at - limited[-1].at >= RETRY_AFTER for c in after)
    # ...and then the emergency number went first
    assert after[0].params["chat_id"] == B and after[0].text == emergency.messages[0]
    assert texts(api.sent_to(B)) == list(emergency.messages)
    assert texts(api.sent_to(A)) == list(answer.messages) * 2
    assert texts(api.sent_to(C)) == list(answer.messages)


async def test_a_429_for_one_chat_pauses_that_chat_only(api, core, bot):
    answer = core.handle(QUESTION, None)
    api.fail_next("sendMessage", 429, retry_after=RETRY_AFTER)
    api.text(A, QUESTION)
    await api.wait_for(lambda a: api.pending_failures("sendMessage") == 0)
    [limited] = [c for c in api.calls_of("sendMessage") if c.outcome == "429"]
    api.text(C, QUESTION)
    await api.wait_for_sent(C, len(answer.messages))
    await api.wait_for_sent(A, len(answer.messages))
    first_c = api.sent_to(C)[0]
    first_a_after = next(c for c in api.sent_to(A) if c.seq > limited.seq)
    assert first_a_after.at - limited.at >= RETRY_AFTER  # A waited out its pause
    assert first_c.seq < first_a_after.seq  # C was not held up by A's pause
