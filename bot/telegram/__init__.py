"""The Telegram shell: renders the core's Replies with python-telegram-bot.

- ``app``: ``build_application`` / ``serve`` / ``run`` (entry point of ``recovery-bot run``)
- ``handlers``: commands, free text, button presses, non-text messages
- ``shell``: what handlers share (core, delivery, replies built from the core)
- ``delivery``: sending a Reply in order, with retries and quiet drops
- ``keyboards``: inline keyboards from the core's buttons
- ``filters``: which group messages are addressed to the bot
- ``concurrency``: concurrent across chats, ordered within a chat, emergencies first
- ``persistence``: the user's country (and nothing else) across restarts
- ``commands``: the command menu
- ``config``: environment settings and token checks
- ``errors``: the error handler
- ``logging_setup``: token redaction and content-free logs
"""
