"""EM training sessions come from the comparisons' declared roles, never from their names."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from identity.compare import COMPARISONS, compare_pairs
from identity.levels import Comparison, Role
from identity.resolve import Settings, standardised
from identity.score import Model, estimate
from identity.training import SESSIONS, chosen_sessions

FIRST = ("Anna", "Béla", "Csilla", "Dávid", "Emese", "Ferenc", "Gábor", "Hanna")
FAMILY = ("Kovács", "Szabó", "Tóth", "Varga", "Kiss", "Molnár", "Németh", "Farkas")


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    """300 people, most with a second record (a typo, another phone, a shared e-mail)."""
    records = []
    for i in range(300):
        person = {
            "given_name": FIRST[i % 8],
            "family_name": FAMILY[i // 8 % 8],
            "email": f"user{i}@mail.hu",
            "phone": f"+3630{1000000 + i}",
            "birth_date": f"19{50 + i % 40}-0{1 + i % 9}-1{i % 10}",
            "postal_code": str(1000 + i % 30),
            "country": "HU",
        }
        records.append({"source": "erp", "source_id": str(i), **person})
        if i % 3:
            twin = {**person, "phone": f"+3620{2000000 + i}"} if i % 2 else person
            records.append({"source": "web", "source_id": str(i), **twin})
    frame = standardised(records, Settings())[0]
    left, right = np.triu_indices(len(frame), k=1)
    left, right = left[::7], right[::7]  # a sample of all pairs
    return frame, compare_pairs(frame, left, right)


def _estimated(
    frame: pd.DataFrame, levels: np.ndarray, comparisons: tuple[Comparison, ...]
) -> Model:
    return estimate(frame, levels, comparisons=comparisons, random_pairs=20_000)


RENAMED = {
    "email": "e_mail",
    "phone": "telephone",
    "tax_id": "national_id",
    "birth_date": "date_of_birth",
    "postal_code": "zip",
    "email_name": "mailbox_spells_name",
}


def test_sessions_choose_pairs_by_role() -> None:
    levels = np.full((60, len(COMPARISONS)), -1, dtype=np.int8)
    k = {c.name: i for i, c in enumerate(COMPARISONS)}
    levels[:, k["phone"]] = 2  # all agree exactly on a phone: an identifier
    chosen = chosen_sessions(levels, COMPARISONS, SESSIONS)
    assert len(chosen) == 1
    mask, held = chosen[0]
    assert mask.all()
    assert {c.name for c, h in zip(COMPARISONS, held, strict=True) if h} == {
        "email",
        "phone",
        "tax_id",
        "email_name",
    }


def test_a_renamed_comparison_of_the_same_role_learns_the_same_m(
    data: tuple[pd.DataFrame, np.ndarray],
) -> None:
    frame, levels = data
    renamed = tuple(replace(c, name=RENAMED.get(c.name, c.name)) for c in COMPARISONS)
    before, after = _estimated(frame, levels, COMPARISONS), _estimated(frame, levels, renamed)
    assert before.iterations == after.iterations
    for m_before, m_after in zip(before.m, after.m, strict=True):
        np.testing.assert_array_equal(m_before, m_after)
    assert before.prior == after.prior


def test_both_sessions_train(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    chosen = chosen_sessions(data[1], COMPARISONS, SESSIONS)
    assert len(chosen) == len(SESSIONS)


def test_the_role_not_the_name_decides(
    data: tuple[pd.DataFrame, np.ndarray],
) -> None:
    """Declared as OTHER, the phone no longer chooses a session's pairs: m changes."""
    frame, levels = data
    demoted = tuple(replace(c, role=Role.OTHER) if c.name == "phone" else c for c in COMPARISONS)
    before, after = _estimated(frame, levels, COMPARISONS), _estimated(frame, levels, demoted)
    phone = [c.name for c in COMPARISONS].index("phone")
    assert not np.array_equal(before.m[phone], after.m[phone])


def test_every_comparison_declares_a_role() -> None:
    roles = {c.name: c.role for c in COMPARISONS}
    assert roles["email"] is roles["phone"] is roles["tax_id"] is Role.IDENTIFIER
    assert roles["given_name"] is roles["family_name"] is Role.NAME
    assert roles["email_name"] is Role.NAME_IN_IDENTIFIER
    assert {roles["birth_date"], roles["street"], roles["postal_code"]} == {Role.CORROBORATING}


@pytest.mark.parametrize("comparison", COMPARISONS, ids=lambda c: c.name)
def test_every_declared_prior_has_one_value_per_level(comparison: Comparison) -> None:
    for prior in (comparison.m_prior, comparison.u_prior):
        assert not prior or len(prior) == len(comparison.levels)


def test_a_prior_that_does_not_fit_the_levels_is_refused() -> None:
    """It was silently replaced by the defaults (email_name declared email's four values)."""
    email = next(c for c in COMPARISONS if c.name == "email")
    with pytest.raises(ValueError, match=r"'spelt': m_prior has 4 values for 3 levels"):
        replace(email, name="spelt", levels=("no", "family", "full"))
