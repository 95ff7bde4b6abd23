"""How long a set of each compound lasts at a circuit, from evidence: before the race, what
the same circuit showed in recent seasons; during it, what this race's stints show.

A compound's *life* is the tyre age at which teams take a set off because it is done (the
cliff): its prior is fitted on history (``training.tyre_life``: the circuit's recent seasons,
the most recent weighted most, wider when the rules changed since), a normal ``(mean, sd)``
in laps. Each lap it is updated with the stints of the whole field in this race: a set taken
off under green is an observation of the life (a normal-normal update), a set still running
past the estimate pulls it up (it lasts at least that long). Stints ended under a safety car
or VSC say nothing of the tyre (a cheap stop) and are left out.

The plan table and the Monte Carlo price a lap past the life with ``cliff_cost``: the expected
extra lap time of a tyre past its cliff, ``CLIFF_S_PER_LAP`` more for every lap beyond it,
under the uncertainty of where the cliff is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr

from strategy.circuits import canonical_circuit
from strategy.compounds import COMPOUND_INDEX, COMPOUNDS

#: s of lap time a tyre loses for every lap it runs past its life (the cliff's steepness).
CLIFF_S_PER_LAP = 1.0
#: sd (laps) of a set's life around its compound's at the circuit: one set, one car.
SET_SD = 4.0
#: Life (laps) of a compound with no history anywhere: a wide prior.
DEFAULT_LIFE = {"SOFT": (18.0, 8.0), "MEDIUM": (26.0, 9.0), "HARD": (34.0, 10.0),
                "INTERMEDIATE": (30.0, 12.0), "WET": (30.0, 12.0)}  # fmt: skip


@dataclass(frozen=True)
class Life:
    """A compound's life at a circuit: mean and sd in laps of tyre age."""

    mean: float
    sd: float


@dataclass
class TyreLife:
    """The fitted life priors: per circuit and compound, and per compound over all circuits."""

    circuits: dict[str, dict[str, Life]] = field(default_factory=dict)
    overall: dict[str, Life] = field(default_factory=dict)
    #: the seasons the priors were fitted for (the first season after the history read)
    season: int = 0

    def prior(self, circuit: str, compound: str) -> Life:
        """The life of ``compound`` at ``circuit`` before the race."""
        found = self.circuits.get(canonical_circuit(circuit), {}).get(compound)
        if found is not None:
            return found
        if compound in self.overall:
            o = self.overall[compound]
            return Life(o.mean, o.sd * 1.5)  # a circuit without history: the wider prior
        mean, sd = DEFAULT_LIFE.get(compound, (25.0, 10.0))
        return Life(mean, sd)

    def to_dict(self) -> dict:
        return {
            "season": self.season,
            "circuits": {
                c: {k: [v.mean, v.sd] for k, v in d.items()} for c, d in self.circuits.items()
            },
            "overall": {k: [v.mean, v.sd] for k, v in self.overall.items()},
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> TyreLife:
        return cls(
            {c: {k: Life(*v) for k, v in x.items()} for c, x in d.get("circuits", {}).items()},
            {k: Life(*v) for k, v in d.get("overall", {}).items()},
            int(d.get("season", 0)),
        )


@dataclass(frozen=True)
class RaceStints:
    """This race's evidence on one compound: lengths of sets taken off under green, and the
    ages of sets still running."""

    ended: tuple[float, ...] = ()
    running: tuple[float, ...] = ()


def car_stints(laps) -> tuple[tuple[int, float, bool], ...]:
    """One car's sets so far (its ``CarLaps``): (compound index, age, taken off under green);
    its current set last, not taken off. A set taken off under a neutralisation is left out."""
    out = []
    n = len(laps)
    for i in range(n):
        if i + 1 < n and laps.stint[i + 1] == laps.stint[i]:
            continue
        age, c = laps.tyre_life[i], laps.compound[i]
        if c < 0 or age is None or math.isnan(age):
            continue
        if i + 1 == n or not laps.neutral[i]:
            out.append((int(c), float(age), i + 1 < n))
    return tuple(out)


def race_stints(history: Mapping, memo: dict | None = None) -> dict[int, RaceStints]:
    """The evidence of a race's laps so far (``RaceState.history``: each car's ``CarLaps``),
    per compound index. ``memo`` (driver -> (laps, sets)) keeps each car's sets until it runs
    another lap."""
    ended: dict[int, list[float]] = {}
    running: dict[int, list[float]] = {}
    for driver, laps in history.items():
        found = memo.get(driver) if memo is not None else None
        if found is not None and found[0] == len(laps):
            sets = found[1]
        else:
            sets = car_stints(laps)
            if memo is not None:
                memo[driver] = (len(laps), sets)
        for c, age, taken_off in sets:
            (ended if taken_off else running).setdefault(c, []).append(age)
    keys = set(ended) | set(running)
    return {c: RaceStints(tuple(ended.get(c, ())), tuple(running.get(c, ()))) for c in keys}


def posterior(prior: Life, evidence: RaceStints) -> Life:
    """The life after this race's stints: sets taken off are observations of it (sd
    ``SET_SD``); a set still running past the mean says it lasts at least that long."""
    precision = 1.0 / prior.sd**2
    weighted = prior.mean * precision
    for x in evidence.ended:
        precision += 1.0 / SET_SD**2
        weighted += x / SET_SD**2
    mean = weighted / precision
    for age in evidence.running:
        if age > mean:  # still going: at least this long (a one-sided observation)
            precision += 1.0 / SET_SD**2
            weighted += (age + 1.0) / SET_SD**2
            mean = weighted / precision
    return Life(mean, math.sqrt(1.0 / precision))


def race_lives(
    life: TyreLife, circuit: str, history: Mapping | None, memo: dict | None = None
) -> np.ndarray:
    """[compound index] -> (mean, sd) of the life at ``circuit`` given the race so far
    (``memo``: see ``race_stints``)."""
    evidence = race_stints(history, memo) if history else {}
    out = np.empty((len(COMPOUNDS), 2))
    for name in COMPOUNDS:
        c = COMPOUND_INDEX[name]
        post = posterior(life.prior(circuit, name), evidence.get(c, RaceStints()))
        # one set's own life scatters around the compound's: the cliff is that uncertain
        out[c] = (post.mean, math.hypot(post.sd, SET_SD))
    return out


def cliff_cost(
    ages: np.ndarray, mean: np.ndarray, sd: np.ndarray, survived: np.ndarray | float = -np.inf
) -> np.ndarray:
    """Expected extra lap time (s) at tyre age ``ages`` of a set whose life is N(mean, sd):
    ``CLIFF_S_PER_LAP`` times the expected laps past it, E[max(0, age - life)]; for a set
    that has run ``survived`` laps without falling off, given that its life is longer (0 at
    the ages it has run)."""
    z = (ages - mean) / sd
    z0 = (survived - mean) / sd
    kept = 1.0 - ndtr(z0)  # P(life > survived)
    spread = sd * (_pdf(z) - _pdf(z0))
    over = ((ages - mean) * (ndtr(z) - ndtr(z0)) + spread) / np.maximum(kept, 1e-9)
    return CLIFF_S_PER_LAP * np.where(ages > survived, np.maximum(over, 0.0), 0.0)


def _pdf(z: np.ndarray | float) -> np.ndarray:
    return np.exp(-0.5 * np.square(z)) / math.sqrt(2 * math.pi)
