"""Residual logits: a baseline's log-chances as a fixed offset, plus a ridge-penalised linear
adjustment over standardised features (the model of ``model.py``).

* ``ResidualLogit``: per-race softmax (conditional logit) over ``offset + x . beta``, fitted on
  the first ``ranks`` places of each race (rank-ordered logit);
* ``BinaryResidual``: a logistic regression of one target (the podium) with the offset
  ``logit(base rate)``.

Features are standardised on the training rows; a missing value becomes the training mean
(an adjustment of 0). The penalty ``ridge / 2 * |beta|^2`` is a Gaussian prior centred on the
baseline.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit
from threadpoolctl import threadpool_limits

from prerace.calibration import group_index

FLOOR = 1e-6


def dot(x: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """``x @ beta`` in numpy's own loop: BLAS would start threads that fight over the
    machine's cores for a product this small."""
    return np.einsum("ij,j->i", x, beta)


def tdot(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``w @ x`` (see ``dot``)."""
    return np.einsum("ij,i->j", x, w)


def design(rows: pd.DataFrame, names: list[str], base: np.ndarray) -> np.ndarray:
    """The raw (unstandardised) adjustment features: a column of ``rows``, or ``log_base``
    (the baseline's log-rate ``base``), ``pole`` (1 on pole), ``log_base_x_pole`` (the
    log-rate times the circuit's pole-to-win rate), ``log_<column>`` (a rate's log)."""
    log_base = np.log(np.clip(base, FLOOR, None))
    out = np.empty((len(rows), len(names)))
    for j, name in enumerate(names):
        if name == "log_base":
            out[:, j] = log_base
        elif name == "pole":
            out[:, j] = (rows["grid"].to_numpy(float) == 1).astype(float)
        elif name == "log_base_x_pole":
            out[:, j] = log_base * rows["circuit_pole_win"].to_numpy(float)
        elif name.startswith("log_"):
            out[:, j] = np.log(np.clip(rows[name[4:]].to_numpy(float), FLOOR, None))
        else:
            out[:, j] = rows[name].to_numpy(float)
    return out


def solve(loss: Callable[[np.ndarray], tuple[float, np.ndarray]], k: int) -> np.ndarray:
    """The coefficients minimising ``loss`` (value, gradient) from 0, by L-BFGS-B on one
    BLAS thread (more only wait on each other for vectors this small)."""
    with threadpool_limits(1, user_api="blas"):
        return minimize(loss, np.zeros(k), jac=True, method="L-BFGS-B").x


@dataclass
class Standardiser:
    """Training mean and spread of each column; NaN -> 0 after scaling (the mean)."""

    center: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scale: np.ndarray = field(default_factory=lambda: np.ones(0))

    def fit(self, x: np.ndarray) -> Standardiser:
        with warnings.catch_warnings():  # a column without any value yet: centre 0
            warnings.simplefilter("ignore", RuntimeWarning)
            self.center = np.nan_to_num(np.nanmean(x, axis=0))
            self.scale = np.nan_to_num(np.nanstd(x, axis=0)) + 1e-9
        return self

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.nan_to_num((x - self.center) / self.scale)


def exploded(
    codes: np.ndarray, position: np.ndarray, ranks: int, place_weight: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The choice sets of a rank-ordered logit: (row index, choice-set code, chosen, the set's
    weight factor) for the first ``ranks`` places of each race; a set without a driver at
    its place (not classified) is dropped."""
    idx_parts, set_parts, chosen_parts, w_parts = [], [], [], []
    pos = np.asarray(position, dtype=float)
    for k in range(ranks):
        alive = ~(pos <= k)  # not among the first k (NaN: never classified, stays)
        rows = np.flatnonzero(alive)
        idx_parts.append(rows)
        set_parts.append(codes[rows] * ranks + k)
        chosen_parts.append(pos[rows] == k + 1)
        w_parts.append(np.full(len(rows), 1.0 if k == 0 else place_weight))
    idx = np.concatenate(idx_parts)
    sets = np.concatenate(set_parts)
    chosen = np.concatenate(chosen_parts)
    factor = np.concatenate(w_parts)
    has = np.bincount(sets, weights=chosen.astype(float), minlength=codes.max() * ranks + ranks)
    keep = (has[sets] == 1) & (factor > 0)
    return idx[keep], group_index(sets[keep])[0], chosen[keep], factor[keep]


@dataclass
class ResidualLogit:
    """Conditional logit over ``offset + standardised(x) . beta`` (module docstring)."""

    names: list[str]
    ridge: float = 1.0
    std: Standardiser = field(default_factory=Standardiser)
    beta: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def fit(
        self,
        x_raw: np.ndarray,
        offset: np.ndarray,
        groups: np.ndarray,
        position: np.ndarray,
        weight: np.ndarray | None = None,
        ranks: int = 1,
        place_weight: float = 1.0,
    ) -> ResidualLogit:
        x = self.std.fit(x_raw)(x_raw)
        codes, _ = group_index(groups)
        idx, sets, chosen, factor = exploded(codes, position, ranks, place_weight)
        w_row = np.ones(len(x)) if weight is None else np.asarray(weight, float)
        by_set = np.argsort(sets, kind="stable")  # each choice set's rows contiguous
        idx, sets, chosen, factor = idx[by_set], sets[by_set], chosen[by_set], factor[by_set]
        x, off = x[idx], offset[idx]
        starts = np.flatnonzero(np.r_[True, sets[1:] != sets[:-1]])
        # one weight per choice set, carried by its chosen row
        gw = (w_row[idx] * factor)[chosen]
        xc, offc = x[chosen], off[chosen]

        def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
            s = off + dot(x, beta)
            top = np.maximum.reduceat(s, starts)
            e = np.exp(s - np.repeat(top, np.diff(np.r_[starts, len(s)])))
            z = np.add.reduceat(e, starts)
            ll = (gw * (offc + dot(xc, beta) - top - np.log(z))).sum()
            p = e / np.repeat(z, np.diff(np.r_[starts, len(s)]))
            pw = p * np.repeat(gw, np.diff(np.r_[starts, len(s)]))
            grad = tdot(xc, gw) - tdot(x, pw)
            return -ll + 0.5 * self.ridge * beta @ beta, -grad + self.ridge * beta

        self.beta = solve(loss, x.shape[1])
        return self

    def adjustment(self, x_raw: np.ndarray) -> np.ndarray:
        """``x . beta`` of each row: the log-change of its chance against the baseline."""
        return dot(self.std(x_raw), self.beta)


@dataclass
class BinaryResidual:
    """Logistic regression with the offset ``logit(base)`` (module docstring)."""

    ridge: float = 1.0
    std: Standardiser = field(default_factory=Standardiser)
    beta: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @staticmethod
    def _offset(base: np.ndarray) -> np.ndarray:
        b = np.clip(np.asarray(base, float), 1e-4, 1 - 1e-4)
        return np.log(b / (1 - b))

    def fit(
        self, x_raw: np.ndarray, base: np.ndarray, y: np.ndarray, weight: np.ndarray | None
    ) -> BinaryResidual:
        x = self.std.fit(x_raw)(x_raw)
        off = self._offset(base)
        w = np.ones(len(x)) if weight is None else np.asarray(weight, float)
        y = np.asarray(y, float)

        def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
            s = off + dot(x, beta)
            ll = w * (y * s - np.logaddexp(0.0, s))
            p = expit(s)
            grad = tdot(x, w * (y - p))
            return -ll.sum() + 0.5 * self.ridge * beta @ beta, -grad + self.ridge * beta

        self.beta = solve(loss, x.shape[1])
        return self

    def chances(self, x_raw: np.ndarray, base: np.ndarray) -> np.ndarray:
        s = self._offset(base) + dot(self.std(x_raw), self.beta)
        return expit(s)
