"""A deterministic rule matcher: the naive baseline every resolver must beat.

Two records are the same customer when they share an exact normalised e-mail address, the
last 8 digits of a phone number, a tax id, or the same set of name tokens together with the
postal code or the birth date; records linked directly or through others are one cluster
(union-find). A value held by more than `max_shared` records (test@test.com, 0000000000, a
company switchboard) links nothing. It shares no code with `identity/`: it is what a careful
analyst writes in an afternoon.

    python -m benchmarks.identity.rules --input records.jsonl.gz --truth truth.csv
"""

from __future__ import annotations

import argparse
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.identity import read_jsonl, read_truth
from benchmarks.identity.evaluate import Scores, scores_from_labels

__all__ = ["rule_keys", "rule_labels", "rule_scores"]

_WORD = re.compile(r"[a-z0-9]+")


def _fold(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return plain.lower()


def _email(value: str) -> str | None:
    text = value.strip().lower()
    if text.count("@") != 1:
        return None
    user, domain = text.split("@")
    user = user.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        user, domain = user.replace(".", ""), "gmail.com"
    return f"{user}@{domain}" if user and domain else None


def rule_keys(record: Mapping[str, Any]) -> list[str]:
    """The keys under which the rule matcher links a record to others."""
    keys = []
    if record.get("email") and (email := _email(str(record["email"]))):
        keys.append("e:" + email)
    digits = re.sub(r"\D", "", str(record.get("phone") or ""))
    if len(digits) >= 8:
        keys.append("p:" + digits[-8:])
    tax = re.sub(r"[^0-9A-Za-z]", "", str(record.get("tax_id") or "")).upper()
    if tax:
        keys.append("t:" + tax)
    parts = [record.get(f) for f in ("given_name", "family_name")]
    name = " ".join(str(p) for p in parts if p) or str(record.get("full_name") or "")
    tokens = " ".join(sorted(set(_WORD.findall(_fold(name)))))
    if tokens:
        postal = re.sub(r"[^0-9A-Za-z]", "", str(record.get("postal_code") or "")).upper()
        if postal:
            keys.append(f"np:{tokens}|{postal}")
        if record.get("birth_date"):
            keys.append(f"nb:{tokens}|{record['birth_date']}")
    return keys


def rule_labels(records: Iterable[Mapping[str, Any]], *, max_shared: int = 10) -> list[int]:
    """A cluster label per record (union-find over shared keys)."""
    holders: dict[str, list[int]] = defaultdict(list)
    n = 0
    for i, record in enumerate(records):
        for key in rule_keys(record):
            holders[key].append(i)
        n = i + 1
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for members in holders.values():
        if 1 < len(members) <= max_shared:
            root = find(members[0])
            for other in members[1:]:
                parent[find(other)] = root
    return [find(i) for i in range(n)]


def rule_scores(records: Sequence[Mapping[str, Any]], entity: Sequence[str]) -> Scores:
    """Pairwise scores of the rule matcher against the true entity of each record."""
    return scores_from_labels(rule_labels(records), list(entity))


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: the rule matcher's pairwise scores on a data set."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--truth", type=Path, required=True)
    args = parser.parse_args(argv)
    records = list(read_jsonl(args.input))
    truth = {(t.source, t.source_id): t.entity_id for t in read_truth(args.truth)}
    entity = [truth[(str(r["source"]), str(r["source_id"]))] for r in records]
    print(rule_scores(records, entity).line())


if __name__ == "__main__":
    main()
