"""A logistic model and its calibrators as plain numbers: fitted with scikit-learn, stored as
JSON-able dicts, evaluated without scikit-learn (numpy for many rows, ``math`` for one).

The per-lap path calls ``Logistic.prob_one`` (a few microseconds: no numpy, no pandas), so the
decision engine can ask for 20 cars every lap.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import asdict, dataclass, field
from functools import cached_property

import numpy as np


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def logit(p: float, eps: float = 1e-9) -> float:
    p = min(max(p, eps), 1.0 - eps)
    return math.log(p / (1.0 - p))


@dataclass
class Logistic:
    """P(y=1 | x) = sigmoid(intercept + sum(coef * (x - mean) / scale)), x clipped to its
    training range (no extrapolation beyond the data the model saw)."""

    features: list[str]
    coef: list[float]
    intercept: float
    mean: list[float]
    scale: list[float]
    lo: list[float]
    hi: list[float]
    C: float = 1.0

    def z(self, x: np.ndarray) -> np.ndarray:
        x = np.clip(np.asarray(x, dtype=float), self.lo, self.hi)
        return self.intercept + ((x - self.mean) / self.scale) @ np.asarray(self.coef)

    def prob(self, x: np.ndarray) -> np.ndarray:
        """Forecasts for the rows of ``x`` (columns in ``features`` order)."""
        return 1.0 / (1.0 + np.exp(-self.z(x)))

    @cached_property
    def _terms(self) -> tuple[float, tuple[tuple[float, float, float], ...]]:
        """The intercept with the means folded in, and (weight, lo, hi) per feature."""
        weights = [c / s for c, s in zip(self.coef, self.scale, strict=True)]
        bias = self.intercept - sum(w * m for w, m in zip(weights, self.mean, strict=True))
        return bias, tuple(zip(weights, self.lo, self.hi, strict=True))

    def prob_one(self, *x: float) -> float:
        """The forecast for one row, in pure Python (the per-lap path)."""
        z, terms = self._terms
        if len(x) != len(terms):
            raise ValueError(f"{len(x)} values for features {self.features}")
        for v, (w, lo, hi) in zip(x, terms, strict=True):
            z += w * (lo if v < lo else hi if v > hi else v)
        return sigmoid(z)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Logistic:
        return cls(**d)


@dataclass
class Calibrator:
    """A map from a raw forecast to a calibrated one.

    ``kind`` "platt": sigmoid(a * logit(p) + b); "isotonic": a monotone step function through
    (``x``, ``y``), linear between knots (scikit-learn's IsotonicRegression, out of bounds
    clipped); "identity": p itself.
    """

    kind: str = "identity"
    a: float = 1.0
    b: float = 0.0
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)

    def __call__(self, p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=float)
        if self.kind == "platt":
            q = np.clip(p, 1e-9, 1 - 1e-9)
            return 1.0 / (1.0 + np.exp(-(self.a * np.log(q / (1 - q)) + self.b)))
        if self.kind == "isotonic":
            return np.interp(p, self.x, self.y)
        return p

    def one(self, p: float) -> float:
        """The calibrated forecast of one raw forecast, in pure Python."""
        if self.kind == "platt":
            return sigmoid(self.a * logit(p) + self.b)
        if self.kind == "isotonic":
            xs, ys = self.x, self.y
            if p <= xs[0]:
                return ys[0]
            if p >= xs[-1]:
                return ys[-1]
            k = bisect.bisect_right(xs, p)
            x0, x1, y0, y1 = xs[k - 1], xs[k], ys[k - 1], ys[k]
            return y0 if x1 == x0 else y0 + (y1 - y0) * (p - x0) / (x1 - x0)
        return p

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Calibrator:
        return cls(**d)
