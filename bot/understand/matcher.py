"""Fuzzy intent matching over the normalised example phrases.

Three signals, each 0-100, are blended per intent:
- ``example``: the best match against one of the intent's examples (those sharing a word
  with the message, at most ``POSTINGS_CAP`` per word), half character
  level (rapidfuzz ``token_sort_ratio``: typos and word order) and half word level
  (IDF-weighted Dice overlap: shared meaningful words count, extra words cost, and a
  one-word example does not score 100 against every message that contains its word);
- ``overlap``: how much of the message's meaningful words the intent's vocabulary
  covers, weighted by how specific each word is (IDF over intents);
- ``keyword``: whether the message names one of the intent's keywords.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bot.text.normalize import Normalised, Normaliser

W_EXAMPLE, W_OVERLAP, W_KEYWORD = 0.50, 0.30, 0.20
MAX_QUERY_TOKENS = 60
SORT_CUTOFF = 30
CHAR_CANDIDATES = 40  # closest examples by characters considered per message
SHARED_CANDIDATES = 80  # examples sharing the most meaningful words considered per message
POSTINGS_CAP = 64  # examples looked at per word of the message
FALLBACK_PER_INTENT = 16  # examples per intent compared when no word is shared


@dataclass(frozen=True, slots=True)
class Match:
    scores: tuple[tuple[str, float], ...]  # best first
    in_scope: bool  # False: the message looks like another subject entirely
    known: float = 1.0  # share (0-1) of the message's meaningful words any topic uses
    vague: bool = False  # only words like "info", "what now", "tell me more"

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
                 out_of_scope: Iterable[str], domain: Iterable[str],
                 vague: Iterable[str] = ()):
        self.vague = frozenset(t for w in vague for t in normalise(w).tokens)
        self.stopwords = frozenset(t for w in stopwords for t in normalise(w).tokens)
        self.intents = tuple(sorted(examples))
        self.out_of_scope = tuple(p for p in (normalise(w).tokens for w in out_of_scope) if p)
        self._out_of_scope: dict[str, list[tuple[str, ...]]] = defaultdict(list)  # by 1st word
        for phrase in self.out_of_scope:
            self._out_of_scope[phrase[0]].append(phrase)
        self.domain = frozenset(t for w in domain for t in normalise(w).words)

        texts: list[str] = []
        token_sets: list[frozenset[str]] = []
        owners: list[int] = []
        vocab: dict[str, set[str]] = defaultdict(set)
        for n, intent in enumerate(self.intents):
            for example in examples[intent]:
                tokens = self._content(normalise(example).tokens)
                texts.append(" ".join(tokens))
                token_sets.append(frozenset(tokens))
                owners.append(n)
                vocab[intent].update(tokens)
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
        self._intents_with: dict[str, list[int]] = defaultdict(list)
        for i, intent in enumerate(self.intents):
            for word in vocab.get(intent, ()):
                self._intents_with[word].append(i)

        self._texts = [" ".join(sorted(t.split())) for t in texts]  # for token_sort_ratio
        self._owners = owners
        self._weights = [sum(self._idf[t] for t in ts) for ts in token_sets]
        self._token_sets = token_sets
        self._postings = self._capped_postings(token_sets)
        # With no word in common, compare characters against a fixed sample per intent.
        firsts: dict[int, list[int]] = defaultdict(list)
        for i, owner in enumerate(owners):
            if len(firsts[owner]) < FALLBACK_PER_INTENT:
                firsts[owner].append(i)
        self._fallback_pool = [i for group in firsts.values() for i in group]

        # A keyword shared by several topics' keyword lists says less about each.
        owners_of: dict[tuple[str, ...], set[int]] = defaultdict(set)
        for kw, owner in keyword_tokens:
            owners_of[kw].add(owner)
        # So does a keyword made only of words that many topics' examples use ("heroin").
        self._keywords: dict[str, list[tuple[tuple[str, ...], int, float]]] = defaultdict(list)
        for kw, owner in keyword_tokens:
            weight = 100.0 / len(owners_of[kw]) * self._specificity(kw)
            self._keywords[kw[0]].append((kw, owner, weight))

    def _capped_postings(self, token_sets: list[frozenset[str]]) -> dict[str, list[int]]:
        """For each word, the examples to consider when a message has it: at most
        ``POSTINGS_CAP``, taken in turn from every intent that uses the word, shortest
        distinct examples first. The cost per message then stays flat as content grows."""
        by_word: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
        for i, ts in enumerate(token_sets):
            for t in ts:
                by_word[t][self._owners[i]].append(i)
        postings: dict[str, list[int]] = {}
        for word, groups in by_word.items():
            ranked = []
            for members in groups.values():
                seen: set[frozenset[str]] = set()
                distinct, repeats = [], []
                for i in sorted(members, key=lambda i: (self._weights[i], i)):
                    (repeats if token_sets[i] in seen else distinct).append(i)
                    seen.add(token_sets[i])
                ranked.append(distinct + repeats)
            turns = itertools.zip_longest(*ranked)
            postings[word] = [i for row in turns for i in row if i is not None][:POSTINGS_CAP]
        return postings

    def _specificity(self, phrase: Sequence[str]) -> float:
        best = max(self._idf.get(t, self._unknown_idf) for t in phrase)
        return min(1.0, 2.0 * best / self._unknown_idf)

    def _content(self, tokens: Sequence[str]) -> list[str]:
        kept = [t for t in tokens if t not in self.stopwords]
        return kept or list(tokens)

    def in_scope(self, message: Normalised) -> bool:
        """False when the message names another subject (``out_of_scope`` words: smoking, a
        bank account, homework) and no drug word."""
        present = set(message.tokens)
        other_subject = any(contains_phrase(message.tokens, p)
                            for first in present & self._out_of_scope.keys()
                            for p in self._out_of_scope[first])
        return not other_subject or bool(set(message.words) & self.domain)

    def match(self, message: Normalised, limit: int = 5) -> Match:
        tokens = self._content(message.tokens)[:MAX_QUERY_TOKENS]
        if not tokens:
            return Match((), in_scope=False)
        n = len(self.intents)
        unique = list(dict.fromkeys(tokens))
        weights = {t: self._idf.get(t, self._unknown_idf) for t in unique}
        query_weight = sum(weights.values())

        # Candidates: the examples sharing a word with the message (capped per word).
        # Shared weight from the capped postings: fast, and exact enough to rank candidates;
        # the ones kept are then scored exactly (`_dice`).
        shared: dict[int, float] = defaultdict(float)
        for t, w in weights.items():
            for i in self._postings.get(t, ()):
                shared[i] += w
        candidates = list(shared)
        dice = {i: 200.0 * w / (query_weight + self._weights[i]) for i, w in shared.items()}
        sorted_query = " ".join(sorted(tokens))
        # Character level (typos, word order): the closest candidates, or, when no word is
        # shared (a typo the normaliser could not fix), the closest examples overall.
        pool = candidates or self._fallback_pool
        texts = [self._texts[i] for i in pool]
        char_level = {pool[j]: score for _, score, j in process.extract(
            sorted_query, texts, scorer=fuzz.ratio, limit=CHAR_CANDIDATES,
            score_cutoff=SORT_CUTOFF)}
        best_shared = sorted(dice, key=dice.__getitem__, reverse=True)[:SHARED_CANDIDATES]
        example = [0.0] * n
        pairs = list(weights.items())
        token_sets, examples, owners, sizes = (self._token_sets, self._texts, self._owners,
                                               self._weights)
        for i in char_level.keys() | set(best_shared):
            char = char_level.get(i)
            if char is None:
                char = fuzz.ratio(sorted_query, examples[i])
            words = token_sets[i]
            exact = sum([w for t, w in pairs if t in words])  # same order: same float sum
            score = (200.0 * exact / (query_weight + sizes[i]) + char) / 2.0
            owner = owners[i]
            if score > example[owner]:
                example[owner] = score

        overlap = [0.0] * n
        for t, w in weights.items():
            for i in self._intents_with.get(t, ()):
                overlap[i] += 100.0 * w / query_weight

        keyword = [0.0] * n
        present = set(message.tokens)
        for first in present:
            for kw, owner, weight in self._keywords.get(first, ()):
                if weight > keyword[owner] and contains_phrase(message.tokens, kw):
                    keyword[owner] = weight

        total = [W_EXAMPLE * e + W_OVERLAP * o + W_KEYWORD * k
                 for e, o, k in zip(example, overlap, keyword, strict=True)]
        order = sorted(range(n), key=lambda i: -total[i])[:limit]
        scores = tuple((self.intents[i], round(total[i], 1)) for i in order)
        in_scope = self.in_scope(message)
        known = sum(w for t, w in weights.items() if t in self._intents_with) / query_weight
        vague = not any(keyword) and all(
            t in self.vague or t in self.stopwords for t in message.tokens)
        return Match(scores, in_scope=in_scope, known=known, vague=vague)


def contains_phrase(tokens: Sequence[str], phrase: Sequence[str]) -> bool:
    """``phrase`` (normalised tokens) is a run of ``tokens``."""
    size = len(phrase)
    if size == 1:
        return phrase[0] in tokens
    return any(tuple(tokens[i:i + size]) == tuple(phrase) for i in range(len(tokens) - size + 1))
