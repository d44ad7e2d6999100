"""Build a temporary content folder whose example phrases are multiplied x N.

The repo's content (responses, crisis lines, safety rules, synonyms) is copied unchanged; every
intent in ``intents/*.yaml`` keeps its id and keywords and gets ``(N - 1) * len(examples)``
synthetic variants of its own examples: deterministic mutations (adjacent word swaps, typos,
filler words, greetings and sign-offs) seeded by the intent id, so the same N always gives the
same folder. Used by ``bench_core.py`` to show how the cost of one message grows with content.

    python benchmarks/synth_content.py 10 /tmp/content-x10
"""

from __future__ import annotations

import random
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
CONTENT_FILES = ("responses.yaml", "crisis_lines.yaml", "synonyms.yaml", "tuning.yaml",
                 "telegram.yaml")
CONTENT_DIRS = ("safety", "translations")  # rules, bank, model; the translations
FILLERS = (
    "um",
    "like",
    "so",
    "please",
    "honestly",
    "really",
    "just",
    "actually",
    "pls",
    "ok",
    "basically",
    "literally",
    "kinda",
    "tbh",
)
PREFIXES = (
    "hi",
    "hey",
    "quick question",
    "sorry but",
    "can i ask",
    "hello",
    "so yeah",
    "im wondering",
    "random but",
)
SUFFIXES = ("thanks", "pls help", "asap", "anyone know", "thx", "?", "lol", "idk", "please")
KEYS = "qwertyuiopasdfghjklzxcvbnm"
MAX_TRIES = 50
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml: 2x faster at x100


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:  # dropped letter
        return word[:i] + word[i + 1 :]
    if kind == 1:  # transposed letters
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 2:  # doubled letter
        return word[:i] + word[i] + word[i:]
    pos = KEYS.find(word[i])  # neighbouring key (roughly)
    return word[:i] + (KEYS[(pos + 1) % len(KEYS)] if pos >= 0 else word[i]) + word[i + 1 :]


def mutate(phrase: str, rng: random.Random) -> str:
    words = phrase.split()
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(5)
        if kind == 0 and len(words) > 1:
            i = rng.randrange(len(words) - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
        elif kind == 1 and words:
            i = rng.randrange(len(words))
            words[i] = _typo(words[i], rng)
        elif kind == 2:
            words.insert(rng.randint(0, len(words)), rng.choice(FILLERS))
        elif kind == 3:
            words[:0] = rng.choice(PREFIXES).split()
        else:
            words.extend(rng.choice(SUFFIXES).split())
    return " ".join(words)


def variants(
    intent_id: str, examples: list[str], extra: int, seen: set[str], key: Callable[[str], str]
) -> list[str]:
    """``extra`` new phrases derived from ``examples`` (deterministic). A phrase whose
    normalised ``key`` is already in ``seen`` (any intent) is skipped, as the content check
    refuses one phrase under two intents."""
    rng = random.Random(f"{intent_id}:{extra}")
    out: list[str] = []
    tries = 0
    while len(out) < extra and tries < extra * MAX_TRIES:
        tries += 1
        phrase = mutate(examples[len(out) % len(examples)], rng)
        k = key(phrase)
        if k not in seen:
            seen.add(k)
            out.append(phrase)
    return out


def _key_function(source: Path) -> Callable[[str], str]:
    """The normalised form ``bot.content`` uses to find one example under two intents."""
    from bot.content.models import SynonymsFile
    from bot.text.normalize import Normaliser, to_tokens

    synonyms = SynonymsFile.model_validate(
        yaml.safe_load((source / "synonyms.yaml").read_text(encoding="utf-8"))
    )
    expand = Normaliser(synonyms.replace, ()).expand
    return lambda phrase: " ".join(expand(to_tokens(phrase)))


def build(factor: int, dest: Path, source: Path = REPO) -> dict[str, int]:
    """Write the x``factor`` content folder to ``dest``; return example counts."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in CONTENT_FILES:
        shutil.copy2(source / name, dest / name)
    for name in CONTENT_DIRS:
        shutil.copytree(source / name, dest / name, dirs_exist_ok=True)
    (dest / "intents").mkdir(exist_ok=True)
    key = _key_function(source)
    files = {
        path: yaml.safe_load(path.read_text(encoding="utf-8"))
        for path in sorted((source / "intents").glob("*.y*ml"))
    }
    seen = {key(e) for data in files.values() for i in data["intents"] for e in i["examples"]}
    before = after = 0
    for path, data in files.items():
        for intent in data["intents"]:
            examples = list(intent["examples"])
            before += len(examples)
            intent["examples"] = examples + variants(
                intent["id"], examples, (factor - 1) * len(examples), seen, key
            )
            after += len(intent["examples"])
        text = yaml.dump(data, Dumper=DUMPER, allow_unicode=True, sort_keys=False, width=10_000)
        (dest / "intents" / path.name).write_text(text, encoding="utf-8")
    return {"factor": factor, "examples_shipped": before, "examples": after}


if __name__ == "__main__":
    print(build(int(sys.argv[1]), Path(sys.argv[2])))
