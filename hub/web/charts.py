"""Charts drawn on the server as inline SVG: no front-end build, no script, no CDN.

Each function takes plain rows and returns an accessible `<svg>` (a `<title>` and a
`<desc>` that says in words what the chart shows, for screen readers and for anyone who
would rather read) as `Markup` for a Jinja2 template. Colours and sizes are SVG
presentation attributes, not inline styles, so the page's Content-Security-Policy
(`style-src 'self'`) holds. Every label is escaped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape as _escape

from markupsafe import Markup

__all__ = ["histogram", "horizontal_bars", "lorenz_curve", "paired_bars"]

WIDTH = 640
ROW = 26
INK = "#1f2933"
MUTED = "#7b8794"
BLUE = "#2f6fb2"
ORANGE = "#d9822b"
RED = "#c23030"
GREEN = "#2e8540"


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def escape(text: str) -> str:
    """Escaped for XML, without the control characters XML cannot hold."""
    return _escape(_NOT_XML.sub("", text))


def _svg(
    height: int, title: str, desc: str, body: list[str], width: int = WIDTH, kind: str = "wide"
) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" role="img" class="chart {kind}" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>"
    )
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 — every value escaped above


def _text(x: float, y: float, text: str, *, anchor: str = "start", fill: str = INK) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}" '
        f'font-size="12" font-family="sans-serif">{escape(text)}</text>'
    )


def _rect(x: float, y: float, w: float, h: float, fill: str, label: str) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0.0):.1f}" height="{h:.1f}" '
        f'fill="{fill}"><title>{escape(label)}</title></rect>'
    )


def paired_bars(
    rows: Sequence[tuple[str, float, float, float]], *, title: str, labels: tuple[str, str, str]
) -> Markup:
    """Per segment three shares side by side (e.g. % of customers, % of revenue, % of profit).

    `rows` are (segment, share_a, share_b, share_c) with shares as fractions; a negative
    share (a segment that loses money) is drawn to the left of the axis in red.
    """
    left, gap = 170, 6
    lowest = min([0.0, *(min(r[1], r[2], r[3]) for r in rows)])
    highest = max([0.01, *(max(r[1], r[2], r[3]) for r in rows)])
    scale = (WIDTH - left - 60) / (highest - lowest)
    zero = left + -lowest * scale
    bar = 7
    body = []
    y = 28
    body.append(_rect(left, 8, 10, 10, MUTED, labels[0]) + _text(left + 14, 17, labels[0]))
    body.append(_rect(left + 150, 8, 10, 10, BLUE, labels[1]) + _text(left + 164, 17, labels[1]))
    body.append(_rect(left + 300, 8, 10, 10, GREEN, labels[2]) + _text(left + 314, 17, labels[2]))
    words = []
    for name, a, b, c in rows:
        y += gap
        body.append(_text(left - 8, y + 13, name, anchor="end"))
        for k, (value, colour) in enumerate(((a, MUTED), (b, BLUE), (c, GREEN))):
            fill = RED if value < 0 else colour
            x = zero if value >= 0 else zero + value * scale
            tip = f"{name}: {labels[k]} {value:.1%}"
            body.append(_rect(x, y + k * bar, abs(value) * scale, bar - 1, fill, tip))
        body.append(_text(zero + max(a, b, c, 0) * scale + 4, y + 13, f"{c:+.0%}", fill=MUTED))
        y += 3 * bar
        words.append(f"{name}: {a:.0%} of customers, {b:.0%} of revenue, {c:.0%} of profit")
    body.append(
        f'<line x1="{zero:.1f}" y1="24" x2="{zero:.1f}" y2="{y + 4}" stroke="{INK}" '
        'stroke-width="1"/>'
    )
    return _svg(y + 10, title, "; ".join(words), body)


def horizontal_bars(
    rows: Sequence[tuple[str, float]],
    *,
    title: str,
    unit: str = "",
    colour: str = BLUE,
    width: int = 440,
) -> Markup:
    """One bar per row (a funnel's stages, a distribution's bands), the value at its end."""
    left = 100
    highest = max([1.0, *(abs(v) for _, v in rows)])
    scale = (width - left - 80) / highest
    body = []
    y = 6
    for name, value in rows:
        body.append(_text(left - 8, y + 15, name, anchor="end"))
        fill = RED if value < 0 else colour
        body.append(_rect(left, y + 3, abs(value) * scale, ROW - 8, fill, f"{name}: {value:,.0f}"))
        body.append(_text(left + abs(value) * scale + 6, y + 15, f"{value:,.0f}{unit}"))
        y += ROW
    desc = "; ".join(f"{name}: {value:,.0f}{unit}" for name, value in rows)
    return _svg(y + 6, title, desc, body, width=width, kind="half")


def histogram(rows: Sequence[tuple[float, float, int]], *, title: str, size: int = 440) -> Markup:
    """Counts per band (low, high, count), e.g. churn risk from 0 to 1; high bands in red."""
    height, bottom, left = 180, 150, 40
    highest = max([1, *(c for *_, c in rows)])
    width = (size - left - 10) / max(len(rows), 1)
    body = [_text(4, 14, f"{highest:,}", fill=MUTED)]
    for k, (low, high, count) in enumerate(rows):
        h = (bottom - 20) * count / highest
        colour = RED if low >= 0.7 else ORANGE if low >= 0.4 else BLUE
        x = left + k * width
        body.append(
            _rect(x + 2, bottom - h, width - 4, h, colour, f"{low:.0%} to {high:.0%}: {count:,}")
        )
        body.append(_text(x + width / 2, bottom + 16, f"{low:.0%}", anchor="middle"))
    body.append(f'<line x1="{left}" y1="{bottom}" x2="{size - 10}" y2="{bottom}" stroke="{INK}"/>')
    desc = "; ".join(f"{low:.0%} to {high:.0%}: {count:,} customers" for low, high, count in rows)
    return _svg(height, title, desc, body, width=size, kind="half")


def lorenz_curve(points: Sequence[tuple[float, float]], *, title: str) -> Markup:
    """Share of profit against share of customers, best customers first, with the diagonal
    of perfect equality; the curve above it shows how concentrated profit is."""
    size, pad = 260, 34
    span = size - 2 * pad
    lowest = min([0.0, *(p for _, p in points)])
    highest = max([1.0, *(p for _, p in points)])

    def at(x: float, y: float) -> str:
        return f"{pad + x * span:.1f},{pad + span - (y - lowest) / (highest - lowest) * span:.1f}"

    curve = " ".join(at(x, y) for x, y in [(0.0, 0.0), *points])
    body = [
        f'<polyline points="{at(0, 0)} {at(1, 1)}" fill="none" stroke="{MUTED}" '
        'stroke-dasharray="4 3"/>',
        f'<polyline points="{curve}" fill="none" stroke="{BLUE}" stroke-width="2"/>',
        _text(pad, size - 6, "share of customers (best first) →", fill=MUTED),
        _text(4, pad - 12, "↑ share of profit", fill=MUTED),
    ]
    desc = "No analysis yet."
    if points:
        top = next((p for c, p in points if c >= 0.2), points[-1][1])
        desc = f"The best 20 % of customers bring {top:.0%} of the profit."
    return _svg(size, title, desc, body, width=size + 40, kind="square")
