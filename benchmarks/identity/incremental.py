"""Incremental matching latency: one new record against an already resolved population.

    python -m benchmarks.identity.incremental --entities 450000 --queries 2000

Resolves a generated CRM population once (crosswalk only), builds the incremental `Matcher`
over it, then times `match(record)` for held-out records that were never in the population,
one call at a time, and prints p50/p95/p99 in milliseconds.
"""

from __future__ import annotations

import argparse
import random
import resource
import time

import numpy as np

from benchmarks.identity.crm_generator import generate
from identity.resolve import resolve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=90_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    records, _truth = generate(args.entities, seed=args.seed)
    rng = random.Random(args.seed)
    rng.shuffle(records)
    held_out, population = records[: args.queries], records[args.queries :]
    started = time.perf_counter()
    result = resolve(population, build_golden=False)
    resolved = time.perf_counter() - started
    started = time.perf_counter()
    matcher = result.matcher()
    indexed = time.perf_counter() - started
    latencies = []
    found = 0
    for record in held_out:
        t = time.perf_counter()
        candidates = matcher.match(record)
        latencies.append((time.perf_counter() - t) * 1000)
        found += bool(candidates)
    lat = np.array(latencies)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"population {len(population):,} records → {result.stats['golden_records']:,} golden "
        f"(resolved in {resolved:.1f}s, matcher index built in {indexed:.1f}s, peak {peak:.0f} MB)"
    )
    print(
        f"match(record) over {len(held_out):,} new records: p50 {np.percentile(lat, 50):.1f} ms, "
        f"p95 {np.percentile(lat, 95):.1f} ms, p99 {np.percentile(lat, 99):.1f} ms "
        f"(goal p95 <= 20 ms); {found:,} had candidates"
    )


if __name__ == "__main__":
    main()
