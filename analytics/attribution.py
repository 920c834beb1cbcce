"""Why a gradient-boosting model scored a row as it did: path attribution per feature group.

For each tree, every node's expected output is the training-count-weighted mean of the
leaves below it (the root's is the tree's expected output). Walking from the root to the
row's leaf, each split moves the expected output from the parent's to the child's; that
move is credited to the feature the parent splits on (Saabas' path attribution, the
per-tree decomposition that TreeSHAP refines). Summed over trees, a row's credits add up
exactly to its raw score (log-odds) minus the model's expected raw score, so they say
how much each feature group pushed this row's score up or down.

The credits of a leaf do not depend on the row, so they are tabulated once per tree
(leaves x groups); a row's share is then one look-up of its leaf. The leaf of every row
is found by scikit-learn's own compiled predictor run on a copy of the tree whose leaves
hold their own index, so rows follow exactly the splits `predict_proba` follows (numeric
thresholds, missing values to the learned side).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

__all__ = ["expected_raw", "path_contributions"]


def _node_means(nodes: np.ndarray) -> np.ndarray:
    """Each node's expected output: its leaves' values weighted by training counts.
    Children always come after their parent in the array, so one backward pass does."""
    mean = nodes["value"].astype(float).copy()
    count = nodes["count"].astype(float)
    for j in range(len(nodes) - 1, -1, -1):
        if not nodes["is_leaf"][j]:
            left, right = nodes["left"][j], nodes["right"][j]
            total = count[left] + count[right]
            mean[j] = (count[left] * mean[left] + count[right] * mean[right]) / max(total, 1.0)
    return mean


def _leaf_table(nodes: np.ndarray, group_of: np.ndarray, n_groups: int) -> np.ndarray:
    """Per node (leaves are the ones used) the credits per group along its path."""
    mean = _node_means(nodes)
    table = np.zeros((len(nodes), n_groups))
    for j in range(len(nodes)):  # parents first
        if nodes["is_leaf"][j]:
            continue
        g = group_of[nodes["feature_idx"][j]]
        for child in (nodes["left"][j], nodes["right"][j]):
            table[child] = table[j]
            if g >= 0:
                table[child, g] += mean[child] - mean[j]
    return table


def _trees(classifier: HistGradientBoostingClassifier) -> list[TreePredictor]:
    predictors = classifier._predictors  # one list per iteration; binary: one tree each
    if any(len(per_iteration) != 1 for per_iteration in predictors):
        raise ValueError("path attribution is written for a binary classifier")
    return [per_iteration[0] for per_iteration in predictors]


def expected_raw(classifier: HistGradientBoostingClassifier) -> float:
    """The model's expected raw score (log-odds): what a row with no credits would get."""
    baseline = float(np.ravel(classifier._baseline_prediction)[0])
    return baseline + sum(float(_node_means(t.nodes)[0]) for t in _trees(classifier))


def path_contributions(
    classifier: HistGradientBoostingClassifier,
    X: np.ndarray,
    groups: Sequence[Sequence[int]],
    *,
    n_threads: int = 1,
) -> np.ndarray:
    """Rows x groups: each group's credit (log-odds) for each row of `X`; a feature in
    no group is credited to none. Each row's credits sum to its raw score minus
    `expected_raw` when every feature is in a group."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    group_of = np.full(X.shape[1], -1)
    for g, features in enumerate(groups):
        group_of[list(features)] = g
    known_cat_bitsets, f_idx_map = classifier._bin_mapper.make_known_categories_bitsets()
    out = np.zeros((len(X), len(groups)))
    for tree in _trees(classifier):
        table = _leaf_table(tree.nodes, group_of, len(groups))
        numbered = tree.nodes.copy()
        numbered["value"] = np.arange(len(numbered), dtype=float)
        finder = TreePredictor(numbered, tree.binned_left_cat_bitsets, tree.raw_left_cat_bitsets)
        leaf = finder.predict(X, known_cat_bitsets, f_idx_map, n_threads).astype(np.int64)
        out += table[leaf]
    return out
