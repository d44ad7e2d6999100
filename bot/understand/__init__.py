"""Understanding a message: safety first, then what it asks.

- ``safety.py``: the overdose and crisis rules (``safety/`` content folder).
- ``matcher.py``: fuzzy and word-overlap matching of the message against the intents' examples.
- ``countries.py``: a country named, flagged or implied ("i'm in the uk").
- ``classify.py``: one decision per message (route, intent), with thresholds from ``tuning.yaml``.
"""
