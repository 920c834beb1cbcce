"""Splink 5 (DuckDB backend) as the baseline resolver, on the same input as `crmhub resolve`.

    python -m benchmarks.identity.splink_runner --input records.jsonl.gz --crosswalk out.csv \\
        [--profile auto|febrl3|febrl4|crm] [--threshold 0.95] [--truth truth.csv --sweep]

Unsupervised, as a careful Splink user would run it without labels: the probability that two
random records match from deterministic rules, u by random sampling, m by expectation
maximisation over two or three blocking-rule training sessions, then predictions clustered by
connected components at a match-probability threshold (0.95). Writes the crosswalk CSV
``source,source_id,golden_id`` and prints a JSON summary (seconds, peak MB) as its last line.

Profiles (the model description, kept apart from the run):
  * ``febrl3`` / ``febrl4`` — Splink's own FEBRL examples (docs/demos/examples/duckdb/febrl3 and
    febrl4), on our column names; FEBRL4 is linked ``link_only`` between sources A and B as there.
  * ``crm`` — any CustomerRecord file: light SQL standardisation (case, accents, digits-only
    phones and ids), values shared by more than ``JUNK_VALUE_COUNT`` records treated as missing
    (placeholders such as test@test.com, or info@ as a blocking key), order-free name tokens,
    name/email/phone/dob/address/tax-id comparisons.

``--sweep`` (needs ``--truth``) also clusters at other thresholds and reports the best F1 — an
oracle figure, since it uses the labels; the timing excludes it.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "JUNK_VALUE_COUNT",
    "PROFILES",
    "SWEEP_THRESHOLDS",
    "SplinkRun",
    "run_splink",
]

PROFILES: tuple[str, ...] = ("auto", "febrl3", "febrl3-scaled", "febrl4", "crm")
SWEEP_THRESHOLDS: tuple[float, ...] = (0.2, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999)
JUNK_VALUE_COUNT = 10

_INPUT_COLUMNS = (
    "source", "source_id", "kind", "given_name", "family_name", "full_name", "organization_name",
    "tax_id", "email", "phone", "birth_date", "street", "house_number", "postal_code", "city",
    "country", "state",
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class SplinkRun:
    """What one Splink run did and cost."""

    profile: str
    records: int
    threshold: float
    clusters: int
    seconds: float  # wall clock: load, standardise, train, predict, cluster, write
    peak_mb: float  # this process's peak resident set size
    stage_seconds: dict[str, float]
    sweep: dict[str, dict[str, Any]] = field(default_factory=dict)  # threshold → Scores
    sweep_seconds: float = 0.0  # not in ``seconds``


def _sql(con: Any, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Run one statement to completion (DuckDB 2 refuses new work while a result is open)."""
    rows: list[tuple[Any, ...]] = con.execute(sql, params or []).fetchall()
    return rows


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ----------------------------------------------------------------------------------------------
# Loading and standardising (DuckDB SQL)


def _load(con: Any, path: Path) -> None:
    """Read the CustomerRecord JSON Lines into table ``raw``, every column as text."""
    columns = ", ".join(f"'{c}': 'VARCHAR'" for c in _INPUT_COLUMNS)
    _sql(
        con,
        f"""
        create or replace table raw as
        select * from read_json(?, format = 'newline_delimited', columns = {{{columns}}})
        """,
        [str(path)],
    )


def _norm(expr: str) -> str:
    """Lower case, accents stripped, only letters, digits and single spaces; '' → NULL."""
    return (
        f"nullif(trim(regexp_replace(regexp_replace(lower(strip_accents({expr})), "
        f"'[^a-z0-9 ]', '', 'g'), '\\s+', ' ', 'g')), '')"
    )


def _prepare_febrl(con: Any) -> None:
    """FEBRL columns as Splink's examples use them (trimmed text)."""
    _sql(
        con,
        """
        create or replace table prepared as
        select source || '|' || source_id as unique_id, source as source_dataset,
               source, source_id,
               trim(given_name) as given_name, trim(family_name) as family_name,
               trim(birth_date) as birth_date, trim(tax_id) as tax_id,
               trim(house_number) as house_number, trim(postal_code) as postal_code,
               trim(street) as street, trim(state) as state
        from raw
        """,
    )


def _prepare_crm(con: Any) -> None:
    """Generic standardisation of CustomerRecords, then junk (over-shared) values nulled.

    Names become ``name_tokens`` (a sorted list of words from given + family name, or from
    full_name) and their string ``name_sorted``: independent of name order, so "Kovács István"
    and "István Kovács" agree.
    """
    person_name = (
        f"coalesce(nullif(concat_ws(' ', {_norm('given_name')}, {_norm('family_name')}), ''), "
        f"{_norm('full_name')})"
    )
    _sql(
        con,
        f"""
        create or replace table standardised as
        select source || '|' || source_id as unique_id, source as source_dataset,
               source, source_id,
               lower(kind) as kind,
               list_sort(string_split({person_name}, ' ')) as name_tokens,
               {_norm("organization_name")} as organization_name,
               nullif(regexp_replace(upper(tax_id), '[^A-Z0-9]', '', 'g'), '') as tax_id,
               case when email like '%_@_%' then lower(trim(email)) end as email,
               case when email like '%_@_%' then split_part(lower(trim(email)), '@', 1)
                    end as email_user,
               case when length(regexp_replace(phone, '[^0-9]', '', 'g')) >= 7
                    then right(regexp_replace(phone, '[^0-9]', '', 'g'), 9) end as phone,
               trim(birth_date) as birth_date,
               {_norm("street")} as street,
               {_norm("house_number")} as house_number,
               nullif(regexp_replace(upper(postal_code), '[^A-Z0-9]', '', 'g'), '') as postal_code,
               {_norm("city")} as city
        from raw
        """,
    )
    junk = " ,\n".join(
        f"case when count(*) over (partition by {c}) > {JUNK_VALUE_COUNT} then null else {c} "
        f"end as {c}"
        for c in ("email", "email_user", "phone", "tax_id")
    )
    _sql(
        con,
        f"""
        create or replace table prepared as
        select * replace ({junk}),
               nullif(array_to_string(name_tokens, ' '), '') as name_sorted
        from standardised
        """,
    )


# ----------------------------------------------------------------------------------------------
# Models: settings plus the training recipe


@dataclass(frozen=True, kw_only=True)
class _Model:
    settings: Any  # splink.SettingsCreator
    deterministic_rules: list[Any]
    recall: float
    em_rules: list[Any]
    u_max_pairs: float
    em_without_tf: bool = False


def _febrl3_model(*, scaled: bool = False) -> _Model:
    """Splink's FEBRL3 example (docs/demos/examples/duckdb/febrl3), our column names.

    `scaled` (profile ``febrl3-scaled``, for FEBRL3 x 40 = 200,000 records): the same model
    blocking on pairs of the example's fields, since one field alone (every Jack, every
    postcode of 40 replicas) proposes hundreds of millions of pairs and ran out of memory
    at 16 GB here.
    """
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    blocking: list[Any] = [
        block_on("tax_id"),
        block_on("given_name"),
        block_on("family_name"),
        block_on("birth_date"),
        block_on("postal_code"),
    ]
    if scaled:
        blocking = [
            block_on("tax_id"),
            block_on("given_name", "family_name"),
            block_on("given_name", "birth_date"),
            block_on("family_name", "birth_date"),
            block_on("birth_date", "postal_code"),
            block_on("given_name", "postal_code"),
            block_on("family_name", "postal_code"),
        ]
    settings = SettingsCreator(
        unique_id_column_name="unique_id",
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=blocking,
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("family_name"),
            cl.DateOfBirthComparison(
                "birth_date", input_is_string=True, datetime_format="%Y-%m-%d"
            ),
            cl.DamerauLevenshteinAtThresholds("tax_id", [2]),
            cl.ExactMatch("house_number").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postal_code").configure(term_frequency_adjustments=True),
        ],
        additional_columns_to_retain=["source", "source_id"],
    )
    return _Model(
        settings=settings,
        deterministic_rules=[
            block_on("tax_id"),
            block_on("given_name", "family_name", "birth_date"),
            "l.given_name = r.family_name and l.family_name = r.given_name "
            "and l.birth_date = r.birth_date",
        ],
        recall=0.9,
        em_rules=[block_on("birth_date"), block_on("postal_code")],
        u_max_pairs=1e6,
    )


def _febrl4_model() -> _Model:
    """Splink's FEBRL4 example, detailed model (docs/demos/examples/duckdb/febrl4)."""
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    blocking: list[Any] = [
        block_on("given_name", "family_name"),
        "l.given_name = r.family_name and l.family_name = r.given_name",
        block_on("birth_date"),
        block_on("tax_id"),
        block_on("state", "street"),
        block_on("house_number", "street"),
        block_on("postal_code"),
    ]
    settings = SettingsCreator(
        unique_id_column_name="unique_id",
        link_type="link_only",
        blocking_rules_to_generate_predictions=blocking,
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("family_name").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison(
                "birth_date",
                input_is_string=True,
                datetime_format="%Y-%m-%d",
                invalid_dates_as_null=True,
            ),
            cl.DamerauLevenshteinAtThresholds("tax_id", [1, 2]),
            cl.ExactMatch("house_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postal_code", [1, 2]).configure(
                term_frequency_adjustments=True
            ),
        ],
        additional_columns_to_retain=["source", "source_id"],
    )
    return _Model(
        settings=settings,
        deterministic_rules=[
            block_on("tax_id"),
            block_on("given_name", "family_name", "birth_date"),
        ],
        recall=0.8,
        em_rules=[block_on("birth_date"), block_on("postal_code")],
        u_max_pairs=1e6,
        em_without_tf=True,
    )


def _crm_model() -> _Model:
    """A sensible unsupervised model for multi-source CRM records."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    names = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name_sorted"),
            cll.ExactMatchLevel("name_sorted").configure(tf_adjustment_column="name_sorted"),
            cll.JaroWinklerLevel("name_sorted", 0.92),
            cll.JaroWinklerLevel("name_sorted", 0.85),
            cll.ArrayIntersectLevel("name_tokens", 1),
            cll.ElseLevel(),
        ],
    )
    blocking: list[Any] = [
        block_on("email"),
        block_on("email_user"),
        block_on("phone"),
        block_on("tax_id"),
        block_on("name_sorted"),
        block_on("birth_date", "postal_code"),
        block_on("postal_code", "house_number"),
        block_on("organization_name"),
    ]
    settings = SettingsCreator(
        unique_id_column_name="unique_id",
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=blocking,
        comparisons=[
            names,
            cl.JaroWinklerAtThresholds("organization_name", [0.92, 0.8]),
            cl.EmailComparison("email"),
            cl.DamerauLevenshteinAtThresholds("phone", [1]),
            cl.DateOfBirthComparison(
                "birth_date", input_is_string=True, datetime_format="%Y-%m-%d"
            ),
            cl.DamerauLevenshteinAtThresholds("tax_id", [1]),
            cl.ExactMatch("postal_code").configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("city", [0.9]),
            cl.JaroWinklerAtThresholds("street", [0.92, 0.8]),
            cl.ExactMatch("house_number"),
            cl.ExactMatch("kind"),
        ],
        additional_columns_to_retain=["source", "source_id"],
    )
    return _Model(
        settings=settings,
        deterministic_rules=[
            block_on("email", "name_sorted"),
            block_on("name_sorted", "birth_date"),
            block_on("tax_id"),
        ],
        recall=0.7,
        em_rules=[block_on("email"), block_on("name_sorted"), block_on("phone")],
        u_max_pairs=1e7,
        em_without_tf=True,
    )


_MODELS: dict[str, Callable[[], _Model]] = {
    "febrl3": _febrl3_model,
    "febrl3-scaled": lambda: _febrl3_model(scaled=True),
    "febrl4": _febrl4_model,
    "crm": _crm_model,
}


def _detect_profile(con: Any) -> str:
    sources = {row[0] for row in _sql(con, "select distinct source from raw limit 3")}
    if sources == {"febrl3"}:
        return "febrl3"
    if sources == {"A", "B"}:
        return "febrl4"
    return "crm"


# ----------------------------------------------------------------------------------------------
# The run


def run_splink(
    input_path: Path,
    crosswalk_path: Path,
    *,
    profile: str = "auto",
    threshold: float = 0.95,
    truth_path: Path | None = None,
    sweep: bool = False,
    log_level: int = logging.WARNING,
) -> SplinkRun:
    """Train Splink without labels on ``input_path``, cluster, write the crosswalk CSV."""
    import duckdb
    from splink import DuckDBAPI, Linker

    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}: choose one of {', '.join(PROFILES)}")
    if sweep and truth_path is None:
        raise ValueError("--sweep scores thresholds against the truth: give --truth too")
    started = time.perf_counter()
    stages: dict[str, float] = {}

    def lap(stage: str, since: float) -> float:
        now = time.perf_counter()
        stages[stage] = round(now - since, 3)
        return now

    con = duckdb.connect()
    _load(con, Path(input_path))
    if profile == "auto":
        profile = _detect_profile(con)
    if profile == "crm":
        _prepare_crm(con)
    else:
        _prepare_febrl(con)
    records = _sql(con, "select count(*) from prepared")[0][0]
    t = lap("load", started)

    model = _MODELS[profile]()
    db_api = DuckDBAPI(connection=con)
    if model.settings.link_type == "link_only":
        sources = [r[0] for r in _sql(con, "select distinct source from prepared order by 1")]
        tables = []
        for i, source in enumerate(sources):
            _sql(
                con,
                f"create or replace table prepared_{i} as select * from prepared where source = ?",
                [source],
            )
            tables.append(db_api.register(f"prepared_{i}", dataset_display_name=source))
        linker = Linker(tables, model.settings, log_level=log_level)
    else:
        linker = Linker(db_api.register("prepared"), model.settings, log_level=log_level)

    linker.training.estimate_probability_two_random_records_match(
        model.deterministic_rules, recall=model.recall
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=model.u_max_pairs, seed=1)
    for rule in model.em_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=model.em_without_tf
        )
    t = lap("train", t)

    lowest = min((threshold, *SWEEP_THRESHOLDS)) if sweep else threshold
    predictions = linker.inference.predict(threshold_match_probability=lowest)
    t = lap("predict", t)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    )
    n_clusters = _write_crosswalk(con, clusters, Path(crosswalk_path))
    t = lap("cluster_and_write", t)
    seconds = round(t - started, 3)
    peak = round(_peak_mb(), 1)

    scores: dict[str, dict[str, Any]] = {}
    if sweep and truth_path is not None:
        scores = _sweep(con, linker, predictions, Path(crosswalk_path), Path(truth_path))
    sweep_seconds = round(time.perf_counter() - t, 3)
    return SplinkRun(
        profile=profile,
        records=int(records),
        threshold=threshold,
        clusters=n_clusters,
        seconds=seconds,
        peak_mb=peak,
        stage_seconds=stages,
        sweep=scores,
        sweep_seconds=sweep_seconds,
    )


def _write_crosswalk(con: Any, clusters: Any, path: Path) -> int:
    """Write ``source,source_id,golden_id`` for every record; return the number of clusters."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = clusters.physical_name
    _sql(
        con,
        f"""
        copy (select source, source_id, 'splink-' || cluster_id as golden_id
              from {table} order by source, source_id)
        to '{path}' (header, delimiter ',')
        """,
    )
    return int(_sql(con, f"select count(distinct cluster_id) from {table}")[0][0])


def _sweep(
    con: Any, linker: Any, predictions: Any, crosswalk_path: Path, truth_path: Path
) -> dict[str, dict[str, Any]]:
    """Pairwise scores at each sweep threshold (uses the labels: an oracle, not a result)."""
    from benchmarks.identity.evaluate import pairwise_scores

    out: dict[str, dict[str, Any]] = {}
    scratch = crosswalk_path.with_suffix(".sweep.csv")
    for th in SWEEP_THRESHOLDS:
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=th
        )
        _write_crosswalk(con, clusters, scratch)
        s = pairwise_scores(scratch, truth_path)
        out[str(th)] = asdict(s)
    scratch.unlink(missing_ok=True)
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: run Splink on a CustomerRecord file, print a JSON summary last."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", type=Path, required=True, help="CustomerRecord JSON Lines")
    parser.add_argument("--crosswalk", type=Path, required=True, help="Output CSV")
    parser.add_argument("--profile", choices=PROFILES, default="auto")
    parser.add_argument("--threshold", type=float, default=0.95)
    parser.add_argument("--truth", type=Path, help="Truth CSV (for --sweep and a score line)")
    parser.add_argument("--sweep", action="store_true", help="Also score other thresholds")
    parser.add_argument("--verbose", action="store_true", help="Splink's INFO logging")
    args = parser.parse_args(argv)
    if not args.input.is_file():
        raise SystemExit(f"error: {args.input}: no such file — give a CustomerRecord JSON Lines")
    run = run_splink(
        args.input,
        args.crosswalk,
        profile=args.profile,
        threshold=args.threshold,
        truth_path=args.truth,
        sweep=args.sweep,
        log_level=logging.INFO if args.verbose else logging.WARNING,
    )
    if args.truth is not None:
        from benchmarks.identity.evaluate import pairwise_scores

        print(f"splink @ {run.threshold}: {pairwise_scores(args.crosswalk, args.truth).line()}")
    print(json.dumps(asdict(run)))


if __name__ == "__main__":
    main()
