"""How well probabilities are calibrated: predicted against observed in bins, and the ECE.

A probability is calibrated when, of all the times it said p, the event happened a share p of
them. The expected calibration error weighs each bin's gap between its mean prediction and its
observed rate by its share of the predictions.
"""

from __future__ import annotations

import numpy as np

BINS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def reliability(
    p: np.ndarray, y: np.ndarray, bins: tuple[float, ...] = BINS
) -> list[dict[str, float]]:
    """Per bin of predictions: its range, count, mean prediction and observed rate."""
    p, y = np.asarray(p, float), np.asarray(y, float)
    edges = np.asarray(bins)
    k = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    out = []
    for b in range(len(edges) - 1):
        m = k == b
        if m.any():
            out.append(
                {
                    "lo": float(edges[b]),
                    "hi": float(edges[b + 1]),
                    "n": int(m.sum()),
                    "predicted": float(p[m].mean()),
                    "observed": float(y[m].mean()),
                }
            )
    return out


def expected_calibration_error(
    p: np.ndarray, y: np.ndarray, bins: tuple[float, ...] = BINS
) -> tuple[float, list[dict[str, float]]]:
    """The ECE of predictions ``p`` of events ``y`` (0/1), and the reliability table."""
    table = reliability(p, y, bins)
    n = sum(row["n"] for row in table)
    ece = sum(row["n"] * abs(row["predicted"] - row["observed"]) for row in table) / max(n, 1)
    return float(ece), table
