"""Long posts: the words of the main sentence decide; the whole post's meaning answers only
when the words found nothing (``semantic_long_min`` in tuning.yaml)."""

from __future__ import annotations

from bot.understand.classify import Classification

CRAVINGS = ("It has been nine days since my last use and honestly my body feels okay now. The "
            "part nobody warned me about is the urge. It comes out of nowhere when I drive past "
            "my old dealer's street, and it is so strong I have to pull over. How do people get "
            "through those moments?")
SPORT = ("So my team lost again last night and the whole group chat is arguing about the "
         "referee. I think we need a new coach honestly, the tactics have been the same for "
         "three seasons. Anyway what do you think about the transfer window this year?")
METHADONE = ("I've been using for about six years, mostly snorting, and lately I'm shooting. My "
             "family doesn't know. I've tried to stop on my own twice and both times the "
             "sickness got too bad by day two. A friend of mine got on a clinic program and "
             "seems to be doing well. What would starting methadone actually involve for me?")
NOTHING = Classification("fallback", None, 0.0, ())


def test_a_long_post_the_words_missed_is_answered_by_its_meaning(core):
    cl = core.classifier
    got = cl._by_meaning(NOTHING, cl.model.encoder.encode(CRAVINGS), "en", long=True)
    assert (got.route, cl.parent(got.intent or "")) == ("answer", "cravings")


def test_an_off_topic_long_post_still_gets_the_menu(core):
    assert core.classify(SPORT).route == "fallback"
    cl = core.classifier
    assert cl._by_meaning(NOTHING, cl.model.encoder.encode(SPORT), "en", long=True) is NOTHING


def test_where_the_words_answered_the_meaning_does_not_overrule_them(core):
    c = core.classify(METHADONE)
    assert (c.route, core.classifier.parent(c.intent or "")) == ("answer", "methadone")
