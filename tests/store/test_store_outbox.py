"""The outbox tables (bot/store/outbox.py) on SQLite and PostgreSQL: rows in order, urgent
first, never text; a chat's lease held by one store at a time, taken over once it expires."""

from __future__ import annotations

import pytest

from bot.store.outbox import OutboxRow

SECOND = 1_000_000


def row(chat: int, part: int, *, urgent: bool = False, key: str = "r1", parts: int = 3,
        at: int = SECOND) -> OutboxRow:
    return OutboxRow(chat, urgent, "overdose" if urgent else "answer", key, part, parts,
                     f"t/overdose/-/en/{part}", "", at, at)


async def test_rows_come_back_urgent_first_then_in_the_order_queued(backend):
    store = backend.open()
    await store.outbox_add([row(7, 0, key="a", parts=2), row(7, 1, key="a", parts=2)])
    await store.outbox_add([row(7, p, urgent=True, key="b") for p in range(3)])
    got = await store.outbox_rows(7)
    assert [(r.reply_key, r.part) for r in got] == [
        ("b", 0), ("b", 1), ("b", 2), ("a", 0), ("a", 1)]
    await store.outbox_done([got[0].id])
    await store.outbox_retry(got[1].id, 3, 9 * SECOND)
    await store.outbox_doubt("b")
    again = await store.outbox_rows(7)
    assert [(r.reply_key, r.part) for r in again][:2] == [("b", 1), ("b", 2)]
    assert again[0].attempts == 3 and again[0].not_before == 9 * SECOND
    assert all(r.doubtful for r in again if r.reply_key == "b")
    assert not any(r.doubtful for r in again if r.reply_key == "a")
    assert await store.outbox_drop_chat(7) == 4
    assert await store.outbox_size() == 0


async def test_rows_survive_closing_and_opening_the_store(backend):
    store = backend.open()
    await store.outbox_add([row(8, p) for p in range(3)])
    await store.close()
    again = backend.open()
    assert [r.part for r in await again.outbox_rows(8)] == [0, 1, 2]


def test_a_row_holds_references_never_text():
    with pytest.raises(ValueError, match="never free text"):
        OutboxRow(1, False, "answer", "k", 0, 1, "my friend is not breathing", "", 0, 0)
    with pytest.raises(ValueError, match="never free text"):
        OutboxRow(1, False, "answer", "k", 0, 1, "t/x/-/en/0", "Call me maybe=intent:x", 0, 0)


async def test_one_store_at_a_time_sends_a_chat_and_a_dead_ones_lease_is_taken_over(backend):
    first, second = backend.open(), backend.open()
    await first.outbox_add([row(9, 0, urgent=True), row(10, 0)])
    now = 100 * SECOND
    assert await first.outbox_lease(9, now, now + 30 * SECOND)
    assert not await second.outbox_lease(9, now + SECOND, now + 31 * SECOND)
    assert [chat for chat, _ in await second.outbox_chats(now + SECOND)] == [10]
    assert await first.outbox_lease(9, now + 2 * SECOND, now + 32 * SECOND)  # renewed
    # the first store dies: nobody renews, the lease runs out, the second takes over
    later = now + 33 * SECOND
    assert [chat for chat, _ in await second.outbox_chats(later)] == [9, 10]  # urgent first
    assert await second.outbox_lease(9, later, later + 30 * SECOND)
    assert not await first.outbox_lease(9, later + SECOND, later + 31 * SECOND)
    await second.outbox_release()
    assert await first.outbox_lease(9, later + SECOND, later + 31 * SECOND)
