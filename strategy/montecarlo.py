"""Monte Carlo race simulator: the rest of a race for the whole field, many times over (numba).

Every car's plan (stops and compounds) is fixed for a run, so its expected green-flag lap time
on every remaining lap (pace, compound offset, linear tyre degradation, fuel) is computed once
into a laps x cars matrix. The kernel then races that matrix many times in parallel: lap noise
and a per-race pace error per car, planned stops costing the circuit's pit loss (less under
SC/VSC), safety cars that start with the circuit's per-lap hazard and bunch the field, VSCs that
slow everyone alike, retirements, and overtaking: a car faster than the one ahead gets past with
a probability that grows with the pace delta and shrinks with how hard the circuit is to pass
on. Random numbers come from a cheap in-kernel xorshift stream per race (16-bit indices into a
table of normal deviates), so no random arrays are precomputed per call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numba as nb
import numpy as np

from strategy.compounds import COMPOUND_INDEX
from strategy.fuel import FUEL_S_PER_LAP

SC_SLOWDOWN = 1.45  # lap time factor behind the safety car
VSC_SLOWDOWN = 1.35
SC_PIT_FACTOR = 0.45  # share of the green-flag pit loss a stop costs under SC / VSC
VSC_PIT_FACTOR = 0.65
SC_GAP = 0.8  # s between cars once the field has bunched up behind the SC
HELD_GAP = 0.3  # s behind the car ahead for a car that could not get past
_NORMAL = np.random.default_rng(20230528).standard_normal(1 << 16).astype(np.float32)
RETIRED = np.float32(1.0e6)  # cumulative time marking a retired car

Plan = Sequence[tuple[int, str]]  # (lap at whose end the car stops, compound fitted)


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
    noise_sd: float = 0.45  # s, lap-to-lap noise
    pace_sd: float = 0.0  # s per lap, per-race error of a car's pace (model uncertainty)
    pass_delta: float = 0.6  # s of lap-time advantage that gives a 50% pass chance
    #: chance per lap of retiring: one for every car, or one per car (in ``Field`` order)
    p_dnf: float | np.ndarray = 0.0
    sc_laps_left: int = 0  # an SC already out: laps it still runs
    vsc_laps_left: int = 0
    sc_pit_factor: float = SC_PIT_FACTOR  # share of the pit loss a stop costs under SC
    vsc_pit_factor: float = VSC_PIT_FACTOR


@dataclass
class Field:
    """The cars at the start of the simulation (order of the lists = order of the results)."""

    pace: np.ndarray  # s, fuel-corrected: MEDIUM-equivalent at tyre age 0 (no curves), or
    #: the car's pace now on its current set (with ``curves``)
    gap: np.ndarray  # s behind the leader (ties keep list order)
    compound: np.ndarray  # compound index of the current tyres
    age: np.ndarray  # laps on the current tyres
    plans: list[tuple[tuple[int, str], ...]]  # each car's remaining stops
    #: Each car's expected departure from ``pace`` by tyre age, on its current set and on new
    #: sets (``strategy.pace.PaceCurves``); None: the compound offsets and linear wear of
    #: ``SimParams`` around ``pace``.
    curves: Any = None

    @classmethod
    def build(
        cls,
        pace: np.ndarray,
        gap: np.ndarray,
        compounds: list[str],
        age: np.ndarray,
        plans: Sequence[Plan],
        curves: Any = None,
    ) -> Field:
        if not (len(pace) == len(gap) == len(compounds) == len(age) == len(plans)):
            raise ValueError("pace, gap, compounds, age and plans need one entry per car")
        return cls(
            np.asarray(pace, np.float32),
            np.asarray(gap, np.float32),
            np.array([COMPOUND_INDEX.get(c, 1) for c in compounds], np.int32),
            np.asarray(age, np.float32),
            [tuple((int(lap), str(c)) for lap, c in plan) for plan in plans],
            curves,
        )


def lap_matrix(field: Field, params: SimParams) -> tuple[np.ndarray, np.ndarray]:
    """Expected green-flag lap time (without pit loss) and a stop flag, per remaining lap x car."""
    laps = np.arange(params.start_lap + 1, params.laps_total + 1)
    n_laps, n = len(laps), len(field.pace)
    comp = np.empty((n_laps, n), np.int64)
    age = np.empty((n_laps, n), np.int64)
    fresh = np.zeros((n_laps, n), bool)  # on a set fitted in the simulation
    pit = np.zeros((n_laps, n), np.uint8)
    for i in range(n):
        comp[:, i] = field.compound[i]
        age[:, i] = int(field.age[i]) + 1 + np.arange(n_laps)
        for stop, compound in sorted(field.plans[i]):
            k = stop - params.start_lap - 1  # row of the lap the car stops at the end of
            if k == -1:  # the stop under way: on the new set from the first lap, its loss
                comp[:, i] = COMPOUND_INDEX.get(compound, 1)  # already in the car's gap
                age[:, i] = 1 + np.arange(n_laps)
                fresh[:, i] = True
                continue
            if not 0 <= k < n_laps - 1:
                continue
            pit[k, i] = 1
            comp[k + 1 :, i] = COMPOUND_INDEX.get(compound, 1)
            age[k + 1 :, i] = 1 + np.arange(n_laps - k - 1)
            fresh[k + 1 :, i] = True
    fuel = (FUEL_S_PER_LAP * (params.laps_total - laps)).astype(np.float32)
    if field.curves is not None:
        current, new_sets = field.curves.for_race()
        top = current.shape[1] - 1
        a = np.minimum(age, top)
        cars = np.broadcast_to(np.arange(n), (n_laps, n))
        wear = np.where(fresh, new_sets[cars, comp, a], current[cars, a])
        base = field.pace[None, :] + wear + fuel[:, None]
    else:
        offsets = np.asarray(params.offsets, np.float32)
        slopes = np.asarray(params.slopes, np.float32)
        # Without curves the age counts completed laps on the set, as the priors were fitted.
        base = field.pace[None, :] + offsets[comp] + slopes[comp] * (age - 1) + fuel[:, None]
    return np.ascontiguousarray(base, np.float32), pit


@nb.njit(cache=True, inline="always")
def _xorshift(state: np.uint64) -> np.uint64:
    state ^= state << np.uint64(13)
    state ^= state >> np.uint64(7)
    state ^= state << np.uint64(17)
    return state


@nb.njit(cache=True, inline="always")
def _uniform(state: np.uint64) -> np.float32:
    """A uniform deviate in [0, 1) from the top 24 bits."""
    return np.float32(np.int32(state >> np.uint64(40))) * np.float32(1.0 / 16777216.0)


class Kernel(NamedTuple):
    """The kernel's arguments, defined once: ``simulate`` builds one, the kernels read it.

    Inputs first (one race's field and the circuit), then the outputs and scratch arrays,
    one row per simulated race.
    """

    seed: np.uint64
    base: np.ndarray  # [lap, car] expected green-flag lap time, s (``lap_matrix``)
    pit: np.ndarray  # [lap, car] 1 where the car stops at the end of that lap
    gap: np.ndarray  # [car] s behind the leader at the start
    order0: np.ndarray  # [car] the running order at the start (car indices)
    pit_loss: np.float32
    p_sc: np.float32
    p_vsc: np.float32
    noise_sd: np.float32
    pace_sd: np.float32
    pass_delta: np.float32
    p_dnf: np.ndarray  # [car] chance per lap of retiring
    sc_left0: int
    vsc_left0: int
    sc_factor: np.float32
    vsc_factor: np.float32
    normal: np.ndarray  # a table of standard normal deviates (``_NORMAL``)
    positions: np.ndarray  # [race, car] finishing position (output)
    times: np.ndarray  # [race, car] cumulative time (output; NaN: retired)
    orders: np.ndarray  # [race, car] running order (scratch)
    offs: np.ndarray  # [race, car] the race's pace error per car (scratch)
    dnf_laps: np.ndarray  # [race, car] lap of retirement, laps + 1 for none (scratch)
    neutral: np.ndarray  # [race, 2] safety cars and VSCs started (output)


@nb.njit(cache=True, inline="always")
def _race_stream(seed: np.uint64, s: int) -> np.uint64:
    """The random stream of race ``s``: a splitmix of the seed and the race index."""
    x = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(s + 1) * np.uint64(
        0xBF58476D1CE4E5B9
    )
    x ^= x >> np.uint64(31)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(29)
    return _xorshift(x | np.uint64(1))


@nb.njit(cache=True, inline="always")
def _start_race(k: Kernel, s: int, st: np.uint64, log_keep: np.ndarray) -> np.uint64:
    """Race ``s`` at the start: gaps, order, each car's pace error and lap of retirement."""
    n_laps, n = k.base.shape
    mask = np.uint64(0xFFFF)
    for i in range(n):
        k.times[s, i] = k.gap[i]
        k.orders[s, i] = k.order0[i]
        st = _xorshift(st)
        k.offs[s, i] = k.pace_sd * k.normal[np.int64(st & mask)]
        k.dnf_laps[s, i] = n_laps + 1
        if k.p_dnf[i] > 0:
            u = (np.float64(st >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)
            first = np.log(u) / log_keep[i]
            if first < n_laps:
                k.dnf_laps[s, i] = np.int32(first)
    k.neutral[s, 0] = 0
    k.neutral[s, 1] = 0
    return st


@nb.njit(cache=True, inline="always")
def _lap_times(k: Kernel, s: int, lap: int, st: np.uint64, slow, loss) -> np.uint64:
    """Every car's time for ``lap`` added to its total (a retiring car sinks to the back)."""
    n = k.base.shape[1]
    mask = np.uint64(0xFFFF)
    cum = k.times[s]
    r = np.uint64(0)
    for i in range(n):
        if (i & 3) == 0:
            st = _xorshift(st)
            r = st
        z = k.normal[np.int64(r & mask)]
        r >>= np.uint64(16)
        d = k.dnf_laps[s, i]
        if d > lap:
            t = k.base[lap, i] + k.offs[s, i] + k.noise_sd * z
            if k.pit[lap, i]:
                t += loss
            cum[i] += t * slow
        elif d == lap:  # retires: classified behind the cars still running
            cum[i] = RETIRED * np.float32(2.0) - np.float32(lap)
    return st


@nb.njit(cache=True, inline="always")
def _overtakes(k: Kernel, s: int, lap: int, st: np.uint64, sc: bool) -> None:
    """One bubble pass front to back: passes on track, past a car in the pits, or past a
    retired car; a car that fails to pass stays just behind. Branch-free, with a short
    dependency chain: the car compared against (ia, ca, and whether it can be passed at will,
    fa) is carried in registers; car b passes on track when its margin beats a threshold
    drawn from the pass probability margin/(margin+delta)."""
    n = k.base.shape[1]
    cum = k.times[s]
    order = k.orders[s]
    ia = order[0]
    ca = cum[ia]
    fa = sc | (k.pit[lap, ia] != 0) | (ca >= RETIRED)
    for j in range(1, n):
        ib = order[j]
        cb = cum[ib]
        fb = sc | (k.pit[lap, ib] != 0) | (cb >= RETIRED)
        h = (st + np.uint64(j) * np.uint64(0x9E3779B97F4A7C15)) * np.uint64(0xD6E8FEB86659FD93)
        u = _uniform(h)
        thr = k.pass_delta * u / (np.float32(1.0) - u)  # P(margin > thr) = P(pass)
        behind = cb < ca
        swap = cb < ca - (np.float32(0.0) if fa else thr)
        held = ca + np.float32(HELD_GAP) if behind else cb
        order[j - 1] = ib if swap else ia
        order[j] = ia if swap else ib
        cum[ib] = cb if swap else held
        ia = ia if swap else ib
        ca = ca if swap else held
        fa = fa if swap else fb


@nb.njit(cache=True, inline="always")
def _bunch_behind_sc(k: Kernel, s: int) -> None:
    """The safety car bunches the running field up behind the leader."""
    cum = k.times[s]
    order = k.orders[s]
    lead = cum[order[0]]
    for j in range(1, order.shape[0]):
        c = order[j]
        bunched = lead + np.float32(SC_GAP) * np.float32(j)
        if bunched < cum[c] < RETIRED:
            cum[c] = bunched


@nb.njit(cache=True, inline="always")
def _classify(k: Kernel, s: int) -> None:
    """Finishers in running order, then the retired cars (those that retired together on
    the last lap may not have sunk past every finisher yet); a retired car's time is NaN."""
    cum = k.times[s]
    order = k.orders[s]
    place = 1
    for j in range(order.shape[0]):
        if cum[order[j]] < RETIRED:
            k.positions[s, order[j]] = place
            place += 1
    for j in range(order.shape[0]):
        if cum[order[j]] >= RETIRED:
            k.positions[s, order[j]] = place
            place += 1
            cum[order[j]] = np.nan


# nogil: the stream worker runs the kernel on a thread while its event loop goes on.
@nb.njit(cache=True, fastmath=True, error_model="numpy", nogil=True)
def _races(lo: int, hi: int, k: Kernel) -> None:
    """Races ``lo`` to ``hi - 1`` (rows of the output and scratch arrays), one after another."""
    n_laps = k.base.shape[0]
    log_keep = np.log(1.0 - np.minimum(k.p_dnf, 0.5))
    mask = np.uint64(0xFFFF)
    for s in range(lo, hi):
        st = _start_race(k, s, _race_stream(k.seed, s), log_keep)
        sc_left = k.sc_left0
        vsc_left = k.vsc_left0
        for lap in range(n_laps):
            if sc_left == 0 and vsc_left == 0:
                st = _xorshift(st)
                u = _uniform(st)
                if u < k.p_sc:
                    sc_left = 3 + np.int64(st & mask) % 3
                    k.neutral[s, 0] += 1
                elif u < k.p_sc + k.p_vsc:
                    vsc_left = 2 + np.int64(st & mask) % 2
                    k.neutral[s, 1] += 1
            sc = sc_left > 0
            slow = np.float32(1.0)
            loss = k.pit_loss
            if sc:
                slow = np.float32(SC_SLOWDOWN)
                loss = k.pit_loss * k.sc_factor
            elif vsc_left > 0:
                slow = np.float32(VSC_SLOWDOWN)
                loss = k.pit_loss * k.vsc_factor
            st = _lap_times(k, s, lap, st, slow, loss)
            st = _xorshift(st)
            _overtakes(k, s, lap, st, sc)
            if sc:
                _bunch_behind_sc(k, s)
                sc_left -= 1
            elif vsc_left > 0:
                vsc_left -= 1
        _classify(k, s)


@nb.njit(cache=True, parallel=True, nogil=True)
def _races_parallel(n_sims: int, chunk: int, k: Kernel) -> None:
    """All races, in chunks spread over the cores."""
    for c in nb.prange((n_sims + chunk - 1) // chunk):
        _races(c * chunk, min(n_sims, (c + 1) * chunk), k)


#: Below this many races one core does it all: no thread start-up, and no OpenMP spin-waits
#: stealing time from the stream worker's other work on a busy 2-core machine.
PARALLEL_MIN_SIMS = 2048
CHUNK = 64  # races per parallel work item


def simulate(field: Field, params: SimParams, n_sims: int, seed: int = 0) -> SimResult:
    """Simulate the rest of the race ``n_sims`` times; finishing positions and times per car."""
    if n_sims < 1:
        raise ValueError(f"n_sims must be at least 1, not {n_sims}")
    n = len(field.pace)
    base, pit = lap_matrix(field, params)
    if base.shape[0] == 0:  # the race is over: the order stands
        order = np.argsort(field.gap, kind="stable")
        pos = np.empty(n, np.int8)
        pos[order] = np.arange(1, n + 1)
        none = np.zeros(n_sims, np.int16)
        return SimResult(np.tile(pos, (n_sims, 1)), np.tile(field.gap, (n_sims, 1)), none, none)
    positions = np.empty((n_sims, n), np.int8)
    times = np.empty((n_sims, n), np.float32)
    neutral = np.empty((n_sims, 2), np.int16)
    k = Kernel(
        seed=np.uint64(seed % 2**63),
        base=base,
        pit=pit,
        gap=field.gap,
        order0=np.argsort(field.gap, kind="stable").astype(np.int32),
        pit_loss=np.float32(params.pit_loss),
        p_sc=np.float32(params.p_sc),
        p_vsc=np.float32(params.p_vsc),
        noise_sd=np.float32(max(params.noise_sd, 0.0)),
        pace_sd=np.float32(max(params.pace_sd, 0.0)),
        pass_delta=np.float32(params.pass_delta),
        p_dnf=np.ascontiguousarray(np.broadcast_to(np.asarray(params.p_dnf, np.float64), (n,))),
        sc_left0=int(params.sc_laps_left),
        vsc_left0=int(params.vsc_laps_left),
        sc_factor=np.float32(params.sc_pit_factor),
        vsc_factor=np.float32(params.vsc_pit_factor),
        normal=_NORMAL,
        positions=positions,
        times=times,
        orders=np.empty((n_sims, n), np.int32),
        offs=np.empty((n_sims, n), np.float32),
        dnf_laps=np.empty((n_sims, n), np.int32),
        neutral=neutral,
    )
    if n_sims < PARALLEL_MIN_SIMS:
        _races(0, n_sims, k)
    else:
        _races_parallel(n_sims, CHUNK, k)
    return SimResult(positions, times, neutral[:, 0], neutral[:, 1])


@dataclass
class SimResult:
    """Per simulated race (rows) and car (columns): finishing position and race time.

    ``times`` is the car's total time from the simulation start plus its starting gap, NaN for
    a car that retired in that race (it is classified behind the finishers). ``sc_count`` and
    ``vsc_count`` count the neutralisations each simulated race had.
    """

    positions: np.ndarray
    times: np.ndarray
    sc_count: np.ndarray | None = None  # per race: safety cars that started in the simulation
    vsc_count: np.ndarray | None = None  # per race: VSC periods that started

    def win_prob(self) -> np.ndarray:
        return (self.positions == 1).mean(axis=0)

    def podium_prob(self) -> np.ndarray:
        return (self.positions <= 3).mean(axis=0)

    def expected_position(self) -> np.ndarray:
        return self.positions.mean(axis=0)

    def median_position(self) -> np.ndarray:
        """The middle simulated finishing position: the forecast with the least absolute
        error to expect (where the mean is pulled by the rare bad race)."""
        return np.median(self.positions, axis=0)

    def dnf_prob(self) -> np.ndarray:
        return np.isnan(self.times).mean(axis=0)

    def time_quantiles(self, q: Sequence[float] = (0.1, 0.5, 0.9)) -> np.ndarray:
        """[quantile, car] of finishing times (s from the simulation start), finishers only."""
        with np.errstate(all="ignore"):
            return np.nanquantile(self.times, q, axis=0)

    def position_distribution(self) -> np.ndarray:
        """[car, position-1] share of races finishing there."""
        n = self.positions.shape[1]
        counts = np.zeros((n, n), np.float64)
        for p in range(n):
            counts[:, p] = (self.positions == p + 1).sum(axis=0)
        return counts / self.positions.shape[0]


__all__ = ["FUEL_S_PER_LAP", "Field", "SimParams", "SimResult", "lap_matrix", "simulate"]
