"""Server-side SVG charts: valid, accessible, escaped, and drawn to scale."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.web import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def widths(svg: ET.Element) -> list[float]:
    return [float(r.get("width", 0)) for r in svg.iter(f"{SVG}rect")]


def test_paired_bars_scale_shares_and_say_them_in_words() -> None:
    svg = parse(
        charts.paired_bars(
            [("champions", 0.27, 0.60, 0.84), ("transactors", 0.38, 0.10, -0.05)],
            title="Segment value",
            labels=("% of customers", "% of revenue", "% of profit"),
        )
    )
    assert svg.find(f"{SVG}title").text == "Segment value"
    desc = svg.find(f"{SVG}desc").text
    assert "champions: 27% of customers, 60% of revenue, 84% of profit" in desc
    bars = [r for r in svg.iter(f"{SVG}rect") if "champions" in r.find(f"{SVG}title").text]
    a, _b, c = (float(r.get("width")) for r in bars)
    assert a / c == pytest.approx(0.27 / 0.84, rel=1e-2)
    loss = [r for r in svg.iter(f"{SVG}rect") if "-5.0%" in r.find(f"{SVG}title").text]
    assert loss and loss[0].get("fill") == charts.RED  # a money-losing segment is red


def test_labels_are_escaped() -> None:
    markup = charts.horizontal_bars([("<script>alert(1)</script>", 3)], title="a & b")
    assert "<script>" not in str(markup)
    assert parse(markup).find(f"{SVG}title").text == "a & b"


def test_no_inline_styles_so_the_csp_holds() -> None:
    markup = str(
        charts.histogram([(0.0, 0.1, 5), (0.9, 1.0, 2)], title="risk")
        + charts.lorenz_curve([(0.2, 0.8), (1.0, 1.0)], title="profit")
    )
    assert "style=" not in markup and "<script" not in markup


def test_histogram_colours_high_risk_red() -> None:
    svg = parse(charts.histogram([(0.0, 0.1, 10), (0.8, 0.9, 4)], title="risk"))
    rects = list(svg.iter(f"{SVG}rect"))
    assert rects[0].get("fill") == charts.BLUE and rects[1].get("fill") == charts.RED
    assert float(rects[0].get("height")) == pytest.approx(2.5 * float(rects[1].get("height")))


def test_lorenz_describes_the_concentration() -> None:
    svg = parse(charts.lorenz_curve([(0.1, 0.5), (0.2, 0.84), (1.0, 1.0)], title="p"))
    assert svg.find(f"{SVG}desc").text == "The best 20 % of customers bring 84% of the profit."
    assert parse(charts.lorenz_curve([], title="p")).find(f"{SVG}desc").text == "No analysis yet."


@given(
    st.lists(
        st.tuples(
            st.text(min_size=1, max_size=20),
            st.floats(-1e6, 1e6, allow_nan=False),
        ),
        max_size=12,
    )
)
def test_any_rows_give_well_formed_svg_with_non_negative_sizes(
    rows: list[tuple[str, float]],
) -> None:
    svg = parse(charts.horizontal_bars(rows, title="t"))
    assert all(w >= 0 for w in widths(svg))
    assert len([r for r in svg.iter(f"{SVG}rect")]) == len(rows)
    assert re.fullmatch(r"0 0 \d+ \d+", svg.get("viewBox") or "")
