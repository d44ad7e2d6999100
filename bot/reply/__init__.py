"""Replies: the plain objects the core returns and both shells render.

- ``model.py``: ``Reply`` and ``Button``.
- ``render.py``: a country's numbers filled into a reply's placeholders.
- ``catalogue.py``: every (topic, country) reply built once at start-up.
"""
