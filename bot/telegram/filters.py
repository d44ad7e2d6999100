"""Which messages are meant for the bot: everything in a private chat; in groups only
messages that mention the bot or reply to it (commands are routed by PTB's CommandHandler)."""

from __future__ import annotations

import re

from telegram import Message, MessageEntity
from telegram.constants import ChatType
from telegram.ext import filters


class AddressedToBot(filters.MessageFilter):
    __slots__ = ()

    def filter(self, message: Message) -> bool:
        if message.chat.type == ChatType.PRIVATE:
            return True
        bot = message.get_bot()
        replied = message.reply_to_message
        if replied is not None and replied.from_user is not None and replied.from_user.id == bot.id:
            return True
        mention = f"@{bot.username}".lower()
        mentions = {
            **message.parse_entities([MessageEntity.MENTION]),
            **message.parse_caption_entities([MessageEntity.MENTION]),
        }
        return any(text.lower() == mention for text in mentions.values())


ADDRESSED_TO_BOT = AddressedToBot(name="AddressedToBot")


def without_bot_mention(text: str, bot_username: str | None) -> str:
    """``text`` with ``@bot_username`` removed (so the core sees only the question)."""
    if not bot_username:
        return text.strip()
    return re.sub(rf"@{re.escape(bot_username)}\b", " ", text, flags=re.IGNORECASE).strip()
