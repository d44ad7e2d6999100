"""Telegram's HTML subset: check it the way the Bot API does, and turn it into plain text."""

from __future__ import annotations

import html
import re
from functools import lru_cache
from html.parser import HTMLParser

ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
    "a", "code", "pre", "blockquote", "tg-emoji",
}
ALLOWED_ATTRS = {"a": {"href"}, "span": {"class"}, "code": {"class"}, "blockquote": {"expandable"},
                 "tg-emoji": {"emoji-id"}}
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#\d{1,7}|#x[0-9a-fA-F]{1,6});")
MAX_MESSAGE_CHARS = 4096


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}> is not allowed by Telegram")
            return
        for name, value in attrs:
            if name not in ALLOWED_ATTRS.get(tag, set()):
                self.problems.append(f"attribute {name!r} is not allowed on <{tag}>")
            if tag == "span" and name == "class" and value != "tg-spoiler":
                self.problems.append('<span> needs class="tg-spoiler"')
        if tag == "a" and not dict(attrs).get("href"):
            self.problems.append("<a> needs an href")
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.problems.append(f"self-closing <{tag}/> is not allowed by Telegram")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> does not close the open tag")
            return
        self.stack.pop()

    def handle_entityref(self, name: str) -> None:
        if name not in {"lt", "gt", "amp", "quot"}:
            self.problems.append(f"entity &{name}; is not supported by Telegram")

    def handle_comment(self, data: str) -> None:
        self.problems.append("HTML comments are not allowed")

    def handle_decl(self, decl: str) -> None:
        self.problems.append("declarations are not allowed")

    def unknown_decl(self, data: str) -> None:
        self.problems.append("declarations are not allowed")


# The markup the content uses: <tag>, </tag> (allowed tags), <a href="..."> and the four
# named entities. When every '<' and '&' of a text starts one of these (each match holds
# exactly one of them, so counting is enough), HTMLParser would make exactly these calls:
# tags are lower case, an href holds no quote, space, '<', '>' or '&', and no allowed tag
# switches the parser to CDATA mode. The bare '&' and '<' checks cannot fire on such a text.
# tests/test_html_format.py compares both ways on every content text and on malformed ones.
_SIMPLE = re.compile(r'<(/?)([a-z]+)>|<a href="([^"<>&\s]*)">|&(lt|gt|amp|quot);')
_Token = tuple[str, str, str, str]


def _simple_tokens(text: str) -> tuple[_Token, ...] | None:
    """The markup of ``text`` if it is only the simple forms above and allowed tags."""
    found = _SIMPLE.findall(text)
    if len(found) != text.count("<") + text.count("&"):
        return None
    if any(tag and tag not in ALLOWED_TAGS for _, tag, _, _ in found):
        return None
    return tuple(found)


def _feed_simple(checker: _Checker, tokens: tuple[_Token, ...]) -> None:
    """Give ``checker`` the calls HTMLParser would make for these tokens."""
    for slash, tag, href, entity in tokens:
        if entity:
            checker.handle_entityref(entity)
        elif not tag:  # <a href="...">
            checker.handle_starttag("a", [("href", href)])
        elif slash:
            checker.handle_endtag(tag)
        else:
            checker.handle_starttag(tag, [])


@lru_cache(maxsize=4096)
def _markup_problems(tokens: tuple[_Token, ...]) -> tuple[str, ...]:
    """The checker's problems and the never-closed tag for this markup (many texts share
    theirs: the same reply for each country)."""
    checker = _Checker()
    _feed_simple(checker, tokens)
    closed = [f"<{checker.stack[-1]}> is never closed"] if checker.stack else []
    return (*checker.problems, *closed)


def html_problems(text: str) -> list[str]:
    """Reasons Telegram would refuse ``text`` with parse_mode=HTML (empty list if fine)."""
    tokens = _simple_tokens(text)
    problems = _parsed_problems(text) if tokens is None else list(_markup_problems(tokens))
    plain = html_to_text(text)
    if not plain.strip():
        problems.append("message is empty")
    if len(plain) > MAX_MESSAGE_CHARS:
        problems.append(f"message is {len(plain)} characters, over Telegram's {MAX_MESSAGE_CHARS}")
    return problems


def _parsed_problems(text: str) -> list[str]:
    """The bare '&' and '<' checks and HTMLParser's verdict (any markup)."""
    problems: list[str] = []
    for match in re.finditer(r"&", text):
        if not _ENTITY.match(text, match.start()):
            problems.append("a bare '&' must be written &amp;")
            break
    if re.search(r"<(?![a-zA-Z/])", text):
        problems.append("a bare '<' must be written &lt;")
    checker = _Checker()
    checker.feed(text)
    checker.close()
    problems.extend(checker.problems)
    if checker.stack:
        problems.append(f"<{checker.stack[-1]}> is never closed")
    return problems


_TAG = re.compile(r"<[^>]*>")
_LINK = re.compile(r'<a\s+href="([^"]*)"\s*>(.*?)</a>', re.S)


def html_to_text(text: str) -> str:
    """Plain text as a person would read the message (links keep their address)."""

    def link(m: re.Match[str]) -> str:
        label, href = m.group(2), html.unescape(m.group(1))
        return label if href in html.unescape(label) else f"{label} ({href})"

    return html.unescape(_TAG.sub("", _LINK.sub(link, text)))
