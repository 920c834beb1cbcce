"""Echo recognition and value equality for push-back (labelled cases)."""

from __future__ import annotations

import pytest

from hub.sync.echo import _payload_echo, same_value

G = "G0123456789abcdef"


@pytest.mark.parametrize(
    ("label", "old", "new", "echo"),
    [
        (
            "golden id written into a custom field",
            {"id": 1, "custom": {"crm_id": ""}},
            {"id": 1, "custom": {"crm_id": G}},
            True,
        ),
        (
            "golden id plus the system's modification stamp",
            {"crm_id": None, "modified": "t1"},
            {"crm_id": G, "modified": "t2"},
            True,
        ),
        (
            "a stamp alone is a real change (someone else wrote)",
            {"modified": "t1"},
            {"modified": "t2"},
            False,
        ),
        (
            "golden id and a new comment: a real change too",
            {"crm_id": None, "comment": "a"},
            {"crm_id": G, "comment": "b"},
            False,
        ),
        ("a golden id we never wrote", {"crm_id": None}, {"crm_id": "Gffffffffffffffff"}, False),
        ("payload as JSON text", '{"crm_id": null}', '{"crm_id": "' + G + '"}', True),
    ],
)
def test_payload_echo(label: str, old: object, new: object, echo: bool) -> None:
    assert _payload_echo(old, new, {G}) is echo, label


@pytest.mark.parametrize(
    ("field", "a", "b", "country", "same"),
    [
        ("email", "Anna.Kovacs@Example.com", "anna.kovacs@example.com", None, True),
        ("phone", "+36 30 123 4567", "06 30 123 4567", "HU", True),
        ("phone", "+36 30 123 4567", "+36 30 123 4568", "HU", False),
        ("city", "Budapest ", "budapest", None, True),
        ("city", None, "", None, True),
        ("city", None, "Győr", None, False),
    ],
)
def test_same_value(field: str, a: object, b: object, country: str | None, same: bool) -> None:
    assert same_value(field, a, b, country) is same
