"""RFM, labelled: quintile scores among buyers (5 best), the classic segment names from
the (recency, frequency) map, prospects for those who never bought."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics.model import DEFAULT_RFM_SEGMENTS, RfmSegment
from analytics.rfm import rfm_scores, rfm_segments


def test_scores_are_quintiles_among_buyers() -> None:
    recency = pd.Series([1.0, 10, 20, 30, 40, 99])
    frequency = pd.Series([9, 7, 5, 3, 1, 0])
    monetary = pd.Series([900.0, 700, 500, 300, 100, 0])
    scores = rfm_scores(recency, frequency, monetary)
    assert scores["r"].tolist() == [5, 4, 3, 2, 1, 0]
    assert scores["f"].tolist() == [5, 4, 3, 2, 1, 0]
    assert scores["m"].tolist() == [5, 4, 3, 2, 1, 0]


@pytest.mark.parametrize(
    ("r", "f", "segment"),
    [
        (5, 5, "champions"), (5, 4, "champions"), (4, 5, "loyal"), (3, 4, "loyal"),
        (5, 2, "potential loyalist"), (5, 1, "new"), (4, 1, "promising"),
        (3, 3, "need attention"), (3, 1, "about to sleep"), (1, 5, "cannot lose them"),
        (2, 3, "at risk"), (1, 1, "hibernating"), (0, 0, "prospect"),
    ],
)  # fmt: skip
def test_segment_names(r: int, f: int, segment: str) -> None:
    scores = pd.DataFrame({"r": [r], "f": [f], "m": [3]})
    assert rfm_segments(scores, DEFAULT_RFM_SEGMENTS).tolist() == [segment]


def test_first_matching_segment_wins_and_unmatched_is_other() -> None:
    segments = (
        RfmSegment(name="first", recency=(4, 5), frequency=(1, 5)),
        RfmSegment(name="second", recency=(5, 5), frequency=(5, 5)),
    )
    scores = pd.DataFrame({"r": [5, 2], "f": [5, 2], "m": [1, 1]})
    assert rfm_segments(scores, segments).tolist() == ["first", "other"]
