"""Choosing hyper-parameters and features on the training seasons only.

Every model of this package is chosen the same way: leave-one-season-out over the training
seasons (fit on the others, score the held-out season, pool the scores), first over a small
grid of hyper-parameters with every candidate feature, then by dropping, one at a time, each
optional feature whose removal does not make the pooled score worse. The held-out test season
never takes part. The log of every tried setting travels with the model (``Selection``), so
the choice can be read back from the artifact and ``pitwall hazards evaluate --json``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from strategy.hazards.selection import Selection

#: A feature is dropped when the score without it is no worse than this (nats per trial).
TOLERANCE = 1e-6


def choose(
    grid: dict[str, Sequence],
    features: Sequence[str],
    optional: Sequence[str],
    score: Callable[[dict, list[str]], float],
    folds: Sequence[int] = (),
    metric: str = "log_loss",
) -> Selection:
    """Grid search with all ``features``, then backward elimination of ``optional`` ones.

    ``score(params, features)`` returns the pooled held-out score (lower is better).
    """
    tried: list[dict] = []
    names = list(grid)
    best: tuple[float, dict] | None = None
    for values in itertools.product(*(grid[n] for n in names)):
        params = dict(zip(names, values, strict=True))
        s = float(score(params, list(features)))
        tried.append({"params": params, "features": list(features), "score": s})
        if best is None or s < best[0]:
            best = (s, params)
    assert best is not None, "empty grid"
    best_score, params = best
    chosen = list(features)
    for name in optional:
        if name not in chosen or len(chosen) == 1:
            continue
        without = [f for f in chosen if f != name]
        s = float(score(params, without))
        tried.append({"params": params, "features": without, "score": s})
        if s <= best_score + TOLERANCE:
            chosen, best_score = without, min(s, best_score)
    return Selection(params, chosen, best_score, metric, list(folds), tried)
