"""The standardised record frame: the one table every identity stage reads.

`identity.standardise.standardise(records)` turns CustomerRecord dicts into a pandas DataFrame
with exactly these columns (one row per input record, in input order, index 0..n-1). Text
columns are folded (lower case, diacritics removed, punctuation collapsed) or None.
"""

from __future__ import annotations

__all__ = ["COLUMNS", "IDENTIFYING"]

COLUMNS: dict[str, str] = {
    "source": "source system, as given",
    "source_id": "id in the source system, as given",
    "kind": "'person' or 'organization' (inferred when the record does not say)",
    "given": "first given name, folded (kovacs anna -> 'anna')",
    "given_canon": "given name through the nickname table: pista -> 'istvan', bill -> 'william'",
    "given_initial": "first letter of the given name",
    "middle": "further given names, folded, space-separated",
    "family": "family name, folded; hungarian family-name-first order resolved",
    "full_name": "'given middle family' in that order, folded",
    "org": "organisation name, folded, legal form (kft, zrt, sp. z o.o., ltd, inc, gmbh) removed",
    "email": "normalised e-mail (lower, trimmed, +tag stripped, gmail dots removed)",
    "email_local": "the part of the normalised e-mail before '@'",
    "phone": "E.164 phone number (+36301234567), national forms parsed with the record's country",
    "birth_date": "YYYY-MM-DD",
    "tax_id": "tax / social-security id, upper-case letters and digits only",
    "street": "street, folded, abbreviations expanded (u. -> utca, ul. -> ulica, st -> street)",
    "house_number": "house number, folded",
    "postal_code": "postal code, upper-case, spaces and dashes removed",
    "city": "city, folded",
    "country": "ISO-2 country, upper case (the record's, else inferred from an international "
    "phone, else from the e-mail's country-code domain)",
    "updated_at": "ISO timestamp as given (for survivorship), or None",
    "placeholder_fields": "comma-separated names of fields whose value was a placeholder "
    "(n/a, test@test.com, 000000) and was blanked",
}

IDENTIFYING = ("email", "phone", "tax_id")
