"""Monte Carlo race simulator: the rest of a race for the whole field, many times over (numba).

Lap by lap, every car runs its pace plus compound offset, linear tyre degradation, the fuel
effect and noise; planned stops cost the circuit's pit loss (less under SC/VSC); safety cars
start with the circuit's per-lap hazard and bunch the field, VSCs slow everyone alike; a car
that is faster than the one ahead gets past with a probability that grows with the pace delta
and shrinks with how hard the circuit is to pass on. The kernel runs one race per loop
iteration in parallel over both cores, with a cheap per-race random stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from strategy.data import COMPOUND_INDEX
from strategy.fuel import FUEL_S_PER_LAP

_NORMAL = np.random.default_rng(20230528).standard_normal(1 << 14).astype(np.float32)
SC_SLOWDOWN = 1.45  # lap time factor behind the safety car
VSC_SLOWDOWN = 1.35
SC_GAP = 0.8  # s between cars once the field has bunched up behind the SC


@dataclass
class SimParams:
    """Everything the kernel needs besides the field."""

    laps_total: int
    start_lap: int
    pit_loss: float
    p_sc: float
    p_vsc: float
    offsets: np.ndarray  # per compound index, s
    slopes: np.ndarray  # per compound index, s per lap of age
    noise_sd: float = 0.45
    pass_delta: float = 0.6  # s of lap-time advantage that gives a 50% pass chance
    sc_laps_left: int = 0  # an SC already out: laps it still runs
    vsc_laps_left: int = 0


@dataclass
class Field:
    """The cars at the start of the simulation, in any order (``gap`` orders them)."""

    pace: np.ndarray  # s, fuel-corrected MEDIUM-equivalent pace at tyre age 0
    gap: np.ndarray  # s behind the leader
    compound: np.ndarray  # compound index
    age: np.ndarray  # laps
    pit1: np.ndarray  # lap of the next planned stop (-1: none)
    comp1: np.ndarray
    pit2: np.ndarray
    comp2: np.ndarray

    @classmethod
    def build(
        cls,
        pace: np.ndarray,
        gap: np.ndarray,
        compounds: list[str],
        age: np.ndarray,
        plans: list[tuple[tuple[int, str], ...]],
    ) -> Field:
        n = len(pace)
        pit1 = np.full(n, -1, np.int32)
        pit2 = np.full(n, -1, np.int32)
        comp1 = np.zeros(n, np.int32)
        comp2 = np.zeros(n, np.int32)
        for i, plan in enumerate(plans):
            if len(plan) > 0:
                pit1[i], comp1[i] = plan[0][0], COMPOUND_INDEX.get(plan[0][1], 1)
            if len(plan) > 1:
                pit2[i], comp2[i] = plan[1][0], COMPOUND_INDEX.get(plan[1][1], 1)
        return cls(
            np.asarray(pace, np.float32),
            np.asarray(gap, np.float32),
            np.array([COMPOUND_INDEX.get(c, 1) for c in compounds], np.int32),
            np.asarray(age, np.float32),
            pit1,
            comp1,
            pit2,
            comp2,
        )


@nb.njit(cache=True, inline="always")
def _next(state: np.uint64) -> np.uint64:
    state ^= state << np.uint64(13)
    state ^= state >> np.uint64(7)
    state ^= state << np.uint64(17)
    return state


@nb.njit(cache=True, parallel=True, fastmath=True, error_model="numpy")
def _simulate(
    n_sims, seed, pace, gap, comp0, age0, pit1, comp1, pit2, comp2,
    start_lap, laps_total, pit_loss, p_sc, p_vsc, offsets, slopes, noise_sd, pass_delta,
    sc_left0, vsc_left0, normal, positions, times,
):  # fmt: skip
    n = pace.shape[0]
    inv = np.float32(1.0 / 18446744073709551616.0)
    for s in nb.prange(n_sims):
        st = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(s + 1) * np.uint64(
            0xBF58476D1CE4E5B9
        )
        st = _next(_next(st | np.uint64(1)))
        cum = gap.copy()
        age = age0.copy()
        comp = comp0.copy()
        pitted = np.zeros(n, np.bool_)
        order = np.argsort(cum)
        sc_left = sc_left0
        vsc_left = vsc_left0
        for lap in range(start_lap + 1, laps_total + 1):
            if sc_left == 0 and vsc_left == 0:
                st = _next(st)
                u = np.float32(st) * inv
                if u < p_sc:
                    st = _next(st)
                    sc_left = 3 + np.int64(st % np.uint64(3))
                elif u < p_sc + p_vsc:
                    st = _next(st)
                    vsc_left = 2 + np.int64(st % np.uint64(2))
            sc = sc_left > 0
            vsc = vsc_left > 0
            fuel = np.float32(0.055) * np.float32(laps_total - lap)
            loss_factor = np.float32(0.45) if sc else (np.float32(0.65) if vsc else np.float32(1.0))
            for i in range(n):
                st = _next(st)
                c = comp[i]
                t = pace[i] + offsets[c] + slopes[c] * age[i] + fuel
                t += noise_sd * normal[np.int64(st >> np.uint64(50))]
                pitted[i] = False
                age[i] += np.float32(1.0)
                if lap == pit1[i]:
                    t += pit_loss * loss_factor
                    comp[i] = comp1[i]
                    age[i] = 0.0
                    pitted[i] = True
                elif lap == pit2[i]:
                    t += pit_loss * loss_factor
                    comp[i] = comp2[i]
                    age[i] = 0.0
                    pitted[i] = True
                if sc:
                    t *= np.float32(SC_SLOWDOWN)
                elif vsc:
                    t *= np.float32(VSC_SLOWDOWN)
                cum[i] += t
            # One bubble pass front to back: passes on track, or past a car in the pits.
            for k in range(1, n):
                a = order[k - 1]
                b = order[k]
                if cum[b] < cum[a]:
                    margin = cum[a] - cum[b]
                    ok = pitted[a] or sc
                    if not ok:
                        st = _next(st)
                        ok = np.float32(st) * inv < margin / (margin + pass_delta)
                    if ok:
                        order[k - 1] = b
                        order[k] = a
                    else:
                        cum[b] = cum[a] + np.float32(0.3)
            if sc:
                lead = cum[order[0]]
                for k in range(1, n):
                    j = order[k]
                    bunched = lead + SC_GAP * k
                    if cum[j] > bunched:
                        cum[j] = bunched
                sc_left -= 1
            elif vsc:
                vsc_left -= 1
        for k in range(n):
            positions[s, order[k]] = k + 1
        for i in range(n):
            times[s, i] = cum[i]


def simulate(field: Field, params: SimParams, n_sims: int, seed: int = 0) -> SimResult:
    """Simulate the rest of the race ``n_sims`` times; finishing positions and times per car."""
    n = len(field.pace)
    positions = np.empty((n_sims, n), np.int8)
    times = np.empty((n_sims, n), np.float32)
    noise = _NORMAL if params.noise_sd > 0 else np.zeros_like(_NORMAL)
    _simulate(
        n_sims, seed, field.pace, field.gap, field.compound, field.age,
        field.pit1, field.comp1, field.pit2, field.comp2,
        params.start_lap, params.laps_total, np.float32(params.pit_loss),
        np.float32(params.p_sc), np.float32(params.p_vsc),
        params.offsets.astype(np.float32), params.slopes.astype(np.float32),
        np.float32(max(params.noise_sd, 0.0)), np.float32(params.pass_delta),
        params.sc_laps_left, params.vsc_laps_left, noise, positions, times,
    )  # fmt: skip
    return SimResult(positions, times)


@dataclass
class SimResult:
    """Per simulated race (rows) and car (columns): finishing position and race time."""

    positions: np.ndarray
    times: np.ndarray

    def win_prob(self) -> np.ndarray:
        return (self.positions == 1).mean(axis=0)

    def podium_prob(self) -> np.ndarray:
        return (self.positions <= 3).mean(axis=0)

    def expected_position(self) -> np.ndarray:
        return self.positions.mean(axis=0)

    def position_distribution(self) -> np.ndarray:
        """[car, position-1] share of races finishing there."""
        n = self.positions.shape[1]
        return np.stack([(self.positions == p + 1).mean(axis=0) for p in range(n)], axis=1)


__all__ = ["FUEL_S_PER_LAP", "Field", "SimParams", "SimResult", "simulate"]
