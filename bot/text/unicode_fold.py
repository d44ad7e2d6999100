"""Unicode folding: what a message looks like once disguises are taken off.

NFKC, casefold, invisible and control characters removed, look-alike letters of other
scripts folded to Latin, accents dropped, keycap digits read as digits. The first step of
``bot.text.normalize``; a module of its own because its tables are long.
"""

from __future__ import annotations

import re
import unicodedata

MAX_CHARS = 12_000  # Telegram caps messages at 4,096; anything longer is cut, not rejected

# Capital letters of other scripts that look like Latin capitals. Folded before
# lower-casing (Greek "Η" is an H, but its lower case "η" looks like an n), both before
# and after NFKC (which turns a bold "𝚮" into "Η", and a lunate "ϲ" into "ς").
_UPPER_CONFUSABLES = str.maketrans(
    {
        "Α": "A",
        "Β": "B",
        "Ε": "E",
        "Ζ": "Z",
        "Η": "H",
        "Ι": "I",
        "Κ": "K",
        "Μ": "M",
        "Ν": "N",
        "Ο": "O",
        "Ρ": "P",
        "Τ": "T",
        "Υ": "Y",
        "Χ": "X",
        "Ϲ": "C",
        "Ϳ": "J",
        "А": "A",
        "В": "B",
        "Е": "E",
        "Ѕ": "S",
        "І": "I",
        "Ј": "J",
        "К": "K",
        "М": "M",
        "Н": "H",
        "О": "O",
        "Р": "P",
        "С": "C",
        "Т": "T",
        "У": "Y",
        "Х": "X",
        "Ү": "Y",
        "Һ": "H",
        "Ԛ": "Q",
        "Ԝ": "W",
        "Ꭺ": "A",
        "Ᏼ": "B",
        "Ꮯ": "C",
        "Ꭼ": "E",
        "Ꮐ": "G",
        "Ꮋ": "H",
        "Ꭻ": "J",
        "Ꮶ": "K",
        "Ꮮ": "L",
        "Ꮇ": "M",
        "Ꮲ": "P",
        "Ꮪ": "S",
        "Ꭲ": "T",
        "Ꮩ": "V",
        "Ꮃ": "W",
        "Ꮓ": "Z",
        "ϲ": "c",
        "ς": "s",  # lunate sigma: NFKC makes it a final sigma, then "σ"
    }
)
# Letters that look like Latin ones (lower case: casefold runs first): Cyrillic, Greek,
# Armenian, IPA and the small capitals "fancy text" keyboards use.
_CONFUSABLES = str.maketrans(
    {
        # Cyrillic
        "а": "a",
        "в": "b",
        "г": "r",
        "е": "e",
        "ё": "e",
        "є": "e",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "п": "n",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "ү": "y",
        "х": "x",
        "ш": "w",
        "ѕ": "s",
        "і": "i",
        "ї": "i",
        "ј": "j",
        "ԁ": "d",
        "һ": "h",
        "ӏ": "l",
        "ԛ": "q",
        "ԝ": "w",
        "ь": "b",
        "ҽ": "e",
        "ѵ": "v",
        "ѡ": "w",
        "ҫ": "c",
        # Greek
        "α": "a",
        "β": "b",
        "γ": "y",
        "δ": "d",
        "ε": "e",
        "η": "n",
        "ι": "i",
        "κ": "k",
        "μ": "u",
        "ν": "v",
        "ο": "o",
        "π": "n",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "ω": "w",
        "ς": "s",
        "σ": "o",
        "ϲ": "c",
        "ϳ": "j",
        # Armenian
        "ո": "n",
        "ս": "u",
        "օ": "o",
        "ց": "g",
        "հ": "h",
        "զ": "q",
        "ռ": "n",
        "ա": "w",
        # Latin letters with hooks and strokes that NFKD does not take apart, and IPA
        "ɑ": "a",
        "ɐ": "a",
        "ɓ": "b",
        "ƈ": "c",
        "ɗ": "d",
        "ɛ": "e",
        "ɡ": "g",
        "ɦ": "h",
        "ɩ": "i",
        "ı": "i",
        "ȷ": "j",
        "ʝ": "j",
        "ĸ": "k",
        "ɫ": "l",
        "ł": "l",
        "ɱ": "m",
        "ɲ": "n",
        "ŋ": "n",
        "ɵ": "o",
        "ø": "o",
        "ɽ": "r",
        "ʂ": "s",
        "ƭ": "t",
        "ʋ": "v",
        "ⱳ": "w",
        "ɣ": "y",
        "ƶ": "z",
        "ʐ": "z",
        "đ": "d",
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        # small capitals
        "ᴀ": "a",
        "ʙ": "b",
        "ᴄ": "c",
        "ᴅ": "d",
        "ᴇ": "e",
        "ꜰ": "f",
        "ɢ": "g",
        "ʜ": "h",
        "ɪ": "i",
        "ᴊ": "j",
        "ᴋ": "k",
        "ʟ": "l",
        "ᴍ": "m",
        "ɴ": "n",
        "ᴏ": "o",
        "ᴘ": "p",
        "ʀ": "r",
        "ꜱ": "s",
        "ᴛ": "t",
        "ᴜ": "u",
        "ᴠ": "v",
        "ᴡ": "w",
        "ʏ": "y",
        "ᴢ": "z",
        # letters in negative circles and squares (emoji-style; the outlined ones fold by NFKC)
        **{chr(0x1F150 + i): chr(97 + i) for i in range(26)},
        **{chr(0x1F170 + i): chr(97 + i) for i in range(26)},
    }
)
_KEYCAP = re.compile("([0-9#*])\ufe0f?\u20e3")  # keycap emoji: a digit in a box
_ASCII_CONTROLS = {c: "\n" if c in (10, 11, 12, 13) else " " for c in (*range(32), 127)}


_LOOKALIKE_KEYS = frozenset(chr(k) for k in _CONFUSABLES)
_RUN = re.compile(r"[^\W\d_]+")
_CYRILLIC_WORD = re.compile(r"[\u0400-\u04ff]+")


def _fold_lookalikes(text: str, table: dict[int, str]) -> str:
    """Look-alike letters folded to Latin, except in Cyrillic words of a Cyrillic message:
    "оvеr" (scripts mixed in a word) is a disguise, and so is "му гоммате" among Latin
    words; "дышит" is Russian and stays Russian. In a message that also has Latin letters, a
    Cyrillic word made only of look-alikes is folded; one with other letters ("друг") stays."""
    if not any("\u0400" <= ch <= "\u04ff" for ch in text):
        return text.translate(table)
    latin = any("a" <= ch.casefold() <= "z" for ch in text)
    keys = frozenset(chr(k) for k in table)

    def fold(match: re.Match[str]) -> str:
        word = match.group(0)
        if not _CYRILLIC_WORD.fullmatch(word):
            return word.translate(table)  # scripts mixed within the word
        if latin and all(ch in keys or ch.casefold() in _LOOKALIKE_KEYS for ch in word):
            return word.translate(table)
        return word

    return _RUN.sub(fold, text)


def clean_unicode(text: str) -> str:
    """NFKC, casefold, drop invisible/control characters, fold look-alikes and accents."""
    text = text[:MAX_CHARS]
    if text.isascii():  # the common case: no Unicode work needed
        return text.translate(_ASCII_CONTROLS).casefold()
    text = _KEYCAP.sub(r" \1 ", text)  # "took 5️⃣ pills", "took1️⃣too"
    text = unicodedata.normalize("NFKC", _fold_lookalikes(text, _UPPER_CONFUSABLES))
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat in ("Cf", "Cs", "Co", "Cn"):
            continue  # zero-width, bidi marks, surrogates, private use, unassigned
        if cat in ("Cc", "Zl", "Zp", "Zs"):
            out.append("\n" if ch in "\n\r\x0b\x0c\x85\u2028\u2029" else " ")
        else:
            out.append(ch)
    text = _fold_lookalikes(_fold_lookalikes("".join(out), _UPPER_CONFUSABLES).casefold(),
                            _CONFUSABLES)
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch))
