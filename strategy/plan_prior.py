"""What teams run: how often each compound sequence was run at a circuit from each starting
compound, as a prior over the plans the plan table weighs.

A plan's time says what the tyres and the pit loss allow; what teams actually did at the
circuit says what they are worth once track position, traffic and the tyres' true life are
counted. :class:`PlanPrior` holds the sequences finishers ran in recent seasons (fitted by
``training.plan_prior``, the most recent weighted most) and gives the log-probability of a
whole sequence (the sets already run and those a plan adds), smoothed towards every circuit's
habit so that a sequence nobody ran at a circuit is unlikely, not impossible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from strategy.circuits import canonical_circuit

#: Weight (in races' worth of sequences) of every circuit's habit in a circuit's.
SMOOTH = 8.0
#: Probability floor of a sequence no circuit has seen (among the legal ones).
FLOOR = 1e-3

Sequence = tuple[str, ...]


def _key(seq: Sequence) -> str:
    return "-".join(seq)


@dataclass
class PlanPrior:
    """Weighted counts of whole compound sequences: per circuit, and over all circuits."""

    circuits: dict[str, dict[str, float]] = field(default_factory=dict)
    overall: dict[str, float] = field(default_factory=dict)
    _memo: dict[tuple[str, Sequence], float] = field(
        default_factory=dict, repr=False, compare=False
    )

    def log_prob(self, circuit: str, seq: Sequence) -> float:
        """log P(a finisher runs ``seq``, given that it started on ``seq[0]``) at ``circuit``
        (remembered: the decision engine asks for the same few sequences every lap)."""
        memo_key = (circuit, seq)
        found = self._memo.get(memo_key)
        if found is None:
            found = self._memo[memo_key] = self._log_prob(circuit, seq)
        return found

    def _log_prob(self, circuit: str, seq: Sequence) -> float:
        first, key = seq[0], _key(seq)

        def share(counts: Mapping[str, float]) -> tuple[float, float]:
            total = sum(v for k, v in counts.items() if k == first or k.startswith(first + "-"))
            return counts.get(key, 0.0), total

        n_all, t_all = share(self.overall)
        p_all = max(n_all / t_all, FLOOR) if t_all > 0 else FLOOR
        n, t = share(self.circuits.get(canonical_circuit(circuit), {}))
        return math.log((n + SMOOTH * p_all) / (t + SMOOTH))

    def to_dict(self) -> dict:
        return {"circuits": self.circuits, "overall": self.overall}

    @classmethod
    def from_dict(cls, d: Mapping) -> PlanPrior:
        return cls(
            {c: {k: float(v) for k, v in x.items()} for c, x in d.get("circuits", {}).items()},
            {k: float(v) for k, v in d.get("overall", {}).items()},
        )
