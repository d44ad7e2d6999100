"""Polling confirms an update to Telegram only once it has been handled (bot/telegram/confirm.py):
an update still being handled when the process dies is sent again after the restart, so a
kill -9 loses no message (the fault soak in benchmarks/ measures it end to end)."""

from __future__ import annotations

from conftest import TOKEN
from telegram import Bot

from bot.telegram.confirm import HandledOffsets
from bot.telegram.logging_setup import install_log_protection, register_secret
from bot.telegram.updates import TolerantUpdatesRequest


def polling_bot(api, offsets: HandledOffsets) -> Bot:
    register_secret(TOKEN)  # as `recovery-bot run` does: the token never reaches a log
    install_log_protection()
    request = TolerantUpdatesRequest(connection_pool_size=1, offsets=offsets)
    return Bot(TOKEN, base_url=api.base_url, get_updates_request=request)


def asked_offsets(api) -> list[int]:
    return [int(call.params.get("offset") or 0) for call in api.calls_of("getUpdates")]


async def test_an_update_being_handled_stays_unconfirmed_until_it_is_handled(api):
    first, second, third = (api.text(100 + n, f"message {n}") for n in range(3))
    offsets = HandledOffsets()
    async with polling_bot(api, offsets) as bot:
        batch = await bot.get_updates(timeout=0)
        assert [u.update_id for u in batch] == [first, second, third]
        offsets.handled(batch[0])  # the first is answered; the other two are still running
        # PTB asks past the whole batch; the bot asks from the oldest unanswered one, and
        # what comes back again is not handed to PTB twice
        assert await bot.get_updates(offset=third + 1, timeout=0) == ()
        assert asked_offsets(api)[-1] == second

    # the process dies here: a new one is sent the two unanswered updates again
    restarted = HandledOffsets()
    async with polling_bot(api, restarted) as bot:
        again = await bot.get_updates(offset=0, timeout=0)
        assert [u.update_id for u in again] == [second, third]
        for update in again:
            restarted.handled(update)
        assert await bot.get_updates(offset=third + 1, timeout=0) == ()
        assert asked_offsets(api)[-1] == third + 1  # both answered: confirmed
        assert await bot.get_updates(offset=third + 1, timeout=0) == ()  # none come back


async def test_a_new_update_behind_one_being_handled_is_passed_on_once(api):
    slow = api.text(200, "slow one")
    offsets = HandledOffsets()
    async with polling_bot(api, offsets) as bot:
        assert [u.update_id for u in await bot.get_updates(timeout=0)] == [slow]
        fresh = api.text(201, "next one")
        got = await bot.get_updates(offset=slow + 1, timeout=0)
        assert [u.update_id for u in got] == [fresh]  # the slow one is not repeated
        assert asked_offsets(api)[-1] == slow
        assert offsets.pending == 2
