"""French business identifiers: SIREN (9 digits) and SIRET (SIREN + 5 digits), Luhn-checked."""

import unicodedata


def clean_identifier(raw: str | None) -> str:
    """Drop what portals leave around identifiers: spaces, zero-width and bidirectional marks (Cf)."""
    if not raw:
        return ""
    return "".join(ch for ch in raw if not ch.isspace() and unicodedata.category(ch) != "Cf")


def luhn_valid(digits: str) -> bool:
    if not digits or not digits.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def valid_siren(value: str) -> bool:
    return len(value) == 9 and luhn_valid(value)


def siren_from(raw: str | None) -> str | None:
    """The SIREN in a SIREN or SIRET as portals write it (udata `business_number_id` is a SIRET),
    or None when it is not a valid one."""
    value = clean_identifier(raw)
    if len(value) == 14 and value.isdigit():
        value = value[:9]
    return value if valid_siren(value) else None


def with_luhn_digit(prefix: str) -> str:
    """Complete `prefix` with the check digit that makes it Luhn-valid (used to generate test SIRENs)."""
    for digit in "0123456789":
        if luhn_valid(prefix + digit):
            return prefix + digit
    raise AssertionError("unreachable: one digit always completes a Luhn sum")
