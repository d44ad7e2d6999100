"""Meeting finders and online meetings per country: only the addresses of
``../shared/reference/clinical_facts.md`` §18 (SG-05, SG-08 to SG-11).

Each entry is (label key in responses.yaml ``labels:``, URL). Families get the family groups
first; people in recovery get NA and SMART Recovery first.
"""

from __future__ import annotations

NA_WORLD = ("meet_na", "https://www.na.org/meetingsearch/")
NA_ONLINE = ("meet_na_online", "http://virtual-na.org/")
SMART_WORLD = ("meet_smart", "https://meetings.smartrecovery.org/")
NAR_ANON = ("meet_nar_anon", "https://www.nar-anon.org/where-is-my-country")
NAR_ANON_US = ("meet_nar_anon", "https://www.nar-anon.org/united-states/")
FAMILIES_ANONYMOUS = ("meet_families_anonymous", "https://www.familiesanonymous.org")
AL_ANON = ("meet_al_anon", "http://www.al-anon.org/about-group-meetings")

# The country's own NA site (SG-05) and SMART Recovery finder (SG-08), where §18 names one.
NA_LOCAL = {
    "NZ": "https://nzna.org/",
    "AU": "https://na.org.au/",
    "IE": "https://nasouth.ie/",
    "IN": "https://naindia.in/",
    "DE": "https://narcotics-anonymous.de/",
    "AT": "https://narcotics-anonymous.de/",
    "CH": "https://narcotics-anonymous.de/",
    "FR": "https://narcotiquesanonymes.org/",
    "ES": "https://narcoticosanonimos.es/",
    "CA": "https://canaacna.org/",
}
SMART_LOCAL = {
    "GB": ("https://smartrecovery.org.uk", "https://www.smartrecovery.org.uk/meetings/online-meetings"),
    "IE": ("https://smartrecovery.org.uk", "https://www.smartrecovery.org.uk/meetings/online-meetings"),
    "AU": ("https://smartrecoveryaustralia.com.au", None),
    "NZ": ("https://smartrecoveryaustralia.com.au", None),
    "CA": ("http://www.smartrecovery.ca/", None),
}


def finders(country: str | None, *, family: bool) -> list[tuple[str, str]]:
    """(label key, URL) in the order to show them."""
    own: list[tuple[str, str]] = []
    if country in NA_LOCAL:
        own.append(("meet_na_local", NA_LOCAL[country]))
    own += [NA_WORLD, NA_ONLINE]
    smart, smart_online = SMART_LOCAL.get(country or "", (SMART_WORLD[1], None))
    own.append(("meet_smart", smart))
    if smart_online:
        own.append(("meet_smart_online", smart_online))
    families = [NAR_ANON_US if country == "US" else NAR_ANON, FAMILIES_ANONYMOUS, AL_ANON]
    return [*families, *own] if family else [*own, *families]
