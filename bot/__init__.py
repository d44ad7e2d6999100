"""recovery-bot: checked, sourced answers for people affected by opioid use.

The folders follow the path of a message (text -> understand -> reply), content beside it,
the conversation and the shells on top:

- ``text/``: Unicode folding, tokens, normalising (typos, slang, disguises); once per message
- ``content/``: the YAML a content editor owns, loaded and validated once (file:line errors)
- ``understand/``: safety rules + learned safety model, matcher (words and meaning),
  language, countries, and the one classification per message (``classify.py``)
- ``reply/``: the Reply object, placeholders filled per country, the pre-built catalogue
- ``training/``: ``recovery-bot train-safety`` (the learned safety layer; train time only)
- ``store/``: the state store (SQLite by default, PostgreSQL for replicas); no message text
- ``telegram/``: the Telegram shell (PTB application, handlers, delivery, health)
- ``core.py``: content + understanding + catalogue, built once
- ``conversation.py``: event + user state -> replies + effects; both shells drive it
- ``commands.py``: the one command table
- ``console.py``, ``cli.py``, ``evaluate.py``: the terminal shell and tools
"""
