"""One analytics run: interactions in, one row per customer and segment values out.

`analyse(raw, as_of, spec)` prepares the interactions (a `Backend` does the row work), then
fits and applies the models on the per-customer frames: traits, BG/NBD + Gamma-Gamma
(p_alive, 12-month value), churn risk with reasons (trained on snapshots of the history),
value and profit, RFM segments, behaviour types, lifecycle stage, next best offers, and the
value of every segmentation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import sparse

from analytics.backends import Backend
from analytics.btyd import MODELS, BetaGeo, GammaGamma, PurchaseModel, select
from analytics.churn import (
    EXPLAIN_FROM,
    FEATURES,
    GROUPS,
    ChurnModel,
    churn_features,
    reasons,
    rule_risk,
)
from analytics.customer_types import TypeModel, behaviour_features, find_types
from analytics.frame import Prepared
from analytics.lifecycle import lifecycle_stage
from analytics.model import AnalysisSpec
from analytics.offers import combine, next_best_offers, upsell_offers
from analytics.regime import RegimeBetaGeo
from analytics.rfm import rfm_scores, rfm_segments
from analytics.segments import lorenz, segment_value
from analytics.traits import PURCHASE, TraitSpec

__all__ = [
    "CUSTOMER_COLUMNS",
    "Analysis",
    "analyse",
    "churn_snapshots",
    "describe_purchase_model",
    "prepare_input",
    "with_horizon",
]

CUSTOMER_COLUMNS = (
    "customer_id", "recency_days", "frequency", "monetary", "clv_12m", "p_alive",
    "churn_risk", "churn_reasons", "stage", "customer_type", "next_best_offers",
)  # fmt: skip
WEEKS_PER_MONTH = 52.1775 / 12
MIN_FIT = 20  # buyers needed to fit BG/NBD; below, PRIOR stands in
PRIOR = BetaGeo(r=0.243, alpha=4.414, a=0.793, b=2.426)


@dataclass(frozen=True, kw_only=True)
class Analysis:
    """A run's results: per customer (`CUSTOMER_COLUMNS` first, then traits and value),
    per segment, the profit Lorenz curve, the fitted models and what was left out."""

    customers: pd.DataFrame
    segments: pd.DataFrame
    lorenz: pd.DataFrame
    bgnbd: PurchaseModel | RegimeBetaGeo | None  # BG/NBD, or the model the spec chose
    gamma_gamma: GammaGamma | None
    churn_model: ChurnModel | None  # None: rules stood in
    types: TypeModel | None
    rejected: dict[str, int] = field(default_factory=dict)


def _label_spec(days: int) -> tuple[TraitSpec, ...]:
    return (TraitSpec(name="bought", aggregation="count", window_days=days, condition=PURCHASE),)


def _btyd(
    summary: pd.DataFrame,
    bought: np.ndarray,
    horizon_weeks: float,
    kind: str = "bgnbd",
    ages: np.ndarray | None = None,
) -> tuple[PurchaseModel | RegimeBetaGeo | None, np.ndarray, np.ndarray]:
    """The purchase model (`kind`, BG/NBD by default; "regime" needs the pooled repeat
    purchase `ages`) on the buyers: the model, P(alive) and the expected purchases in the
    horizon per customer (NaN and 0 for those who never bought)."""
    p_alive = np.full(len(summary), np.nan)
    expected = np.zeros(len(summary))
    if not bought.any():
        return None, p_alive, expected
    s = summary.loc[bought]
    args = (s["x"].to_numpy(), s["t_x"].to_numpy(), s["T"].to_numpy())
    # Too few buyers to fit: the published CDNOW estimates stand in as a prior.
    model: PurchaseModel | RegimeBetaGeo = PRIOR
    if bought.sum() >= MIN_FIT and kind == "regime":
        if ages is None:
            raise ValueError("purchase model 'regime': the repeat-purchase ages are missing")
        model = RegimeBetaGeo.fit(*args, ages)
    elif bought.sum() >= MIN_FIT:
        model = MODELS[kind].fit(*args)
    p_alive[bought] = model.p_alive(*args)
    expected[bought] = model.expected_purchases(horizon_weeks, *args)
    return model, p_alive, expected


def describe_purchase_model(model: PurchaseModel | RegimeBetaGeo | None) -> str:
    """The purchase model an analysis used, in words for its run note."""
    if model is None:
        return "no purchases yet"
    if model is PRIOR:
        return f"the published CDNOW BG/NBD (fewer than {MIN_FIT} buyers to fit)"
    if isinstance(model, RegimeBetaGeo):
        return "BG/NBD with a new-customer regime"
    return "BG/NBD" if isinstance(model, BetaGeo) else "Pareto/NBD"


def purchase_model_kind(data: Prepared, spec: AnalysisSpec, backend: Backend) -> str:
    """The spec's purchase model; for "auto", the one `analytics.btyd.select` chooses on
    the last `selection_weeks` before the cut-off (the bought-before customers)."""
    kind = spec.value.purchase_model
    if kind != "auto":
        return kind
    weeks = spec.value.selection_weeks
    earlier = backend.summary(data, data.as_of - pd.Timedelta(weeks=weeks))
    now = backend.summary(data, data.as_of)
    seen = earlier["n_days"].to_numpy() > 0
    if seen.sum() < MIN_FIT:
        return "bgnbd"
    later = (now["n_days"].to_numpy() - earlier["n_days"].to_numpy())[seen]
    e = earlier.loc[seen]
    chosen, _ = select(e["x"].to_numpy(), e["t_x"].to_numpy(), e["T"].to_numpy(), later, weeks)
    return chosen


def churn_snapshots(
    data: Prepared, spec: AnalysisSpec, backend: Backend, kind: str = "bgnbd"
) -> tuple[pd.DataFrame, np.ndarray]:
    """Training rows: at cut-offs h, 2h, … days before the run's, the features of every
    customer who had bought by then (a random `max_train_rows / snapshots` of them when
    more), and whether they then bought nothing for h days."""
    h = spec.churn.horizon_days
    frames, labels = [], []
    per_snapshot = -(-spec.churn.max_train_rows // max(spec.churn.snapshots, 1))
    rng = np.random.default_rng(spec.churn.seed)
    for k in range(1, spec.churn.snapshots + 1):
        cut = data.as_of - pd.Timedelta(days=k * h)
        summary = backend.summary(data, cut)
        bought = summary["n_days"].to_numpy() > 0
        if bought.sum() < 2:
            break
        ages = backend.repeat_ages(data, cut) if kind == "regime" else None
        _, p_alive, expected = _btyd(summary, bought, h / 7.0, kind, ages)
        traits = backend.traits(data, tuple(t for t in spec.traits if t.name in FEATURES), cut)
        features = churn_features(traits, summary, p_alive, expected).loc[bought]
        later = backend.traits(data, _label_spec(h), cut + pd.Timedelta(days=h))["bought"]
        label = later.to_numpy()[bought] == 0
        if len(features) > per_snapshot:  # the model sees at most max_train_rows in all
            pick = np.sort(rng.choice(len(features), per_snapshot, replace=False))
            features, label = features.iloc[pick], label[pick]
        frames.append(features)
        labels.append(label)
    if not frames:
        return pd.DataFrame(), np.zeros(0, dtype=bool)
    return pd.concat(frames, ignore_index=True), np.concatenate(labels)


def prepare_input(
    raw: pd.DataFrame,
    as_of: pd.Timestamp | str,
    spec: AnalysisSpec | None = None,
    *,
    customers: pd.DataFrame | None = None,
    backend: Backend | None = None,
) -> Prepared:
    """`analyse`'s first step on its own: the interactions validated and coded. A caller
    that then lets go of `raw` (ten million rows of text) runs `analyse` on this in much
    less memory."""
    from analytics.backends.local import LocalBackend

    spec = spec or AnalysisSpec()
    known: Sequence[str] = () if customers is None else customers["customer_id"].astype(str)
    return (backend or LocalBackend()).prepare(raw, spec, pd.Timestamp(as_of), known)


def analyse(
    raw: pd.DataFrame | Prepared,
    as_of: pd.Timestamp | str,
    spec: AnalysisSpec | None = None,
    *,
    customers: pd.DataFrame | None = None,
    backend: Backend | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> Analysis:
    """Analyse `raw` interactions (canonical columns plus `customer_id`, or already
    prepared by `prepare_input` with the same `as_of`, spec and customers) as of `as_of`.
    `customers` (optional, with `customer_id` and attributes such as `birth_date` or
    `segment`) adds customers known without interactions and attribute segmentations."""
    from threadpoolctl import threadpool_limits

    spec = spec or AnalysisSpec()
    with threadpool_limits(limits=spec.threads, user_api="openmp"):
        return _analyse(raw, as_of, spec, customers, backend, progress)


def _analyse(
    raw: pd.DataFrame | Prepared,
    as_of: pd.Timestamp | str,
    spec: AnalysisSpec,
    customers: pd.DataFrame | None,
    backend: Backend | None,
    progress: Callable[[str], None],
) -> Analysis:
    from analytics.backends.local import LocalBackend

    backend = backend or LocalBackend()
    progress("preparing interactions")
    if isinstance(raw, Prepared):
        data = raw
    else:
        data = prepare_input(raw, as_of, spec, customers=customers, backend=backend)
    as_of_ts = data.as_of
    progress("computing traits")
    traits = backend.traits(data, spec.traits, as_of_ts)
    summary = backend.summary(data, as_of_ts)
    bought = summary["n_days"].to_numpy() > 0
    progress("fitting BG/NBD and Gamma-Gamma")
    kind = purchase_model_kind(data, spec, backend)
    ages = backend.repeat_ages(data, as_of_ts) if kind == "regime" else None
    horizon = spec.churn.horizon_days / 7.0
    bgnbd, p_alive, expected_h = _btyd(summary, bought, horizon, kind, ages)
    gg = GammaGamma.fit(summary["x"].to_numpy()[bought], summary["m"].to_numpy()[bought])
    if ((summary["x"] > 0) & (summary["m"] > 0)).sum() < MIN_FIT and bought.any():
        spend = traits["average_order"].to_numpy(dtype=float)[bought]
        gg = GammaGamma(p=1.0, q=2.0, v=float(np.nanmean(spend)) if len(spend) else 1.0)
    clv = np.zeros(len(summary))
    if bgnbd is not None:
        s = summary.loc[bought]
        args = (s["x"].to_numpy(), s["t_x"].to_numpy(), s["T"].to_numpy())
        purchases = bgnbd.expected_purchases(spec.value.clv_months * WEEKS_PER_MONTH, *args)
        clv[bought] = purchases * gg.expected_spend(s["x"].to_numpy(), s["m"].to_numpy())
    progress("training churn model on snapshots")
    features = churn_features(traits, summary, p_alive, expected_h)
    train_x, train_y = churn_snapshots(data, spec, backend, kind)
    model = ChurnModel.train(train_x, train_y, spec.churn) if len(train_x) else None
    risk = np.full(len(summary), np.nan)
    contributions = None
    scored = features.loc[bought]
    if model is not None:
        risk[bought] = model.predict(scored)
        explained = risk[bought] >= EXPLAIN_FROM  # only these get reasons from the model
        contributions = pd.DataFrame(0.0, index=scored.index, columns=list(GROUPS))
        contributions.loc[explained] = model.contributions(scored.loc[explained]).to_numpy()
    else:
        risk[bought] = rule_risk(expected_h[bought])
    why = np.full(len(summary), "", dtype=object)
    why[bought] = reasons(
        scored, contributions, risk[bought], top=spec.churn.reasons, explain_from=EXPLAIN_FROM
    )
    progress("value, segments and types")
    value = backend.value(data, spec.value, as_of_ts)
    out = pd.DataFrame({"customer_id": data.customer_ids})
    out["recency_days"] = traits["recency_days"].to_numpy()
    out["frequency"] = traits["frequency"].to_numpy().astype(np.int64)
    out["monetary"] = traits["monetary"].to_numpy()
    out["clv_12m"] = clv
    out["p_alive"] = p_alive
    out["churn_risk"] = risk
    out["churn_reasons"] = why
    scores = rfm_scores(traits["recency_days"], traits["frequency"], traits["monetary"])
    out["rfm_segment"] = rfm_segments(scores, spec.rfm_segments).to_numpy()
    mix = backend.mix(data, ("channel", "category"), as_of_ts)
    types = None
    out["customer_type"] = "prospect"
    if bought.any():
        types = find_types(
            behaviour_features(traits.loc[bought], mix.loc[bought], spec.clustering),
            spec.clustering,
        )
        out.loc[bought, "customer_type"] = types.labels.to_numpy()
    progress("lifecycle and next best offers")
    bought_n, items = backend.holdings(data, spec.offers.item_field, as_of_ts, counts=True)
    held = bought_n.sign()
    before, _ = backend.holdings(data, spec.offers.item_field, as_of_ts - pd.Timedelta(days=365))
    before = _align(before, _, items)
    had_any = np.asarray(before.sum(axis=1)).ravel() > 0
    new_items = np.asarray((held - before.multiply(held)).sum(axis=1)).ravel() * had_any
    out["stage"] = lifecycle_stage(
        traits, pd.Series(risk), pd.Series(new_items), spec.lifecycle
    ).to_numpy()
    longest = max((len(t) for t in spec.offers.tiers.values()), default=0)
    offers = next_best_offers(
        held,
        items,
        top=spec.offers.top + longest,  # room for the ladders' tiers left out below
        min_support=spec.offers.min_support,
        counts=bought_n,
    )
    if spec.offers.tiers:
        upsells, other_tiers = upsell_offers(held, items, spec.offers.tiers)
        offers = combine(upsells, offers, spec.offers.top, other_tiers)
    else:  # cross-sells only (no per-customer sets for ladders nobody declared)
        offers = [o[: spec.offers.top] for o in offers]
    out["next_best_offers"] = [";".join(o) for o in offers]
    for col in ("revenue", "margin", "cost_to_serve", "profit"):
        out[col] = value[col].to_numpy()
    for trait in spec.traits:
        if trait.name not in out:
            out[trait.name] = traits[trait.name].array  # keeps time zones, no copy
    segmentations = [("customer_type", out["customer_type"]), ("rfm", out["rfm_segment"]),
                     ("stage", out["stage"])]  # fmt: skip
    if customers is not None:
        ids = customers["customer_id"].astype(str)
        attrs = customers.assign(customer_id=ids).drop_duplicates("customer_id")
        attrs = attrs.set_index("customer_id")
        for name in [c for c in attrs.columns if c != "birth_date"]:
            labels = attrs[name].reindex(out["customer_id"]).fillna("unknown").astype(str)
            segmentations.append((name, labels.set_axis(out.index)))
        if "birth_date" in attrs:
            born = pd.to_datetime(attrs["birth_date"], errors="coerce").reindex(out["customer_id"])
            out["birthday"] = born.dt.strftime("%m-%d").to_numpy()
    segments = pd.concat(
        [segment_value(n, lab, out["revenue"], out["profit"]) for n, lab in segmentations],
        ignore_index=True,
    )
    return Analysis(
        customers=out,
        segments=segments,
        lorenz=lorenz(out["profit"]),
        bgnbd=bgnbd,
        gamma_gamma=gg,
        churn_model=model,
        types=types,
        rejected=dict(data.rejected),
    )


def _align(matrix: sparse.csr_matrix, items: np.ndarray, target: np.ndarray) -> sparse.csr_matrix:
    """`matrix`'s columns (named `items`) re-laid on the `target` item names."""
    m = sparse.csr_matrix(matrix)
    where = np.searchsorted(target, items)
    mapping = sparse.csr_matrix(
        (np.ones(len(items)), (np.arange(len(items)), where)), shape=(len(items), len(target))
    )
    return sparse.csr_matrix(m @ mapping)


def with_horizon(spec: AnalysisSpec, days: int) -> AnalysisSpec:
    """`spec` with the churn horizon set to `days`."""
    return replace(spec, churn=replace(spec.churn, horizon_days=days))
