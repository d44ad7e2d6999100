"""Text: what every message goes through first, once.

- ``unicode_fold.py``: NFKC, zero-width and control characters, look-alike letters, accents.
- ``normalize.py``: tokens, leetspeak, squeezed and spaced letters, typos, slang.
- ``wordlist.py``: the English word list that keeps real words from being "corrected".
"""
