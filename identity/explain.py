"""Explain: the model's comparisons as a steward reads them (read-only, pure).

Each comparison's docstring is its steward-facing sentence (see `identity.compare`); this
module lists them in the model's order with their level labels and the record fields they
read, so an explanation can show every comparison, including those that found no evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

from identity.compare import COMPARISONS
from identity.levels import Comparison

__all__ = ["ComparisonInfo", "describe_comparisons", "sentence"]

# standardised column -> the source record field(s) it is made from
_FIELDS: dict[str, tuple[str, ...]] = {
    "given_canon": ("given_name",),
    "family": ("family_name",),
    "org": ("organization_name",),
    "street": ("street", "house_number"),
}
_LABELS: dict[str, str] = {
    "given_name": "given name",
    "family_name": "family name",
    "birth_date": "birth date",
    "email": "e-mail",
    "phone": "phone",
    "tax_id": "tax id",
    "postal_code": "postal code",
    "city": "city",
    "street": "street",
    "house_number": "house number",
    "organization_name": "organisation name",
}


@dataclass(frozen=True, kw_only=True)
class ComparisonInfo:
    """One comparison of the model: its name, the sentence a steward reads, its level labels
    (weakest first) and the record fields it needs on both sides."""

    name: str
    sentence: str
    levels: tuple[str, ...]
    fields: tuple[str, ...]

    def field_label(self, field: str) -> str:
        """The field as a steward calls it ("e-mail", "birth date")."""
        return _LABELS.get(field, field.replace("_", " "))


def sentence(comparison: Comparison) -> str:
    """The first paragraph of the comparison function's docstring, on one line."""
    doc = comparison.compute.__doc__ or ""
    first = doc.strip().split("\n\n", 1)[0]
    return " ".join(first.split()) or comparison.name.replace("_", " ")


def describe_comparisons(
    comparisons: tuple[Comparison, ...] = COMPARISONS,
) -> tuple[ComparisonInfo, ...]:
    """Every comparison of the model in its order, with its sentence, levels and fields."""
    out = []
    for c in comparisons:
        fields: list[str] = []
        for column in c.columns:
            if column == "source":
                continue  # every record has one
            for f in _FIELDS.get(column, (column,)):
                if f not in fields and f != "house_number":
                    fields.append(f)
        out.append(
            ComparisonInfo(name=c.name, sentence=sentence(c), levels=c.levels, fields=tuple(fields))
        )
    return tuple(out)
