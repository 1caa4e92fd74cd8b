"""The statistics regression detection needs, in numpy (scipy is not a dependency).

Mann-Whitney U with the normal approximation: rank-based, so one wild latency spike cannot fake
a regression, and no distributional assumption about metric noise.
"""

from __future__ import annotations

import math

import numpy as np


def average_ranks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """1-based ranks with ties sharing their average rank, and the size of each tie group."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    group_rank = ends - (counts - 1) / 2.0  # mean of ranks end-count+1 .. end
    return group_rank[inverse], counts


def mann_whitney_greater_p(sample: np.ndarray, reference: np.ndarray) -> float:
    """One-sided p-value for "``sample`` tends to be larger than ``reference``".

    Normal approximation with tie and continuity corrections; accurate enough from about eight
    points per side, which the tracker's default windows (20 recent, 100 baseline) exceed.
    """
    n1, n2 = len(sample), len(reference)
    if n1 == 0 or n2 == 0:
        return 1.0
    ranks, ties = average_ranks(np.concatenate([sample, reference]))
    u = float(ranks[:n1].sum()) - n1 * (n1 + 1) / 2.0
    n = n1 + n2
    tie_term = float((ties.astype(np.float64) ** 3 - ties).sum())
    variance = n1 * n2 / 12.0 * ((n + 1) - tie_term / (n * (n - 1)))
    if variance <= 0:  # every value equal: no evidence either way
        return 1.0
    z = (u - n1 * n2 / 2.0 - 0.5) / math.sqrt(variance)
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def weighted_slope(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> float | None:
    """Weighted least-squares slope of ``y`` on ``x``; None when ``x`` has no spread."""
    if len(x) < 2:
        return None
    w = weights / weights.sum()
    x_mean = float((w * x).sum())
    y_mean = float((w * y).sum())
    spread = float((w * (x - x_mean) ** 2).sum())
    if spread <= 0:
        return None
    return float((w * (x - x_mean) * (y - y_mean)).sum()) / spread
