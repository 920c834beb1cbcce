"""Identity benchmark: `crmhub resolve` against Splink on FEBRL and generated CRM data.

    python -m benchmarks.identity.run                          # all: FEBRL, crm, webshop, registry
    python -m benchmarks.identity.run --dataset webshop --no-splink --quality
    python -m benchmarks.identity.run --dataset crm --entities 50000 --no-splink
    python -m benchmarks.identity.run --input DIR/records.jsonl.gz --truth DIR/truth.csv \
        --profile febrl3-scaled                                # FEBRL3 x 40, both tools
    python -m benchmarks.identity.run --scale                  # crmhub on 100k … 1M records
    python -m benchmarks.identity.run --scale --sizes 100000,200000 --splink
    python -m benchmarks.identity.run --scale --generator webshop --sizes 20000,1000000 --ceilings

Each dataset is written once into a work directory (a temporary one unless ``--keep DIR``); both
resolvers then read the same file, each in its own child process, so its wall clock (interpreter
start-up included, for both) and peak resident memory (``wait4`` rusage of that child) are its
own. Crosswalks are scored with pairwise precision/recall/F1 (``evaluate.py``). If `crmhub
resolve` fails, its stderr is shown and the run goes on with the Splink rows. Every data set also
gets a row for the deterministic rule matcher (``rules.py``), the baseline to beat; ``--quality``
adds the oracle ceiling, calibration table and review queue (``quality.py``); ``--ceilings``
crmhub's F1 under the candidate-oracle, fuzzy-signal and exact-signal ceilings (``ceilings.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import TextIO

from benchmarks.identity import crm_generator, crm_registry, crm_webshop, febrl, read_truth
from benchmarks.identity.evaluate import EvaluationError, Scores, pairwise_scores

__all__ = [
    "DATASETS",
    "Dataset",
    "Measured",
    "Row",
    "default_crmhub",
    "measure",
    "prepare_dataset",
    "run_ceilings",
    "run_crmhub",
    "run_quality",
    "run_rules",
    "run_splink",
]

DATASETS: tuple[str, ...] = ("febrl3", "febrl4", "crm", "webshop", "registry")
SCALE_SIZES: tuple[int, ...] = (100_000, 200_000, 500_000, 1_000_000)
# Generated CRM data averages ~2.21 records per entity (the web shop ~3.23, the registry ~2.5);
# ask for a few more and cut to size.
_RECORDS_PER_ENTITY = {"crm": 2.15, "webshop": 3.15, "registry": 2.45}
GENERATORS: tuple[str, ...] = tuple(_RECORDS_PER_ENTITY)
# the CRM generators written apart from `crm_generator`: module, seed offset (webshop:
# the web shop's customers, seed + 2; registry: census-like name frequencies, seed + 4)
_WRITTEN_APART: dict[str, tuple[ModuleType, int]] = {
    "webshop": (crm_webshop, 2),
    "registry": (crm_registry, 4),
}


@dataclass(frozen=True, kw_only=True)
class Dataset:
    """A benchmark input on disk."""

    name: str
    records_path: Path
    truth_path: Path
    records: int
    prepare_seconds: float


@dataclass(frozen=True, kw_only=True)
class Measured:
    """One child process: how it ended and what it cost."""

    command: list[str]
    returncode: int
    seconds: float
    peak_mb: float
    stdout: str
    stderr: str
    timed_out: bool = False


@dataclass(frozen=True, kw_only=True)
class Row:
    """One line of the results table."""

    dataset: str
    records: int
    tool: str
    seconds: float | None
    peak_mb: float | None
    scores: Scores | None = None
    note: str = ""


# ----------------------------------------------------------------------------------------------
# Processes


# A child's ru_maxrss starts from its parent's memory: Linux carries the high-water mark across
# fork and exec (and vfork shares the parent's), so a tool started straight from this process,
# which may hold a million generated records, would inherit our peak. A fresh, small interpreter
# therefore starts the tool and reports the tool's own wait4 rusage and wall clock.
_LAUNCHER = """
import json, os, subprocess, sys, time
report, command = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
proc = subprocess.Popen(command)
_, status, usage = os.wait4(proc.pid, 0)
seconds = time.perf_counter() - started
with open(report, "w") as f:
    json.dump({"seconds": seconds, "maxrss_kib": usage.ru_maxrss}, f)
sys.exit(os.waitstatus_to_exitcode(status) % 256)
"""


def measure(command: Sequence[str], *, timeout: float) -> Measured:
    """Run a command; its wall clock and its own peak RSS (``wait4``), killed at timeout."""
    cmd = [str(c) for c in command]
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as tmp,
    ):
        report = Path(tmp) / "rusage.json"
        started = time.perf_counter()
        launcher = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, str(report), *cmd],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: a timeout ends the tool too
        )
        try:
            returncode = launcher.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
        except BaseException:  # e.g. Ctrl-C: do not leave the tool running
            os.killpg(launcher.pid, 9)
            launcher.wait()
            raise
        if timed_out:
            os.killpg(launcher.pid, 9)
            returncode = launcher.wait()
        elapsed = time.perf_counter() - started
        usage = json.loads(report.read_text()) if report.exists() else {}
        out.seek(0)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
        if returncode != 0 and not usage and not timed_out:
            stderr += f"\n(could not start {shlex.join(cmd)})"
        return Measured(
            command=cmd,
            returncode=returncode,
            seconds=usage.get("seconds", elapsed),
            peak_mb=usage.get("maxrss_kib", 0) / 1024,  # Linux reports KiB
            stdout=out.read().decode(errors="replace"),
            stderr=stderr,
            timed_out=timed_out,
        )


def default_crmhub() -> list[str]:
    """The `crmhub` console script installed next to this interpreter."""
    return [str(Path(sys.executable).parent / "crmhub")]


def _score(dataset: Dataset, crosswalk: Path) -> tuple[Scores | None, str]:
    try:
        return pairwise_scores(crosswalk, dataset.truth_path), ""
    except EvaluationError as exc:
        return None, f"unscorable: {exc}"


def _failure(tool: str, m: Measured) -> str:
    why = f"timed out after {m.seconds:.0f}s" if m.timed_out else f"exit code {m.returncode}"
    tail = "\n".join(m.stderr.strip().splitlines()[-25:]) or "(no stderr)"
    print(f"\n!! {tool} failed ({why}): {shlex.join(m.command)}\n{tail}\n", file=sys.stderr)
    return why


def run_crmhub(dataset: Dataset, work: Path, *, crmhub: Sequence[str], timeout: float) -> Row:
    """`crmhub resolve --input … --crosswalk …` on the dataset, scored."""
    crosswalk = work / f"{dataset.name}.crmhub.csv"
    crosswalk.unlink(missing_ok=True)
    command = [
        *crmhub,
        "resolve",
        "--input",
        str(dataset.records_path),
        "--crosswalk",
        str(crosswalk),
    ]
    m = measure(command, timeout=timeout)
    row = Row(
        dataset=dataset.name, records=dataset.records, tool="crmhub", seconds=None, peak_mb=None
    )
    if m.returncode != 0:
        return replace(row, note=_failure("crmhub resolve", m))
    scores, note = _score(dataset, crosswalk)
    return replace(row, seconds=m.seconds, peak_mb=m.peak_mb, scores=scores, note=note)


def run_splink(
    dataset: Dataset,
    work: Path,
    *,
    threshold: float,
    sweep: bool,
    timeout: float,
    profile: str | None = None,
) -> list[Row]:
    """The Splink baseline on the dataset, scored; with ``sweep`` also its oracle best row.
    The Splink model is `profile`, by default the dataset's own (FEBRL) or ``crm``."""
    crosswalk = work / f"{dataset.name}.splink.csv"
    if profile is None:
        profile = dataset.name if dataset.name in febrl.FEBRL_DATASETS else "crm"
    command = [
        sys.executable,
        "-m",
        "benchmarks.identity.splink_runner",
        "--input",
        str(dataset.records_path),
        "--crosswalk",
        str(crosswalk),
        "--profile",
        profile,
        "--threshold",
        str(threshold),
    ]
    if sweep:
        command += ["--truth", str(dataset.truth_path), "--sweep"]
    m = measure(command, timeout=timeout)
    row = Row(
        dataset=dataset.name, records=dataset.records, tool="splink", seconds=None, peak_mb=None
    )
    if m.returncode != 0:
        return [replace(row, note=_failure("splink", m))]
    summary = json.loads(m.stdout.strip().splitlines()[-1])
    seconds = m.seconds - summary.get("sweep_seconds", 0.0)
    scores, note = _score(dataset, crosswalk)
    rows = [
        replace(
            row,
            tool=f"splink@{threshold:g}",
            seconds=seconds,
            peak_mb=m.peak_mb,
            scores=scores,
            note=note,
        )
    ]
    if summary.get("sweep"):
        best_th, best = max(summary["sweep"].items(), key=lambda kv: kv[1]["f1"])
        rows.append(
            replace(
                row,
                tool=f"splink@{float(best_th):g}*",
                scores=Scores(**best),
                note="* the best of Splink's thresholds, chosen with the labels (an oracle)",
            )
        )
    return rows


def run_rules(dataset: Dataset) -> Row:
    """The deterministic rule matcher (`rules.py`) on the dataset, in this process."""
    from benchmarks.identity.quality import read_dataset
    from benchmarks.identity.rules import rule_scores

    started = time.perf_counter()
    records, entity = read_dataset(dataset.records_path, dataset.truth_path)
    scores = rule_scores(records, entity)
    return Row(
        dataset=dataset.name,
        records=dataset.records,
        tool="rules",
        seconds=time.perf_counter() - started,
        peak_mb=None,
        scores=scores,
        note="deterministic rules: same e-mail, phone's last 8 digits, tax id, name+postcode/dob",
    )


def run_quality(dataset: Dataset, *, timeout: float) -> str:
    """The quality report (`quality.py`: oracle, calibration, review queue), as text."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.identity.quality",
        "--input",
        str(dataset.records_path),
        "--truth",
        str(dataset.truth_path),
    ]
    m = measure(command, timeout=timeout)
    if m.returncode != 0:
        return f"{dataset.name}: quality report failed ({_failure('quality', m)})"
    return f"{dataset.name}: " + m.stdout.strip()


def run_ceilings(dataset: Dataset, *, timeout: float) -> str:
    """crmhub's F1 and the data set's ceilings (`ceilings.py`) in a child process, as text
    with the child's wall clock and peak memory."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.identity.ceilings",
        "--input",
        str(dataset.records_path),
        "--truth",
        str(dataset.truth_path),
    ]
    m = measure(command, timeout=timeout)
    if m.returncode != 0:
        return f"{dataset.name}: ceilings failed ({_failure('ceilings', m)})"
    line = m.stdout.strip().splitlines()[0]
    return f"{dataset.name}: {line} [{m.seconds:.0f}s, {m.peak_mb:,.0f} MB]"


# ----------------------------------------------------------------------------------------------
# Datasets


def given_dataset(records_path: Path, truth_path: Path) -> Dataset:
    """A data set already on disk, named after its folder."""
    return Dataset(
        name=records_path.resolve().parent.name,
        records_path=records_path,
        truth_path=truth_path,
        records=len(read_truth(truth_path)),
        prepare_seconds=0.0,
    )


def prepare_dataset(
    name: str, work: Path, *, entities: int = 20_000, seed: int = 1, records: int | None = None
) -> Dataset:
    """Write a dataset under ``work/name``: FEBRL by name, or generated CRM data.

    For ``crm`` and ``webshop``, ``records`` (if given) generates enough entities and keeps
    exactly that many records (the first ones); otherwise ``entities`` entities are generated.
    """
    started = time.perf_counter()
    if name in febrl.FEBRL_DATASETS:
        records_path, truth_path = febrl.write_dataset(name, work / name)
        n = len(read_truth(truth_path))
        return Dataset(
            name=name,
            records_path=records_path,
            truth_path=truth_path,
            records=n,
            prepare_seconds=time.perf_counter() - started,
        )
    if name in _WRITTEN_APART:  # generators written apart from the first
        module, offset = _WRITTEN_APART[name]
        if records is not None:
            entities = math.ceil(records / _RECORDS_PER_ENTITY[name])
        data = module.generate(entities, seed + offset)
        while records is not None and len(data.records) < records:  # rare: top up
            entities = math.ceil(entities * 1.05)
            data = module.generate(entities, seed + offset)
        label = f"{name}-{records}" if records is not None else name
        records_path = module.write(data, work / label, limit=records)
        return Dataset(
            name=label,
            records_path=records_path,
            truth_path=work / label / "truth.csv",
            records=min(len(data.records), records or len(data.records)),
            prepare_seconds=time.perf_counter() - started,
        )
    if name != "crm":
        raise ValueError(f"unknown dataset {name!r}: choose one of {', '.join(DATASETS)}")
    if records is not None:
        entities = math.ceil(records / _RECORDS_PER_ENTITY[name])
    data = crm_generator.generate_data(entities, seed)
    while records is not None and len(data.records) < records:  # rare: top up
        entities = math.ceil(entities * 1.05)
        data = crm_generator.generate_data(entities, seed)
    label = f"crm-{records}" if records is not None else name
    records_path = crm_generator.write_dataset(data, work / label, limit=records)
    return Dataset(
        name=label if records is not None else name,
        records_path=records_path,
        truth_path=work / label / "truth.csv",
        records=min(len(data.records), records or len(data.records)),
        prepare_seconds=time.perf_counter() - started,
    )


# ----------------------------------------------------------------------------------------------
# Output


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def print_table(rows: Sequence[Row], *, file: TextIO | None = None) -> None:
    """The results as a fixed-width table."""
    out = file or sys.stdout
    header = (
        f"{'dataset':<12} {'records':>9} {'tool':<14} {'wall s':>8} {'peak MB':>8} "
        f"{'precision':>9} {'recall':>7} {'F1':>7} {'clusters/entities':>19} {'largest':>7}"
    )
    print(header, file=out)
    print("-" * len(header), file=out)
    notes: list[str] = []
    for r in rows:
        s = r.scores
        clusters = f"{s.predicted_clusters:,}/{s.true_entities:,}" if s else "—"
        largest = f"{s.largest_cluster:,}" if s else "—"
        print(
            f"{r.dataset:<12} {r.records:>9,} {r.tool:<14} {_fmt(r.seconds, '.1f'):>8} "
            f"{_fmt(r.peak_mb, '.0f'):>8} {_fmt(s.precision if s else None, '.4f'):>9} "
            f"{_fmt(s.recall if s else None, '.4f'):>7} {_fmt(s.f1 if s else None, '.4f'):>7} "
            f"{clusters:>19} {largest:>7}",
            file=out,
        )
        if r.note:
            notes.append(f"  {r.dataset}/{r.tool}: {r.note}")
    for note in notes:
        print(note, file=out)


def print_scale(rows: Sequence[Row]) -> None:
    """How wall time and memory grow with the record count, per tool."""
    print("\nscaling (exponent k in time ∝ records^k between consecutive sizes):")
    for tool in dict.fromkeys(r.tool for r in rows):
        done = [r for r in rows if r.tool == tool and r.seconds is not None]
        previous: Row | None = None
        for r in done:
            assert r.seconds is not None
            per_100k = r.seconds / (r.records / 100_000)
            growth = ""
            if previous is not None and previous.seconds:
                k = math.log(r.seconds / previous.seconds) / math.log(r.records / previous.records)
                growth = f"  k={k:.2f}"
            print(
                f"  {tool:<14} {r.records:>9,} records  {r.seconds:8.1f}s  "
                f"{per_100k:6.1f}s/100k  {_fmt(r.peak_mb, '.0f'):>6} MB{growth}"
            )
            previous = r


# ----------------------------------------------------------------------------------------------
# Command line


def main(argv: Sequence[str] | None = None) -> int:
    """Command line; returns the exit code (0 even when crmhub failed: the table says so)."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", choices=(*DATASETS, "all"), default="all")
    parser.add_argument("--entities", type=int, default=20_000, help="crm: entities to generate")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--splink",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Run the Splink baseline too (default: yes, but not in --scale mode)",
    )
    parser.add_argument("--threshold", type=float, default=0.95, help="Splink match probability")
    parser.add_argument(
        "--sweep", action="store_true", help="Also report Splink's best threshold (oracle)"
    )
    parser.add_argument(
        "--quality",
        action="store_true",
        help="Also print each data set's oracle ceiling, calibration table and review queue",
    )
    parser.add_argument("--scale", action="store_true", help="crmhub on growing CRM data")
    parser.add_argument(
        "--generator",
        choices=GENERATORS,
        default="crm",
        help="--scale: which CRM generator makes the data (webshop: seed + 2, as --dataset)",
    )
    parser.add_argument(
        "--ceilings",
        action="store_true",
        help="Also measure crmhub's F1 under each data set's exact, fuzzy and candidate "
        "ceilings (ceilings.py, in process: one more engine run per data set)",
    )
    parser.add_argument(
        "--sizes",
        default=",".join(str(s) for s in SCALE_SIZES),
        help="--scale record counts, comma-separated",
    )
    parser.add_argument(
        "--crmhub",
        type=shlex.split,
        default=None,
        help="Command to run instead of the crmhub next to this Python (it gets `resolve …`)",
    )
    parser.add_argument("--keep", type=Path, help="Work directory to keep (default: temporary)")
    parser.add_argument("--timeout", type=float, default=3600, help="Seconds per tool run")
    parser.add_argument("--json", type=Path, help="Also write the rows as JSON here")
    parser.add_argument(
        "--input",
        type=Path,
        help="A data set on disk instead of --dataset (records.jsonl[.gz]; needs --truth), "
        "e.g. FEBRL3 x 40 from make_febrl_canonical.py",
    )
    parser.add_argument("--truth", type=Path, help="--input's truth.csv")
    parser.add_argument(
        "--profile",
        help="Splink model for --input (splink_runner --profile: febrl3, febrl3-scaled, ...)",
    )
    args = parser.parse_args(argv)
    if args.input is not None and args.truth is None:
        parser.error("--input needs --truth (source,source_id,entity_id per record)")

    crmhub = args.crmhub or default_crmhub()
    splink = args.splink if args.splink is not None else not args.scale
    scratch = (
        contextlib.nullcontext(str(args.keep))
        if args.keep
        else tempfile.TemporaryDirectory(prefix="crmhub-bench-")
    )
    with scratch as tmp:
        work = Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        rows: list[Row] = []
        reports: list[str] = []
        jobs: list[tuple[str, int | None]]
        if args.scale:
            sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
            jobs = [(args.generator, size) for size in sizes]
        else:
            names = DATASETS if args.dataset == "all" else (args.dataset,)
            jobs = [(name, None) for name in names]
        if args.input is not None:
            jobs = [("input", None)]
        for name, size in jobs:
            if args.input is not None:
                dataset = given_dataset(args.input, args.truth)
            else:
                dataset = prepare_dataset(
                    name, work, entities=args.entities, seed=args.seed, records=size
                )
            print(
                f"{dataset.name}: {dataset.records:,} records prepared in "
                f"{dataset.prepare_seconds:.1f}s ({dataset.records_path})",
                flush=True,
            )
            rows.append(run_crmhub(dataset, work, crmhub=crmhub, timeout=args.timeout))
            if not args.scale:
                rows.append(run_rules(dataset))
            if args.quality:
                reports.append(run_quality(dataset, timeout=args.timeout))
            if args.ceilings:
                reports.append(run_ceilings(dataset, timeout=args.timeout))
                print(reports[-1], flush=True)
            if splink:
                rows += run_splink(
                    dataset,
                    work,
                    threshold=args.threshold,
                    sweep=args.sweep,
                    timeout=args.timeout,
                    profile=args.profile,
                )
        print()
        print_table(rows)
        for report in reports:
            print("\n" + report)
        if args.scale:
            print_scale(rows)
        if args.json:
            args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
