"""Phone numbers in crisis_lines.yaml must be real numbers for their country."""

from __future__ import annotations

import phonenumbers


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def phone_problem(value: str, country: str, short_codes: list[str]) -> str | None:
    """Why ``value`` is not a usable number in ``country`` (None if it is fine).

    Short codes (911, 116 123, 988, text short codes) are accepted when the country's
    own ``short_codes`` list names them; everything else must parse and be valid with
    the phonenumbers library.
    """
    if _digits(value) in {_digits(code) for code in short_codes}:
        return None
    if country == "international":
        return f"number {value!r} is not one of the international short codes"
    try:
        parsed = phonenumbers.parse(value, country)
    except phonenumbers.NumberParseException as exc:
        return f"number {value!r} does not parse for {country}: {exc}"
    if not phonenumbers.is_valid_number(parsed):
        return (f"number {value!r} is not a valid {country} number (add it to short_codes if "
                f"it is a short code)")
    return None
