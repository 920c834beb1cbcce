"""The name search in one process: scoring every candidate spelling against the WRatio bound.

    python -m benchmarks.search_names [--golden 1000000] [--queries 300] [--emails 100]
                                      [--repeat 3] [--index-cache PATH]

On the cached generated store of `--golden` golden records (see benchmarks/web_load.py),
builds the search index once and asks it, back to back in the same process, `--queries`
names from the store misspelt as the load benchmark misspells them and `--emails` e-mails:
with `hub.steward.search_index.PRUNE` off (every candidate spelling scored with WRatio) and
on (only those whose bound reaches the cut-off). Checks that both give identical hits —
golden ids, order, scores and matched names — at caps 21, 1,001 and 1,500, and that the
bound is at least WRatio for every candidate spelling of every query (an exhaustive check of
what the property tests sample). Prints CPU milliseconds per name query for each, best of
`--repeat` interleaved rounds, the share of candidates pruned, and the memory of the counts.

`--index-cache` keeps the built index in a pickle file (this tool's own, written on the first
run) so that re-runs skip the two-minute build; leave it out to build from the store.
"""

from __future__ import annotations

import argparse
import os
import pickle
import random
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from rapidfuzz import fuzz, process

from benchmarks.web_load import CACHE, _misspell, _store_url, generate_store, make_demo
from hub.steward import search_index
from hub.steward.search_bound import SpellingCounts, query_words
from hub.steward.search_index import SearchIndex
from identity.folding import fold_words

CAPS = (21, 1001, 1500)


def build(golden: int, cache: Path | None) -> tuple[SearchIndex, list[str], list[str], float]:
    """The index, sample names and e-mails (as benchmarks/web_load.py samples them), and the
    seconds the spelling counts took to build."""
    if cache is not None and cache.exists():
        with cache.open("rb") as f:  # this tool's own file, written below
            saved = pickle.load(f)
        index, names, emails = saved["index"], saved["names"], saved["emails"]
    else:
        from hub.store.database import Store
        from hub.store.tables import golden_records

        config = generate_store(golden, CACHE / f"golden-{golden}", make_demo(CACHE / "demo"))
        store = Store(_store_url(config), base_dir=config.parent)
        g = golden_records.c
        with store.engine.connect() as conn:
            index = SearchIndex(conn)
            rows = conn.execute(
                sa.select(g.golden_id, g.record).where(g.status == "active").limit(20_000)
            ).all()
        store.dispose()
        rows = random.Random(7).sample(rows, min(len(rows), 2000))
        names = [
            " ".join(p for p in (r.record.get("given_name"), r.record.get("family_name")) if p)
            for r in rows
        ]
        emails = [r.record["email"] for r in rows if r.record.get("email")]
        if cache is not None:
            with cache.open("wb") as f:
                pickle.dump({"index": index, "names": names, "emails": emails}, f, protocol=5)
    started = time.process_time()
    index.spelling_counts = SpellingCounts(index.distinct_names)  # the code under test's
    return index, names, emails, time.process_time() - started


def _cpu_ms(index: SearchIndex, queries: list[str], prune: bool) -> float:
    search_index.PRUNE = prune
    started = time.process_time()
    for query in queries:
        index.rank(query, cap=1001)
    return (time.process_time() - started) * 1000 / len(queries)


def check_bound(index: SearchIndex, queries: list[str]) -> tuple[int, int, int, list[int]]:
    """Candidates, those pruned, bound violations (must be 0), survivors per query."""
    candidates = pruned = violations = 0
    survivors = []
    for query in queries:
        folded = fold_words(query)
        spellings = index.candidates(folded)[0]
        if not len(spellings):
            continue
        patterns = index._holds(query_words(folded), spellings)
        bound = index.spelling_counts.bound(folded, spellings, patterns, cutoff=101)
        assert bound is not None
        exact = process.cdist(
            [folded], index._spellings[spellings].tolist(), scorer=fuzz.WRatio, dtype=np.float64
        )[0]
        violations += int((bound + 1e-9 < exact).sum())
        candidates += len(spellings)
        pruned += int((bound < 75).sum())
        survivors.append(int((bound >= 75).sum()))
    return candidates, pruned, violations, survivors


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--golden", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--emails", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--index-cache", type=Path, default=None)
    args = parser.parse_args(argv)

    index, names, emails, counts_s = build(args.golden, args.index_cache)
    counts = index.spelling_counts
    print(
        f"index: {index.size:,} golden records, {len(index.names):,} names, "
        f"{len(index.distinct_names):,} spellings; spelling counts {counts.nbytes / 2**20:.1f} MB "
        f"({counts.width} columns), built in {counts_s:.2f} s CPU; "
        f"{int((~counts.bounded).sum()):,} spellings never bounded"
    )
    rng = random.Random(11)
    queries = [_misspell(rng.choice(names), rng) for _ in range(args.queries)]
    mails = emails[: args.emails]

    for cap in CAPS:
        for query in [*queries, *mails]:
            search_index.PRUNE = False
            every = index.rank(query, cap=cap)
            search_index.PRUNE = True
            assert index.rank(query, cap=cap) == every, (query, cap)
    print(
        f"identical hits, order, scores, matched names: {len(queries)} names + "
        f"{len(mails)} e-mails at caps {', '.join(map(str, CAPS))}"
    )

    candidates, pruned, violations, survivors = check_bound(index, queries)
    print(
        f"bound >= WRatio on every candidate: {violations} violations in {candidates:,}; "
        f"pruned {pruned / max(1, candidates):.1%}, survivors per query median "
        f"{statistics.median(survivors):.0f} of {candidates / len(survivors):.0f} candidates"
    )
    assert violations == 0

    for query in queries[:20]:  # warm the vocabulary cache for both alike
        index.rank(query, cap=1001)
    every_ms, pruned_ms = [], []
    for _ in range(args.repeat):
        every_ms.append(_cpu_ms(index, queries, prune=False))
        pruned_ms.append(_cpu_ms(index, queries, prune=True))
    search_index.PRUNE = True
    load = os.getloadavg()
    print(
        f"CPU a name query (best of {args.repeat}; all rounds): every candidate scored "
        f"{min(every_ms):.2f} ms ({', '.join(f'{v:.2f}' for v in every_ms)}); with the bound "
        f"{min(pruned_ms):.2f} ms ({', '.join(f'{v:.2f}' for v in pruned_ms)}); "
        f"load average {load[0]:.1f}"
    )
    profile: dict[str, Any] = {}
    started = time.process_time()
    for query in queries:
        folded = fold_words(query)
        t = time.process_time()
        spellings = index.candidates(folded)[0]
        profile["candidates"] = profile.get("candidates", 0.0) + time.process_time() - t
        t = time.process_time()
        patterns = index._holds(query_words(folded), spellings)
        bound = index.spelling_counts.bound(folded, spellings, patterns)
        profile["bound"] = profile.get("bound", 0.0) + time.process_time() - t
        t = time.process_time()
        if bound is not None:
            keep = np.flatnonzero(bound >= 75 - 1e-6)
            process.cdist(
                [folded],
                index._spellings[spellings[keep]].tolist(),
                scorer=fuzz.WRatio,
                score_cutoff=75,
            )
        profile["wratio"] = profile.get("wratio", 0.0) + time.process_time() - t
    total = time.process_time() - started
    print(
        "per piece, ms a query: "
        + ", ".join(f"{k} {v * 1000 / len(queries):.2f}" for k, v in profile.items())
        + f" (of {total * 1000 / len(queries):.2f})"
    )


if __name__ == "__main__":
    main()
