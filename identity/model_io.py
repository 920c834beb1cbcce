"""A fitted `Model` as bytes and back, so a later run can score without estimating again.

The parameters (m, u, the prior, the term-frequency tables) are stored as compressed JSON,
never pickled: reading a stored model runs no code. The comparisons themselves are code;
they are stored by name and number of levels and matched against the comparisons the
reading run has, and a stored model that does not fit them is refused (`ModelMismatch`):
the caller then estimates a new one.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
import pandas as pd

from identity.levels import Comparison
from identity.model import ModelSpec
from identity.score import Model

__all__ = ["ModelMismatch", "fingerprint", "model_from_bytes", "model_to_bytes"]

_FORMAT = 1


class ModelMismatch(ValueError):
    """A stored model was fitted for other comparisons than the reading run's."""


def _shape(comparisons: Sequence[Comparison]) -> list[list[Any]]:
    return [[c.name, list(c.levels), c.role.value] for c in comparisons]


def fingerprint(spec: ModelSpec) -> str:
    """A digest of everything in `spec` a stored model and key index depend on: the
    comparisons (names, levels, roles), blocking, thresholds, training and survivorship. A
    run whose spec has another fingerprint cannot build on a stored model."""
    b, t, tr, s = spec.blocking, spec.thresholds, spec.training, spec.survivorship
    described = {
        "format": _FORMAT,
        "comparisons": _shape(spec.comparisons),
        "rules": [[r.name, list(r.columns), *([r.across] if r.across else [])] for r in b.rules],
        "blocking": [b.max_block, b.max_shared, b.complete_clusters_up_to],
        "thresholds": [t.upper, t.lower, t.conflict_bits],
        "training": [tr.random_pairs, tr.max_iterations, tr.seed, [repr(x) for x in tr.sessions]],
        "survivorship": [list(s.source_priority), sorted(dict(s.rules).items())],
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


def model_to_bytes(model: Model) -> bytes:
    """The model's parameters as zlib-compressed JSON."""
    doc = {
        "format": _FORMAT,
        "comparisons": _shape(model.comparisons),
        "m": [np.asarray(a, dtype=np.float64).tolist() for a in model.m],
        "u": [np.asarray(a, dtype=np.float64).tolist() for a in model.u],
        "prior": float(model.prior),
        "iterations": int(model.iterations),
        "prior_candidates": float(model.prior_candidates),
        "tf": {
            name: [series.index.tolist(), series.to_numpy(dtype=np.float64).tolist()]
            for name, series in model.tf.items()
        },
    }
    return zlib.compress(orjson.dumps(doc), 3)


def model_from_bytes(data: bytes, comparisons: Sequence[Comparison]) -> Model:
    """The stored model, bound to `comparisons` (the reading run's, in the stored order).

    Raises ModelMismatch when the stored model was fitted for other comparisons.
    """
    doc = orjson.loads(zlib.decompress(data))
    if doc.get("format") != _FORMAT:
        raise ModelMismatch(f"stored model format {doc.get('format')!r}, expected {_FORMAT}")
    if doc["comparisons"] != _shape(comparisons):
        raise ModelMismatch("the stored model was fitted for other comparisons")
    tf = {
        name: pd.Series(values, index=pd.Index(index, dtype=object), dtype=np.float64)
        for name, (index, values) in doc["tf"].items()
    }
    return Model(
        tuple(comparisons),
        [np.asarray(a, dtype=np.float64) for a in doc["m"]],
        [np.asarray(a, dtype=np.float64) for a in doc["u"]],
        float(doc["prior"]),
        iterations=int(doc["iterations"]),
        prior_candidates=float(doc["prior_candidates"]),
        tf=tf,
    )
