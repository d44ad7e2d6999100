"""What an operator relies on: ``--version``, and dependencies that fit.

- ``phonenumberslite`` replaced ``phonenumbers`` (same code and validation metadata, without
  the 40 MB of geocoding, carrier and time-zone data the bot never reads). The validation of
  every number that was in ``crisis_lines.yaml`` at the switch was recorded with the full
  ``phonenumbers`` (``tests/data/phone_validation.json``); the installed library must give
  exactly the same answers.
- The English word list ships as a data file; it must be exactly what pyspellchecker's public
  API gives.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, distribution, version
from pathlib import Path

import phonenumbers
import pytest
from phonenumbers import shortnumberinfo

from bot.content.phones import phone_problem

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "tests" / "data" / "phone_validation.json"


def validation(country: str, value: str) -> dict[str, object]:
    """What the library says about one number (the checks bot/content uses, and a few more)."""
    digits = "".join(ch for ch in value if ch.isdigit())
    result: dict[str, object] = {
        "emergency": shortnumberinfo.is_emergency_number(digits, country) if digits else False,
    }
    try:
        parsed = phonenumbers.parse(value, country)
    except phonenumbers.NumberParseException as exc:
        result["error"] = exc.error_type
        return result
    result.update(
        valid=phonenumbers.is_valid_number(parsed),
        possible=phonenumbers.is_possible_number(parsed),
        type=phonenumbers.number_type(parsed),
        region=phonenumbers.region_code_for_number(parsed),
        e164=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
    )
    return result


def crisis_numbers() -> list[tuple[str, str]]:
    """(country, number) for every number and sms of crisis_lines.yaml, and every
    emergency_only number in each of its countries."""
    import yaml

    data = yaml.safe_load((ROOT / "crisis_lines.yaml").read_text(encoding="utf-8"))
    found = {
        (code, str(line[field]))
        for code, country in data["countries"].items()
        if code != "international"
        for line in country.get("lines", [])
        for field in ("number", "sms")
        if line.get(field) is not None
    }
    found |= {
        (code, str(group["number"]))
        for group in data.get("emergency_only", [])
        for code in group["countries"]
    }
    return sorted(found)


def record() -> None:
    """Write the record (run with the full ``phonenumbers`` installed)."""
    rows = [{"country": c, "number": n, **validation(c, n)} for c, n in crisis_numbers()]
    RECORD.write_text(json.dumps({"library": f"phonenumbers {phonenumbers.__version__}",
                                  "numbers": rows}, indent=1, ensure_ascii=False) + "\n",
                      encoding="utf-8")


def test_the_installed_phone_library_validates_like_the_full_one():
    recorded = json.loads(RECORD.read_text(encoding="utf-8"))
    assert recorded["library"].startswith("phonenumbers ")  # recorded with the full library
    rows = recorded["numbers"]
    assert len(rows) > 150
    for row in rows:
        expected = {k: v for k, v in row.items() if k not in ("country", "number")}
        assert validation(row["country"], row["number"]) == expected, row


def test_every_crisis_number_is_recorded_or_checked_the_same_way():
    """Numbers added after the record still go through the same code path (no geodata)."""
    recorded = {(r["country"], r["number"]) for r in json.loads(RECORD.read_text())["numbers"]}
    for country, number in crisis_numbers():
        if (country, number) not in recorded:
            validation(country, number)  # must not need anything the lite package lacks
    assert phone_problem("+44 20 7946 0000", "GB", []) is None
    assert "not a valid GB number" in phone_problem("+44 20 7946", "GB", [])


def test_phonenumberslite_is_what_is_installed():
    with pytest.raises(PackageNotFoundError):  # both at once share one folder: remove the
        distribution("phonenumbers")  # full one first (pip uninstall phonenumbers)
    assert version("phonenumberslite")


def test_the_shipped_word_list_is_pyspellcheckers():
    pytest.importorskip("spellchecker")
    from bot.text import wordlist

    assert wordlist.english_words() == frozenset(wordlist.build_words())
    shipped = (ROOT / "bot" / "text" / wordlist.WORDS_FILE).read_text(encoding="utf-8")
    assert shipped == wordlist.render(wordlist.build_words()), (
        "regenerate with: python -m bot.text.wordlist"
    )
    for word in ("lying", "putting", "breathing"):
        assert word in wordlist.english_words()


def test_the_compact_word_set_holds_exactly_the_list():
    from bot.text import wordlist

    words = wordlist.english_words()
    compact = wordlist.english_word_set()
    assert len(compact) == len(words)
    assert all(w in compact for w in words)
    # "lying" must never be "corrected" to "dying"; made-up and misspelt words are not in it
    assert "lying" in compact and "putting" in compact
    assert not any(w in compact for w in ("overdosse", "breathinng", "zzqx", "", "dyingg"))
    assert sum(w + "q" in compact for w in sorted(words)[:20000]) == sum(
        w + "q" in words for w in sorted(words)[:20000])


def test_version_prints_the_installed_version():
    expected = f"recovery-bot {version('recovery-bot')}\n"
    for argv in ([sys.executable, "-m", "bot", "--version"],):
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert (done.returncode, done.stdout) == (0, expected), done.stderr
    script = Path(sys.executable).with_name("recovery-bot")
    if script.is_file():
        done = subprocess.run([str(script), "--version"], capture_output=True, text=True,
                              timeout=120)
        assert (done.returncode, done.stdout) == (0, expected)


if __name__ == "__main__":  # python -m tests.test_operator: write the phone record
    record()
