"""The decision engine: for every driver, when to pit, onto what, and what it is worth.

Candidate plans per driver (stay out, one stop on each remaining lap with each legal dry
compound, two stops for long remaining distances) are scored by expected race time from the
compound pace and degradation model; the pit window is the set of laps whose expected time is
within noise of the best. The field then races its best plans in the Monte Carlo simulator
for win/podium probabilities and expected positions, and the gaps to the cars around give
undercut/overcut threats and opportunities.
"""

from __future__ import annotations

import math
import time

import numpy as np

from schemas.derived import DriverStrategy, PitWindow
from strategy.artifacts import RaceModels
from strategy.data import COMPOUND_INDEX, DRY
from strategy.montecarlo import Field, SimParams, simulate
from strategy.race_state import DriverState, RaceState

WINDOW_TOLERANCE_S = 1.0  # expected-time margin treated as "within noise" of the best plan
OUT_LAP_PENALTY_S = 1.2  # cold tyres and pit exit on the out-lap
SC_LOSS_FACTOR = {"sc": 0.45, "vsc": 0.65}


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _stint_time(base: float, off: float, slope: float, age0: float, laps: np.ndarray) -> np.ndarray:
    """Expected time of stints of ``laps`` laps starting at tyre age ``age0``."""
    return laps * (base + off) + slope * (laps * age0 + laps * (laps - 1) / 2.0)


class _Plans:
    """Expected remaining race time of every candidate plan of one driver (vectorised)."""

    def __init__(self, d: DriverState, base: float, state: RaceState, models: RaceModels) -> None:
        off, slope = models.compound_arrays(state.circuit)
        lap, total = state.lap, state.laps_total
        left = total - lap
        cur = COMPOUND_INDEX.get(d.compound, 1)
        loss = models.pit_loss(state.circuit)
        now_factor = SC_LOSS_FACTOR.get(state.track_status, 1.0)
        self.current = d.compound
        dry_race = d.compound in DRY or d.compound == "UNKNOWN"
        used = {c for c in (*d.compounds_used, d.compound) if c in DRY}
        #: (expected time, plan) of the best plan per compound sequence.
        self.by_sequence: dict[tuple[str, ...], tuple[float, tuple[tuple[int, str], ...]]] = {}
        self.one_stop: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if not dry_race or len(used) >= 2 or left <= 1:
            stay = _stint_time(base, off[cur], slope[cur], d.tyre_age, np.array([left]))[0]
            self.by_sequence[(d.compound,)] = (float(stay), ())
        if left >= 2:
            pit_laps = np.arange(lap + 1, total)  # stop at the end of these laps
            first = (pit_laps - lap).astype(float)
            rest = (total - pit_laps).astype(float)
            losses = np.full(len(pit_laps), loss + OUT_LAP_PENALTY_S)
            losses[0] = loss * now_factor + OUT_LAP_PENALTY_S
            before = _stint_time(base, off[cur], slope[cur], d.tyre_age, first)
            for comp in DRY if dry_race else (d.compound,):
                if dry_race and len(used) < 2 and comp in used:
                    continue
                c = COMPOUND_INDEX[comp]
                t = before + losses + _stint_time(base, off[c], slope[c], 0.0, rest)
                k = int(np.argmin(t))
                self.one_stop[comp] = (pit_laps, t)
                self.by_sequence[(d.compound, comp)] = (float(t[k]), ((int(pit_laps[k]), comp),))
            if left > 30 and dry_race:
                p1 = np.arange(lap + 1, total - 12)
                p2 = p1 + (total - p1) // 2
                s1 = _stint_time(base, off[cur], slope[cur], d.tyre_age, (p1 - lap).astype(float))
                s1 = s1 + 2 * (loss + OUT_LAP_PENALTY_S)
                s1[0] -= loss * (1.0 - now_factor)
                for c1 in DRY:
                    a = COMPOUND_INDEX[c1]
                    s2 = _stint_time(base, off[a], slope[a], 0.0, (p2 - p1).astype(float))
                    for c2 in DRY:
                        if len(used | {c1, c2}) < 2:
                            continue
                        b = COMPOUND_INDEX[c2]
                        s3 = _stint_time(base, off[b], slope[b], 0.0, (total - p2).astype(float))
                        t = s1 + s2 + s3
                        k = int(np.argmin(t))
                        plan = ((int(p1[k]), c1), (int(p2[k]), c2))
                        self.by_sequence[(d.compound, c1, c2)] = (float(t[k]), plan)
        ranked = sorted(self.by_sequence.items(), key=lambda kv: kv[1][0])
        self.sequences = [seq for seq, _ in ranked]
        self.best = ranked[0][1]
        other = [t for seq, (t, plan) in ranked if len(plan) != len(self.best[1])]
        self.margin = (other[0] - self.best[0]) if other else 30.0

    def window(self) -> PitWindow | None:
        """Laps for the next stop within tolerance of the best plan, if the best plan stops."""
        best_t, best_plan = self.best
        if not best_plan:
            return None
        comp = best_plan[0][1]
        if len(best_plan) == 1 and comp in self.one_stop:
            laps, t = self.one_stop[comp]
            ok = laps[t - best_t <= WINDOW_TOLERANCE_S]
            return PitWindow(
                open_lap=int(ok.min()), close_lap=int(ok.max()), best_lap=best_plan[0][0]
            )
        return PitWindow(
            open_lap=max(best_plan[0][0] - 2, 1),
            close_lap=best_plan[0][0] + 2,
            best_lap=best_plan[0][0],
        )

    def ranked_sequences(self) -> list[tuple[str, ...]]:
        """Compound sequences (from the current tyre), best first."""
        return list(self.sequences)


def base_paces(state: RaceState, models: RaceModels) -> np.ndarray:
    """Per running car: MEDIUM-equivalent, fuel-corrected pace at tyre age 0."""
    off, slope = models.compound_arrays(state.circuit)
    cars = state.running()
    known = [d.pace for d in cars if d.pace is not None]
    fallback = float(np.median(known)) if known else 90.0
    out = []
    for d in cars:
        c = COMPOUND_INDEX.get(d.compound, 1)
        if d.pace is None:
            out.append(fallback + 0.08 * d.position)
        else:
            out.append(d.pace - off[c] - slope[c] * d.tyre_age)
    return np.array(out, np.float64)


def plans_for(state: RaceState, models: RaceModels) -> list[_Plans]:
    base = base_paces(state, models)
    return [_Plans(d, float(b), state, models) for d, b in zip(state.running(), base, strict=True)]


def simulate_state(
    state: RaceState,
    models: RaceModels,
    plans: list[tuple[tuple[int, str], ...]] | None = None,
    n_sims: int = 1000,
    seed: int = 0,
    noise_sd: float = 0.45,
):
    """Run the Monte Carlo on ``state`` with the given plans (default: each car's best plan)."""
    cars = state.running()
    if plans is None:
        plans = [p.best[1] for p in plans_for(state, models)]
    off, slope = models.compound_arrays(state.circuit)
    p_sc, p_vsc = models.sc_hazard(state.circuit)
    field = Field.build(
        base_paces(state, models),
        np.array([d.gap_to_leader for d in cars]),
        [d.compound for d in cars],
        np.array([d.tyre_age for d in cars]),
        plans,
    )
    params = SimParams(
        laps_total=state.laps_total,
        start_lap=state.lap,
        pit_loss=models.pit_loss(state.circuit),
        p_sc=p_sc,
        p_vsc=p_vsc,
        offsets=off,
        slopes=slope,
        noise_sd=noise_sd,
        pass_delta=models.pass_delta(state.circuit),
        sc_laps_left=3 if state.track_status == "sc" else 0,
        vsc_laps_left=2 if state.track_status in ("vsc", "vsc_ending") else 0,
    )
    return simulate(field, params, n_sims, seed)


def recommend(
    state: RaceState, models: RaceModels, n_sims: int = 500, seed: int | None = None
) -> list[DriverStrategy]:
    """One recommendation per running car, in position order; see the module docstring."""
    cars = state.running()
    if not cars:
        return []
    started = time.perf_counter()
    plans = plans_for(state, models)
    seed = int(started * 1e6) % (2**31) if seed is None else seed
    result = simulate_state(state, models, [p.best[1] for p in plans], n_sims, seed)
    win, podium, expected = result.win_prob(), result.podium_prob(), result.expected_position()
    off, slope = models.compound_arrays(state.circuit)
    out = []
    for i, (d, p) in enumerate(zip(cars, plans, strict=True)):
        best_plan = p.best[1]
        window = p.window()
        confidence = float(np.clip(1 - math.exp(-p.margin / 2.0), 0.05, 0.99))
        next_comp = best_plan[0][1] if best_plan else None
        fresh_gain = 0.0
        if next_comp:
            c, n = COMPOUND_INDEX.get(d.compound, 1), COMPOUND_INDEX[next_comp]
            fresh_gain = (
                2 * (off[c] + slope[c] * d.tyre_age - off[n] - slope[n]) - OUT_LAP_PENALTY_S
            )
        ahead = cars[i - 1] if i > 0 else None
        behind = cars[i + 1] if i + 1 < len(cars) else None
        gap_ahead = d.gap_to_leader - ahead.gap_to_leader if ahead else None
        gap_behind = behind.gap_to_leader - d.gap_to_leader if behind else None
        under_opp = (
            _phi((fresh_gain - gap_ahead) / 1.0) if gap_ahead is not None and next_comp else 0.0
        )
        over_opp = 0.0
        if ahead is not None and gap_ahead is not None:
            over_opp = _phi((OUT_LAP_PENALTY_S + 0.5 - gap_ahead) / 1.0) * (1 - confidence) * 0.5
        under_threat = over_threat = 0.0
        if behind is not None and gap_behind is not None:
            bp = plans[i + 1]
            b_next = bp.best[1][0][1] if bp.best[1] else None
            if b_next:
                c = COMPOUND_INDEX.get(behind.compound, 1)
                n = COMPOUND_INDEX[b_next]
                gain = 2 * (off[c] + slope[c] * behind.tyre_age - off[n] - slope[n])
                gain -= OUT_LAP_PENALTY_S
                soon = bp.best[1][0][0] - state.lap <= 5
                under_threat = _phi((gain - gap_behind) / 1.0) * (1.0 if soon else 0.4)
            over_threat = _phi((OUT_LAP_PENALTY_S + 0.5 - gap_behind) / 1.0) * 0.3
        pit_under_sc = None
        if state.track_status in ("sc", "vsc", "vsc_ending"):
            pit_under_sc = bool(best_plan) and best_plan[0][0] == state.lap + 1
        out.append(
            DriverStrategy(
                driver=d.driver,
                position=d.position,
                compound=d.compound,
                tyre_age=float(d.tyre_age),
                stops=d.stops,
                pit_window=window,
                recommended_compound=next_comp,
                stay_out=not best_plan,
                pit_now=bool(best_plan) and best_plan[0][0] == state.lap + 1,
                pit_under_sc=pit_under_sc,
                undercut_threat=round(float(np.clip(under_threat, 0, 1)), 4),
                undercut_opportunity=round(float(np.clip(under_opp, 0, 1)), 4),
                overcut_threat=round(float(np.clip(over_threat, 0, 1)), 4),
                overcut_opportunity=round(float(np.clip(over_opp, 0, 1)), 4),
                win_prob=float(win[i]),
                podium_prob=float(podium[i]),
                expected_position=round(float(expected[i]), 3),
                confidence=round(confidence, 3),
            )
        )
    return out
