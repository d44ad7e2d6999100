"""The HTML check's fast path gives exactly HTMLParser's verdicts.

``html_problems`` skips HTMLParser for a text whose markup is only simple tags, ``<a
href="...">`` and the four named entities (``_simple_tokens``). Here both ways are run on
every text the bot can send, every content string, malformed markup and random mutations of
real texts: where the fast path takes a text, it must give the same problems, in the same
order, as the bare '&' and '<' checks plus HTMLParser.
"""

from __future__ import annotations

import random

import pytest

from bot.content.html_format import (
    _markup_problems,
    _parsed_problems,
    _simple_tokens,
    html_problems,
)
from bot.core import Core


def by_parser(text: str) -> list[str]:
    """The bare '&' and '<' checks, HTMLParser and the never-closed tag."""
    return _parsed_problems(text)


def by_fast_path(text: str) -> list[str] | None:
    tokens = _simple_tokens(text)
    return None if tokens is None else list(_markup_problems(tokens))


MALFORMED = [
    "", " ", "plain", "a < b", "a<b", "<", ">", "&", "& b", "&amp", "&amp;", "&lt;&gt;&quot;",
    "&nbsp;", "&#38;", "&#x26;", "&AMP;", "<b>", "</b>", "<b></b>", "<b>x</i>", "<b><i>x</b></i>",
    "<b>x</b></b>", "<B>x</B>", "<b >x</b >", "<b/>", "<br>", "<br/>", "<p>x</p>", "</p>",
    "<script>x</script>", "<style><b></style>", "<a>x</a>", '<a href="">x</a>',
    '<a href="https://x.org/?a=1&amp;b=2">x</a>', '<a href="https://x.org">x</a>',
    "<a href='https://x.org'>x</a>", '<a href=https://x.org>x</a>', '<a  href="x">x</a>',
    '<a href="x" >x</a>', '<a href="x"/>', '<a title="x">x</a>', '<a href="x y">x</a>',
    '<span class="tg-spoiler">x</span>', "<span>x</span>", '<span class="no">x</span>',
    "<tg-spoiler>x</tg-spoiler>", "<code>x</code>", "<pre>x</pre>", "<blockquote>x</blockquote>",
    "<blockquote expandable>x</blockquote>", "<!-- c -->", "<!doctype html>", "<?pi?>",
    "<![CDATA[x]]>", "<b", "<b>x</b", "</", "</>", "<>", "<1>", "<b>&</b>", "x &amp y",
    "<i>note</i>\n\n<b>Call 911</b> now", "<u>x</u><s>y</s><em>z</em><strong>w</strong>",
    "<ins>x</ins><del>y</del><strike>z</strike>", "<b>\n</b>", "<b>x\n</b>\n<i>y</i>",
    "a" * 5000, "<b>" + "a" * 5000 + "</b>", "<b> </b>", "&lt;", "<a href=\"x\">", "</a>",
    "<b>x</b>&", "<b>x</b><", "<i>x</i><b", "<b><b><b>x</b></b></b>", "<code class=\"x\">y</code>",
]


@pytest.fixture(scope="module")
def texts(core: Core) -> list[str]:
    """Every filled text of the catalogue and every raw content text."""
    out: set[str] = set()
    for reply in (*core.catalogue.topics.values(), *core.catalogue.messages.values()):
        out.update(reply.messages)
    resp = core.content.responses
    for r in resp.responses.values():
        out.update((r.text, r.no_country_text or "", *r.more))
    for m in resp.messages.values():
        out.update((m.text, m.no_country_text or ""))
    for tr in core.content.translations.values():
        for t in tr.responses.values():
            out.update((t.text or "", t.no_country_text or "", *(t.more or ())))
        for m in tr.messages.values():
            out.update((m.text, m.no_country_text or ""))
    out.update(resp.formats.values())
    return sorted(out)


def test_content_texts_take_the_fast_path_with_the_parsers_verdict(texts: list[str]) -> None:
    fast = 0
    for text in texts:
        got = by_fast_path(text)
        if got is not None:
            fast += 1
            assert got == by_parser(text), text[:200]
    assert fast >= 0.9 * len(texts), (fast, len(texts))


def test_malformed_markup_same_verdict_or_parser() -> None:
    for text in MALFORMED:
        got = by_fast_path(text)
        if got is not None:
            assert got == by_parser(text), text


def test_mutated_texts_same_verdict(texts: list[str]) -> None:
    rng = random.Random(20261202)
    pieces = ["<", ">", "&", "/", '"', "'", " ", "=", "b", "a", "i", ";", "amp", "<b>", "</b>",
              "</i>", "<a>", '<a href="x">', "&amp;", "&lt;", "</a>", "<script>", "\n"]
    marked = [t for t in texts if "<" in t] or ["<b>x</b>"]
    for _ in range(4000):
        text = rng.choice(marked)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(text) + 1)
            if rng.random() < 0.3 and at < len(text):
                text = text[:at] + text[at + 1:]
            else:
                text = text[:at] + rng.choice(pieces) + text[at:]
        got = by_fast_path(text)
        if got is not None:
            assert got == by_parser(text), text[:300]


def test_html_problems_reports_as_before() -> None:
    assert html_problems("<b>x</i>") == ["</i> does not close the open tag", "<b> is never closed"]
    assert html_problems("<a>x</a>") == ["<a> needs an href"]
    assert html_problems("x & y") == ["a bare '&' must be written &amp;"]
    assert html_problems("<b>ok</b> &amp; fine") == []
    assert html_problems("<p>x</p>") == ["tag <p> is not allowed by Telegram",
                                         "</p> does not close the open tag"]
