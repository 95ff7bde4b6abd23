"""Safety-car and VSC hazard per circuit and lap, from history, and its sanity check.

The hazard is the chance that a neutralisation starts on a given racing lap, estimated per
circuit from Ergast's safety-car list and VSC estimates, shrunk towards the all-circuit rate
where a circuit has few races. ``compare_sc_counts`` sets the per-race count distribution the
hazard implies beside the one in the history it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from strategy.circuits import canonical_circuit
from training.history import ergast_races, ergast_table, vsc_estimates

PRIOR_RACES = 4.0  # weight of the all-circuit rate, in races


@dataclass
class Hazard:
    p_sc: float
    p_vsc: float
    races: int


def sc_history(data_dir: Path, since: int = 2015, until: int = 2023) -> pd.DataFrame:
    """Per race: circuit, laps, number of SC deployments and of VSC periods."""
    races = ergast_races(data_dir)
    races = races[(races["year"] >= since) & (races["year"] <= until)]
    results = ergast_table(data_dir, "results")
    laps = results.groupby("raceId")["laps"].max()
    races = races[races["raceId"].isin(laps.index)].copy()
    races["laps"] = races["raceId"].map(laps)
    sc = ergast_table(data_dir, "safety_cars")
    sc_counts = sc.groupby("Race").size()
    races["sc"] = races["race_name"].map(sc_counts).fillna(0).astype(int)
    vsc = vsc_estimates(data_dir)

    def periods(race_name: str) -> int:
        laps_ = sorted(vsc.get(race_name, []))
        return sum(1 for i, lap in enumerate(laps_) if i == 0 or lap != laps_[i - 1] + 1)

    races["vsc"] = races["race_name"].map(periods)
    return races[["year", "circuit", "race_name", "laps", "sc", "vsc"]]


def hazards(history: pd.DataFrame) -> tuple[dict[str, Hazard], Hazard]:
    """Per-circuit and all-circuit per-lap hazards."""
    total_laps = history["laps"].sum()
    g_sc, g_vsc = history["sc"].sum() / total_laps, history["vsc"].sum() / total_laps
    out = {}
    for circuit, g in history.groupby("circuit"):
        laps = g["laps"].sum()
        w = PRIOR_RACES * g["laps"].mean()
        out[circuit] = Hazard(
            float((g["sc"].sum() + g_sc * w) / (laps + w)),
            float((g["vsc"].sum() + g_vsc * w) / (laps + w)),
            len(g),
        )
    return out, Hazard(float(g_sc), float(g_vsc), len(history))


def compare_sc_counts(
    history: pd.DataFrame, table: dict[str, Hazard], sims: int = 4000, seed: int = 0
) -> pd.DataFrame:
    """Share of races with 0, 1, 2, 3+ safety cars (and VSCs): history versus the simulator.

    Every race of the history is re-run in the Monte Carlo race simulator (a two-car field
    over the race's laps, the circuit's hazards), so the comparison checks what the simulator
    does (neutralisations cannot start while one runs), not just the hazard arithmetic.
    """
    from strategy.montecarlo import Field, SimParams, simulate

    per_race = max(sims // max(len(history), 1), 20)
    zeros = np.zeros(5, np.float32)
    field = Field.build(np.full(2, 90.0), np.array([0.0, 5.0]), ["MEDIUM"] * 2, np.zeros(2),
                        [(), ()])  # fmt: skip
    sc_sim, vsc_sim = [], []
    for k, row in enumerate(history.itertuples()):
        h = table.get(row.circuit)
        if h is None:
            continue
        params = SimParams(int(row.laps), 0, 20.0, h.p_sc, h.p_vsc, zeros, zeros)
        res = simulate(field, params, per_race, seed=seed + k)
        sc_sim.append(res.sc_count)
        vsc_sim.append(res.vsc_count)
    bins = ["0", "1", "2", "3+"]

    def share(values: np.ndarray) -> list[float]:
        v = np.minimum(values, 3)
        return [float((v == k).mean()) for k in range(4)]

    return pd.DataFrame(
        {
            "per race": bins,
            "history": share(history["sc"].to_numpy()),
            "model": share(np.concatenate(sc_sim)),
            "history_vsc": share(history["vsc"].to_numpy()),
            "model_vsc": share(np.concatenate(vsc_sim)),
        }
    )


def circuit_of(event_name: str) -> str:
    return canonical_circuit(event_name)
