"""The fields an audience carries to its destinations, one dict per entering customer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hub.analyse.audiences import _carried

FRAME = pd.DataFrame({"golden_id": ["G1", "G2", "G3"], "stage": ["retain", "expand", "retain"]})


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (["golden_id"], [{"golden_id": "G3"}, {"golden_id": "G1"}]),  # no trait column at all
        (
            ["golden_id", "stage"],
            [{"golden_id": "G3", "stage": "retain"}, {"golden_id": "G1", "stage": "retain"}],
        ),
        (["stage"], [{"stage": "retain"}, {"stage": "retain"}]),
        ([], [{}, {}]),
    ],
    ids=["id-only", "id-and-trait", "trait", "none"],
)
def test_carried_fields_follow_the_entering_order(
    fields: list[str], expected: list[dict[str, str]]
) -> None:
    assert _carried(FRAME, np.array(["G3", "G1"], dtype=object), fields) == expected
