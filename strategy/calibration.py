"""How good a set of probabilities is: Brier score, log-loss and reliability (calibration).

Pure numpy, for any binary forecast: SC/VSC and retirement hazards, undercut success, win and
podium chances. Every function takes optional ``weights`` so that aggregated rows (k events
out of n identical trials, as the retirement model uses) score like the rows they stand for.

Reliability: the forecasts are put in bins (equal width on 0..1 by default, or equal counts
with ``strategy="quantile"``); per bin the mean forecast is set beside the observed frequency.
The expected calibration error (ECE) is the weighted mean of their absolute difference.
``bootstrap_difference`` says whether one forecast's lower log-loss than another's on the same
outcomes is more than the luck of the races drawn.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

#: Forecasts are clipped to [EPS, 1 - EPS] before logs (a 0 or 1 that misses is not infinite).
EPS = 1e-6


def _arrays(
    pred: np.ndarray | list[float], outcome: np.ndarray | list[float], weights=None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = np.asarray(pred, dtype=float).ravel()
    y = np.asarray(outcome, dtype=float).ravel()
    if p.shape != y.shape:
        raise ValueError(f"{len(p)} forecasts but {len(y)} outcomes")
    w = np.ones_like(p) if weights is None else np.asarray(weights, dtype=float).ravel()
    if w.shape != p.shape:
        raise ValueError(f"{len(p)} forecasts but {len(w)} weights")
    if np.any((p < 0) | (p > 1)) or np.any(np.isnan(p)):
        raise ValueError("forecasts must be probabilities in [0, 1]")
    return p, y, w


def brier(pred, outcome, weights=None) -> float:
    """Mean squared difference between forecast and outcome (0 best; 0.25 for a coin)."""
    p, y, w = _arrays(pred, outcome, weights)
    return float(np.sum(w * (p - y) ** 2) / np.sum(w)) if np.sum(w) > 0 else float("nan")


def log_loss(pred, outcome, weights=None) -> float:
    """Mean negative log-likelihood of the outcomes (nats; lower is better)."""
    p, y, w = _arrays(pred, outcome, weights)
    if np.sum(w) <= 0:
        return float("nan")
    p = np.clip(p, EPS, 1 - EPS)
    return float(-np.sum(w * (y * np.log(p) + (1 - y) * np.log(1 - p))) / np.sum(w))


@dataclass
class ReliabilityBin:
    lo: float
    hi: float
    n: float  # weight of the forecasts in the bin
    predicted: float  # mean forecast
    observed: float  # observed frequency


@dataclass
class Reliability:
    """Bins of forecast vs outcome, and the scores over all forecasts."""

    bins: list[ReliabilityBin] = field(default_factory=list)
    ece: float = float("nan")
    brier: float = float("nan")
    log_loss: float = float("nan")
    n: float = 0.0
    base_rate: float = float("nan")  # observed frequency over all forecasts
    mean_predicted: float = float("nan")

    def to_dict(self) -> dict:
        return asdict(self)


def bin_edges(pred, n_bins: int = 10, strategy: str = "uniform") -> np.ndarray:
    """Bin edges on [0, 1]: equal width, or at the forecasts' quantiles (equal counts)."""
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    if strategy == "quantile":
        p = np.asarray(pred, dtype=float).ravel()
        inner = np.unique(np.quantile(p, np.linspace(0, 1, n_bins + 1)[1:-1]))
        return np.concatenate([[0.0], inner, [1.0]])
    raise ValueError(f"strategy {strategy!r}: use 'uniform' or 'quantile'")


def reliability(
    pred, outcome, weights=None, n_bins: int = 10, strategy: str = "uniform"
) -> Reliability:
    """Predicted vs observed per bin, ECE, Brier and log-loss of binary forecasts.

    Empty bins are left out. A forecast equal to an inner edge falls in the bin above it;
    1.0 falls in the last bin.
    """
    p, y, w = _arrays(pred, outcome, weights)
    total = float(np.sum(w))
    if total <= 0:
        return Reliability()
    edges = bin_edges(p, n_bins, strategy)
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    bins = []
    ece = 0.0
    for k in range(len(edges) - 1):
        m = idx == k
        wk = float(np.sum(w[m]))
        if wk <= 0:
            continue
        pk = float(np.sum(w[m] * p[m]) / wk)
        ok = float(np.sum(w[m] * y[m]) / wk)
        bins.append(ReliabilityBin(float(edges[k]), float(edges[k + 1]), wk, pk, ok))
        ece += wk / total * abs(pk - ok)
    return Reliability(
        bins=bins,
        ece=float(ece),
        brier=brier(p, y, w),
        log_loss=log_loss(p, y, w),
        n=total,
        base_rate=float(np.sum(w * y) / total),
        mean_predicted=float(np.sum(w * p) / total),
    )


def expected_calibration_error(
    pred, outcome, weights=None, n_bins: int = 10, strategy: str = "uniform"
) -> float:
    """ECE: the weighted mean |mean forecast - observed frequency| over the bins."""
    return reliability(pred, outcome, weights, n_bins, strategy).ece


def row_log_loss(pred, outcome) -> np.ndarray:
    """Each forecast's negative log-likelihood (nats)."""
    p = np.clip(np.asarray(pred, dtype=float), EPS, 1 - EPS)
    y = np.asarray(outcome, dtype=float)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def bootstrap_difference(
    pred_a,
    pred_b,
    outcome,
    groups,
    weights=None,
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Log-loss of forecasts ``b`` minus that of ``a`` on the same outcomes, and its 95%
    interval from resampling whole ``groups`` (races) with replacement: positive when ``a``
    is better. Rows of a race share its luck (one safety car shows in every lap after it), so
    races, not rows, are the independent draws."""
    a, y, w = _arrays(pred_a, outcome, weights)
    b, _, _ = _arrays(pred_b, outcome, weights)
    g = np.asarray(groups).ravel()
    if g.shape != a.shape:
        raise ValueError(f"{len(a)} forecasts but {len(g)} groups")
    codes, index = np.unique(g, return_inverse=True)
    k = len(codes)
    la = np.bincount(index, w * row_log_loss(a, y), k)
    lb = np.bincount(index, w * row_log_loss(b, y), k)
    wk = np.bincount(index, w, k)
    diff = float((lb.sum() - la.sum()) / wk.sum())
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, k, size=(n_boot, k))
    counts = np.apply_along_axis(np.bincount, 1, draws, minlength=k)
    boot = (counts @ lb - counts @ la) / (counts @ wk)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    return diff, float(lo), float(hi)


def group_weights(groups) -> np.ndarray:
    """Row weights that make each group (a lap of a race) count once in a weighted score,
    whatever its number of rows (cars)."""
    _, index, sizes = np.unique(np.asarray(groups).ravel(), return_inverse=True, return_counts=True)
    return 1.0 / sizes[index]
