"""Customer types found from behaviour: k-means on scaled RFM plus channel and category mix.

The number of types is the one with the best silhouette (on a sample) between the spec's
`min_k` and `max_k`; k-means is fitted on a sample and every customer assigned. Each type is
described in words from how its mean differs from the population's, in standard deviations
("frequent big-basket web buyers").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

from analytics.model import Clustering

__all__ = ["TypeModel", "behaviour_features", "find_types"]

# feature -> (word when above the population, word when below)
WORDS = {
    "log_frequency": ("frequent", "occasional"),
    "log_average_order": ("big-basket", "small-basket"),
    "log_recency": ("lapsing", "recent"),
    "log_tenure": ("long-standing", "newer"),
}


def behaviour_features(traits: pd.DataFrame, mix: pd.DataFrame, spec: Clustering) -> pd.DataFrame:
    """The features types are found on, for customers who bought: log RFM and tenure plus
    the share of purchases by channel and by category (`mix`: columns `channel:…`,
    `category:…`, shares per customer)."""
    out = pd.DataFrame(index=traits.index)
    out["log_recency"] = np.log1p(traits["recency_days"].astype(float))
    out["log_frequency"] = np.log1p(traits["frequency"].astype(float))
    out["log_average_order"] = np.log1p(traits["average_order"].astype(float).clip(lower=0))
    out["log_tenure"] = np.log1p(traits["tenure_days"].astype(float))
    keep: list[str] = []
    for prefix, top in (("channel:", spec.top_channels), ("category:", spec.top_categories)):
        cols = [c for c in mix.columns if c.startswith(prefix)]
        keep += list(mix[cols].sum().sort_values(ascending=False).index[:top])
    return out.join(mix[keep]).fillna(0.0)


@dataclass(frozen=True, kw_only=True)
class TypeModel:
    """The types found: labels per customer, descriptions, and how k was chosen."""

    labels: pd.Series  # description per customer (index as the features')
    descriptions: tuple[str, ...]
    k: int
    silhouettes: dict[int, float]


def _describe(z: pd.Series) -> str:
    words: list[str] = []
    for feature, (high, low) in WORDS.items():
        if abs(z[feature]) >= 0.5:
            words.append(high if z[feature] > 0 else low)
    mixes = z[[c for c in z.index if ":" in c]].sort_values(ascending=False)
    channel = next((c for c in mixes.index if c.startswith("channel:") and mixes[c] >= 0.5), None)
    category = next((c for c in mixes.index if c.startswith("category:") and mixes[c] >= 0.5), None)
    noun = "buyers"
    if category is not None:
        noun = f"{category.split(':', 1)[1]} buyers"
    if channel is not None:
        noun = f"{channel.split(':', 1)[1]} {noun}"
    return " ".join([*words[:3], noun]) if words or channel or category else "typical buyers"


def find_types(features: pd.DataFrame, spec: Clustering) -> TypeModel:
    """Cluster `features` (one row per customer who bought) into behaviour types."""
    n = len(features)
    if n < max(spec.min_k * 5, 20):
        labels = pd.Series("all buyers", index=features.index, dtype=object)
        return TypeModel(labels=labels, descriptions=("all buyers",), k=1, silhouettes={})
    values = features.to_numpy(dtype=float)
    mean, std = values.mean(axis=0), values.std(axis=0)
    std[std == 0] = 1.0
    scaled = (values - mean) / std
    rng = np.random.default_rng(spec.seed)
    fit_rows = rng.choice(n, min(n, spec.fit_sample), replace=False)
    probe = rng.choice(n, min(n, spec.sample), replace=False)
    silhouettes: dict[int, float] = {}
    models: dict[int, KMeans] = {}
    for k in range(spec.min_k, min(spec.max_k, n - 1) + 1):
        model = KMeans(n_clusters=k, n_init=1, random_state=spec.seed).fit(scaled[fit_rows])
        probe_labels = model.predict(scaled[probe])
        if len(set(probe_labels)) < 2:
            continue
        silhouettes[k] = float(silhouette_score(scaled[probe], probe_labels))
        models[k] = model
    best = max(silhouettes, key=lambda k: silhouettes[k]) if silhouettes else spec.min_k
    model = models.get(best) or KMeans(n_clusters=best, random_state=spec.seed).fit(scaled)
    codes = model.predict(scaled)
    sizes = np.bincount(codes, minlength=best)
    names: list[str] = []
    for c in np.argsort(-sizes):  # largest type first, so its name is the plain one
        z = pd.Series(scaled[codes == c].mean(axis=0), index=features.columns)
        for col in features.columns:
            if ":" in col:  # mixes described by their share, not their z-score
                z[col] = values[codes == c, features.columns.get_loc(col)].mean()
        base = name = _describe(z)
        suffix = 2
        while name in names:
            name, suffix = f"{base} ({suffix})", suffix + 1
        names.append(name)
    by_code = dict(zip(np.argsort(-sizes), names, strict=True))
    labels = pd.Series([by_code[c] for c in codes], index=features.index, dtype=object)
    return TypeModel(labels=labels, descriptions=tuple(names), k=best, silhouettes=silhouettes)
