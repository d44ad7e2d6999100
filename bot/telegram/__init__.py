"""The Telegram shell: Updates in, the conversation's Outcomes out, with python-telegram-bot.

- ``app``: ``build_application`` / ``serve`` / ``run`` (entry point of ``recovery-bot run``)
- ``handlers``: one path for commands, text, buttons and media: event -> conversation -> send
- ``shell``: Update -> Event (classified once, reused by the handler), per-user context
- ``delivery``: sending a Reply in order, with retries and quiet drops
- ``keyboards``: inline keyboards from the core's buttons
- ``filters``: which group messages are addressed to the bot
- ``concurrency``: concurrent across chats, ordered within a chat, emergencies first
- ``persistence``: the user's country (and nothing else) across restarts
- ``commands``: the command menu per language, from the one command table
- ``config``: environment settings and token checks
- ``errors``: the error handler
- ``logging_setup``: token redaction and content-free logs
"""
