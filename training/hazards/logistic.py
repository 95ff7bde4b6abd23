"""Fitting the logistic models and calibrators of ``strategy.hazards.logistic`` with
scikit-learn, into the plain numbers the per-lap path evaluates.
"""

from __future__ import annotations

import numpy as np

from strategy.hazards.logistic import Calibrator, Logistic


def fit_logistic(
    x: np.ndarray,
    y: np.ndarray,
    features: list[str],
    weights: np.ndarray | None = None,
    C: float = 1.0,
) -> Logistic:
    """L2-regularised logistic regression on standardised features (``C`` as in sklearn)."""
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] != len(features):
        raise ValueError(f"x has shape {x.shape}, features {features}")
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
    mean = np.average(x, axis=0, weights=w)
    sd = np.sqrt(np.average((x - mean) ** 2, axis=0, weights=w))
    scale = np.where(sd > 1e-12, sd, 1.0)
    clf = LogisticRegression(C=C, max_iter=1000, solver="newton-cholesky")
    clf.fit((x - mean) / scale, np.asarray(y, dtype=int), sample_weight=w)
    return Logistic(
        features=list(features),
        coef=[float(c) for c in clf.coef_[0]],
        intercept=float(clf.intercept_[0]),
        mean=[float(v) for v in mean],
        scale=[float(v) for v in scale],
        lo=[float(v) for v in x.min(axis=0)],
        hi=[float(v) for v in x.max(axis=0)],
        C=float(C),
    )


def fit_calibrator(p: np.ndarray, y: np.ndarray, kind: str) -> Calibrator:
    """Fit a calibrator of ``kind`` ("platt", "isotonic" or "identity") on held-out forecasts."""
    p = np.asarray(p, dtype=float)
    y = np.asarray(y, dtype=float)
    if kind == "identity":
        return Calibrator()
    if kind == "platt":
        from sklearn.linear_model import LogisticRegression

        q = np.clip(p, 1e-9, 1 - 1e-9)
        clf = LogisticRegression(C=1e6, max_iter=1000)
        clf.fit(np.log(q / (1 - q))[:, None], y.astype(int))
        return Calibrator("platt", a=float(clf.coef_[0, 0]), b=float(clf.intercept_[0]))
    if kind == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y)
        return Calibrator(
            "isotonic",
            x=[float(v) for v in iso.X_thresholds_],
            y=[float(v) for v in iso.y_thresholds_],
        )
    raise ValueError(f"calibrator {kind!r}: use platt, isotonic or identity")
