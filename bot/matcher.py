"""Fuzzy intent matching over the normalised example phrases.

Three signals, each 0-100, are blended per intent:
- ``fuzzy``: the best rapidfuzz score against one of the intent's examples
  (token_sort_ratio and token_set_ratio averaged, so word order and extra words
  matter less, while one-word messages are not given 100 for any superset);
- ``overlap``: how much of the message's meaningful words the intent's vocabulary
  covers, weighted by how specific each word is (IDF over intents);
- ``keyword``: whether the message names one of the intent's keywords.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bot.normalize import Normalised, Normaliser

W_FUZZY, W_OVERLAP, W_KEYWORD = 0.45, 0.35, 0.20
MAX_QUERY_TOKENS = 60


@dataclass(frozen=True, slots=True)
class Match:
    scores: tuple[tuple[str, float], ...]  # best first
    in_scope: bool  # False: the message looks like another subject entirely

    @property
    def top(self) -> tuple[str, float] | None:
        return self.scores[0] if self.scores else None


def parent_of(intent: str, required: Iterable[str]) -> str:
    """``naloxone_how_to_use`` -> ``naloxone`` (the longest required id that prefixes it)."""
    best = intent
    for rid in required:
        if intent.startswith(rid + "_") and (best == intent or len(rid) > len(best)):
            best = rid
    return best


class Matcher:
    def __init__(self, normalise: Normaliser, examples: Mapping[str, Sequence[str]],
                 keywords: Mapping[str, Sequence[str]], stopwords: Iterable[str],
                 out_of_scope: Iterable[str], domain: Iterable[str]):
        self.normalise = normalise
        self.stopwords = frozenset(t for w in stopwords for t in normalise(w).tokens)
        self.intents = tuple(sorted(examples))
        self.out_of_scope = tuple(p for p in (normalise(w).tokens for w in out_of_scope) if p)
        self.domain = frozenset(t for w in domain for t in normalise(w).words)

        texts: list[str] = []
        owners: list[int] = []
        vocab: dict[str, set[str]] = defaultdict(set)
        for n, intent in enumerate(self.intents):
            for example in examples[intent]:
                tokens = self._content(normalise(example).tokens)
                texts.append(" ".join(tokens))
                owners.append(n)
                vocab[intent].update(tokens)
        self._texts = texts
        self._owners = owners

        keyword_tokens: list[tuple[tuple[str, ...], int]] = []
        for n, intent in enumerate(self.intents):
            for kw in keywords.get(intent, ()):
                tokens = normalise(kw).tokens
                if tokens:
                    keyword_tokens.append((tokens, n))
                    vocab[intent].update(self._content(tokens))
        df: dict[str, int] = defaultdict(int)
        for words in vocab.values():
            for word in words:
                df[word] += 1
        total = len(self.intents)
        self._idf = {w: math.log(1 + total / c) for w, c in df.items()}
        self._unknown_idf = math.log(1 + total)
        self._vocab = {intent: frozenset(words) for intent, words in vocab.items()}
        # A keyword shared by several topics' keyword lists says less about each.
        owners_of: dict[tuple[str, ...], set[int]] = defaultdict(set)
        for kw, owner in keyword_tokens:
            owners_of[kw].add(owner)
        self._keywords = [(kw, owner, 100.0 / len(owners_of[kw]))
                          for kw, owner in keyword_tokens]

    def _content(self, tokens: Sequence[str]) -> list[str]:
        kept = [t for t in tokens if t not in self.stopwords]
        return kept or list(tokens)

    def match(self, message: Normalised, limit: int = 5) -> Match:
        tokens = self._content(message.tokens)[:MAX_QUERY_TOKENS]
        if not tokens:
            return Match((), in_scope=False)
        query = " ".join(tokens)
        n = len(self.intents)

        sort_scores = [0.0] * len(self._texts)
        for _, score, i in process.extract(query, self._texts, scorer=fuzz.token_sort_ratio,
                                           limit=None, score_cutoff=20):
            sort_scores[i] = score
        fuzzy = [0.0] * n
        for _, score, i in process.extract(query, self._texts, scorer=fuzz.token_set_ratio,
                                           limit=None, score_cutoff=20):
            owner = self._owners[i]
            blended = (score + sort_scores[i]) / 2.0
            if blended > fuzzy[owner]:
                fuzzy[owner] = blended

        unique = list(dict.fromkeys(tokens))
        weights = [self._idf.get(t, self._unknown_idf) for t in unique]
        total_weight = sum(weights) or 1.0
        overlap = [0.0] * n
        for i, intent in enumerate(self.intents):
            vocab = self._vocab.get(intent, frozenset())
            overlap[i] = 100.0 * sum(w for t, w in zip(unique, weights, strict=True)
                                     if t in vocab) / total_weight

        keyword = [0.0] * n
        present = set(message.tokens)
        for kw, owner, weight in self._keywords:
            if weight > keyword[owner] and kw[0] in present and _contains(message.tokens, kw):
                keyword[owner] = weight

        total = [W_FUZZY * f + W_OVERLAP * o + W_KEYWORD * k
                 for f, o, k in zip(fuzzy, overlap, keyword, strict=True)]
        order = sorted(range(n), key=lambda i: -total[i])[:limit]
        scores = tuple((self.intents[i], round(total[i], 1)) for i in order)
        other_subject = any(p[0] in present and _contains(message.tokens, p)
                            for p in self.out_of_scope)
        in_scope = not other_subject or bool(set(message.words) & self.domain)
        return Match(scores, in_scope=in_scope)


def _contains(tokens: Sequence[str], phrase: Sequence[str]) -> bool:
    size = len(phrase)
    if size == 1:
        return phrase[0] in tokens
    return any(tuple(tokens[i:i + size]) == tuple(phrase) for i in range(len(tokens) - size + 1))
