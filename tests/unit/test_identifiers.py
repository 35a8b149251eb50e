import pytest

from shared.identifiers import clean_identifier, luhn_valid, siren_from, with_luhn_digit


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("21350328700012", "213503287"),  # udata business_number_id is a SIRET
        ("213503287", "213503287"),
        ("213503287 ", "213503287"),  # trailing space
        ("\u200e213503287", "213503287"),  # left-to-right mark
        ("2135\u200b03287", "213503287"),  # zero-width space inside
        ("213 503 287", "213503287"),
        ("213503288", None),  # Luhn fails
        ("12345", None),
        ("", None),
        (None, None),
    ],
)
def test_siren_from_what_portals_write(raw, expected):
    assert siren_from(raw) == expected


def test_luhn_check_digit_completes_any_prefix():
    for prefix in ("21350328", "00000000", "99999999", "24350013"):
        assert luhn_valid(with_luhn_digit(prefix))
        assert len(with_luhn_digit(prefix)) == 9


def test_clean_identifier_keeps_digits_and_letters_only_visible():
    assert clean_identifier("\u202a2A004\u202c ") == "2A004"
