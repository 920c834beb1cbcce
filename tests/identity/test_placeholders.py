"""Placeholders: values that fill a field but identify nobody."""

from __future__ import annotations

import datetime as dt

import pytest

from identity.placeholders import is_placeholder


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        # e-mails
        pytest.param("email", "test@test.com", True, id="email-test-test"),
        pytest.param("email", "Test@Test.com", True, id="email-test-upper"),
        pytest.param("email", "noreply@shop.hu", True, id="email-noreply"),
        pytest.param("email", "no-reply@shop.hu", True, id="email-no-reply"),
        pytest.param("email", "donotreply@bank.pl", True, id="email-donotreply"),
        pytest.param("email", "example@example.com", True, id="email-example"),
        pytest.param("email", "anna@example.com", False, id="email-example-domain-alone"),
        pytest.param("email", "test@example.hu", True, id="email-test-at-example"),
        pytest.param("email", "a@a.com", True, id="email-a-a"),
        pytest.param("email", "a@b.com", True, id="email-a-b"),
        pytest.param("email", "xxx@gmail.com", True, id="email-xxx"),
        pytest.param("email", "n/a", True, id="email-na"),
        pytest.param("email", "none", True, id="email-none"),
        pytest.param("email", "null", True, id="email-null"),
        pytest.param("email", "unknown", True, id="email-unknown"),
        pytest.param("email", "-", True, id="email-dash"),
        pytest.param("email", "x", True, id="email-x"),
        pytest.param("email", "anna.kovacs@gmail.com", False, id="email-real"),
        pytest.param("email", "info@kovacs.hu", False, id="email-role-account-is-real"),
        pytest.param("email", "anna@anna.hu", False, id="email-own-domain"),
        # phones
        pytest.param("phone", "000000000", True, id="phone-zeros"),
        pytest.param("phone", "06 30 000 0000", True, id="phone-zero-subscriber"),
        pytest.param("phone", "+36 1 111 1111", True, id="phone-same-digit"),
        pytest.param("phone", "12345678", True, id="phone-sequence"),
        pytest.param("phone", "0123456789", True, id="phone-sequence-0"),
        pytest.param("phone", "987654321", True, id="phone-sequence-down"),
        pytest.param("phone", "12345", True, id="phone-too-short"),
        pytest.param("phone", "n/a", True, id="phone-na"),
        pytest.param("phone", "+36 30 123 4567", False, id="phone-real"),
        pytest.param("phone", "601 234 567", False, id="phone-real-pl"),
        # names
        pytest.param("given", "test", True, id="given-test"),
        pytest.param("given_name", "Teszt", True, id="given-teszt-record-field-name"),
        pytest.param("family", "n/a", True, id="family-na"),
        pytest.param("family_name", "Unknown", True, id="family-unknown"),
        pytest.param("full_name", "xxx", True, id="full-xxx"),
        pytest.param("full_name", "asdf", True, id="full-asdf"),
        pytest.param("full_name", "Test User", True, id="full-test-user"),
        pytest.param("full_name", "Teszt Elek", True, id="full-teszt-elek"),
        pytest.param("full_name", "12345", True, id="full-digits"),
        pytest.param("given", "Anna", False, id="given-real"),
        pytest.param("full_name", "Kovács Anna", False, id="full-real"),
        pytest.param("given", "A.", False, id="initial-is-real"),
        # organisations
        pytest.param("org", "Magánszemély", True, id="org-private-person-hu"),
        pytest.param("organization_name", "osoba prywatna", True, id="org-private-person-pl"),
        pytest.param("org", "n/a", True, id="org-na"),
        pytest.param("org", "Acme Kft.", False, id="org-real"),
        # identifiers, dates, addresses
        pytest.param("tax_id", "00000000", True, id="tax-zeros"),
        pytest.param("tax_id", "0", True, id="tax-zero"),
        pytest.param("tax_id", "123456789", True, id="tax-sequence"),
        pytest.param("tax_id", "12345678-1-42", False, id="tax-real"),
        pytest.param("birth_date", "1900-01-01", True, id="date-1900"),
        pytest.param("birth_date", dt.date(1900, 1, 1), True, id="date-1900-object"),
        pytest.param("birth_date", "01.01.1900", True, id="date-1900-day-first"),
        pytest.param("birth_date", "unknown", True, id="date-unknown"),
        pytest.param("birth_date", "1980-02-29", False, id="date-real"),
        pytest.param("postal_code", "0000", True, id="postal-zeros"),
        pytest.param("postal_code", "1111", False, id="postal-budapest-1111-is-real"),
        pytest.param("city", "-", True, id="city-dash"),
        pytest.param("city", "ismeretlen", True, id="city-unknown-hu"),
        pytest.param("city", "Budapest", False, id="city-real"),
        pytest.param("street", "nincs", True, id="street-none-hu"),
        pytest.param("house_number", "n/a", True, id="house-number-na"),
        # missing is not a placeholder
        pytest.param("email", None, False, id="none-is-missing"),
        pytest.param("email", "  ", False, id="blank-is-missing"),
    ],
)
def test_is_placeholder(field: str, value: object, expected: bool) -> None:
    assert is_placeholder(field, value) is expected
