"""Per-race calibration: win chances that sum to 1, podium chances that sum to 3.

A classifier scores each driver on his own; a race has exactly one winner and three podium
places, so its chances are renormalised within the race. ``softmax_by_race`` turns scores
into win chances (a conditional logit with a temperature fitted by ``fit_temperature``);
``cap_to_total`` scales chances to a total of 3 with none above 1; ``harville_top_k``
derives podium chances from win chances (Plackett-Luce: the winner is drawn, then the next
from the rest in proportion to their chances).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

EPS = 1e-9


def group_index(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, counts) of the group labels, codes in first-seen order."""
    _, first, codes = np.unique(groups, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    codes = order[codes]
    return codes, np.bincount(codes)


def softmax_by_race(scores: np.ndarray, groups: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Chances proportional to ``exp(score / temperature)`` within each group."""
    codes, _ = group_index(groups)
    z = np.asarray(scores, dtype=float) / temperature
    top = np.full(codes.max() + 1, -np.inf)
    np.maximum.at(top, codes, z)
    e = np.exp(z - top[codes])
    total = np.bincount(codes, weights=e)
    return e / total[codes]


def normalize_by_race(p: np.ndarray, groups: np.ndarray, total: float = 1.0) -> np.ndarray:
    """Scale chances so each group sums to ``total`` (a group of zeros gets equal shares)."""
    codes, counts = group_index(groups)
    p = np.clip(np.asarray(p, dtype=float), 0.0, None)
    sums = np.bincount(codes, weights=p)
    flat = sums[codes] <= 0
    out = np.where(flat, total / counts[codes], p * total / np.where(flat, 1.0, sums[codes]))
    return out


def cap_to_total(
    p: np.ndarray, groups: np.ndarray, total: float = 3.0, floor: np.ndarray | None = None
) -> np.ndarray:
    """Scale each group to sum to ``total`` with every chance between its ``floor`` (default
    0; a driver's win chance for his podium chance) and 1 (water-filling)."""
    codes, counts = group_index(groups)
    p = np.clip(np.asarray(p, dtype=float), EPS, None)
    low = np.zeros(len(p)) if floor is None else np.clip(np.asarray(floor, float), 0.0, 1.0)
    out = np.empty(len(p))
    for g in range(len(counts)):
        idx = np.flatnonzero(codes == g)
        target = min(total, len(idx))
        lo, v = low[idx], np.maximum(p[idx], low[idx])
        fixed = np.zeros(len(v), dtype=bool)
        for _ in range(2 * len(v) + 1):
            free = ~fixed
            if not free.any():
                break
            scale = (target - v[fixed].sum()) / v[free].sum()
            v = np.where(free, v * scale, v)
            over, under = free & (v > 1.0), free & (v < lo)
            if not (over.any() or under.any()):
                break
            v = np.where(over, 1.0, np.where(under, lo, v))
            fixed |= over | under
        out[idx] = np.clip(v, lo, 1.0)
    return out


def harville_top_k(p_win: np.ndarray, groups: np.ndarray, k: int = 3) -> np.ndarray:
    """Chance of each driver to finish in the top ``k`` (k <= 3) under Plackett-Luce."""
    if k not in (1, 2, 3):
        raise ValueError("k must be 1, 2 or 3")
    codes, counts = group_index(groups)
    out = np.zeros(len(p_win))
    for g in range(len(counts)):
        idx = np.flatnonzero(codes == g)
        p = np.clip(p_win[idx], EPS, 1.0)
        p = p / p.sum()
        first = p
        rest1 = 1.0 - p  # mass left once j has won
        # second: sum over j != i of p_j * p_i / (1 - p_j)
        m2 = p[:, None] * p[None, :] / rest1[:, None]  # [j, i]
        np.fill_diagonal(m2, 0.0)
        second = m2.sum(axis=0)
        total = first + (second if k >= 2 else 0.0)
        if k == 3:
            # third: sum over ordered j, l (distinct, != i) of p_j p_l/(1-p_j) p_i/(1-p_j-p_l)
            rest2 = 1.0 - p[:, None] - p[None, :]  # [j, l]
            w = m2 / np.where(rest2 > EPS, rest2, EPS)  # p_j p_l / ((1-p_j)(1-p_j-p_l))
            np.fill_diagonal(w, 0.0)
            third = p * w.sum() - p * (w.sum(axis=0) + w.sum(axis=1))
            total = total + np.clip(third, 0.0, None)
        out[idx] = np.clip(total, 0.0, 1.0)
    return out


def fit_temperature(scores: np.ndarray, groups: np.ndarray, won: np.ndarray) -> float:
    """The temperature that maximises the winners' conditional likelihood."""

    def loss(log_t: float) -> float:
        p = softmax_by_race(scores, groups, float(np.exp(log_t)))
        return -float(np.log(np.clip(p[won.astype(bool)], EPS, None)).sum())

    res = minimize_scalar(loss, bounds=(np.log(0.2), np.log(5.0)), method="bounded")
    return float(np.exp(res.x))
