"""Back-testing the model on races it never saw: lap-time accuracy, strategy, outcomes.

Pointed at lap CSVs in the format of the data directory, it measures next-lap and
5-laps-ahead lap-time error against the persistence baseline (the previous lap) on green-flag
laps, how often the recommended number of stops and compound sequence match what drivers did,
and at 25/50/75% race distance the error of predicted finishing positions and the Brier score
of the win probabilities. Evaluate on seasons or races held out of training, never on laps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from strategy.artifacts import RaceModels
from strategy.data import DRY, finishing_positions
from strategy.decisions import plans_for, recommend
from strategy.fuel import FUEL_S_PER_LAP
from strategy.laptime import add_horizon, anchor_frame
from strategy.race_state import DriverState, RaceState

STRATEGY_LAP = 5  # the stop-count and sequence advice is taken after this lap


@dataclass
class BacktestResult:
    races: list[str] = field(default_factory=list)
    lap_rows: dict[int, int] = field(default_factory=dict)
    model_mae: dict[int, float] = field(default_factory=dict)
    persistence_mae: dict[int, float] = field(default_factory=dict)
    stops_match: float = float("nan")
    sequence_top3: float = float("nan")
    strategy_drivers: int = 0
    position_mae: dict[int, float] = field(default_factory=dict)
    position_mae_hold: dict[int, float] = field(default_factory=dict)
    brier: dict[int, float] = field(default_factory=dict)
    brier_leader: dict[int, float] = field(default_factory=dict)  # "the leader wins" baseline


def lap_predictions(anchors: pd.DataFrame, models: RaceModels, h: int) -> pd.DataFrame:
    """Predicted and persistence lap times ``h`` laps ahead, on clean green anchor/target laps."""
    key = ["race_id", "driver"]
    tgt = anchors.groupby(key, sort=False)[["clean", "stint", "lap", "lap_time"]].shift(-h)
    rows = anchors[
        anchors["clean"]
        & anchors["ref_pace"].notna()
        & tgt["clean"].astype("boolean").fillna(False).astype(bool)
        & (tgt["stint"] == anchors["stint"])
        & (tgt["lap"] == anchors["lap"] + h)
    ].copy()
    rows["target_lap_time"] = tgt.loc[rows.index, "lap_time"]
    circuits = models.laptime.circuits if models.laptime else {}
    rows = add_horizon(rows, h, circuits)
    if models.laptime is not None:
        rows["pred"] = models.laptime.predict_rows(rows)
    else:  # priors: recent pace, plus wear and fuel
        rows["pred"] = rows["ref_pace"] + FUEL_S_PER_LAP * rows["laps_remaining_at"] + h * 0.05
    rows["persistence"] = rows["lap_time"]
    return rows


def race_state_at(anchors: pd.DataFrame, race_id: str, lap: int) -> RaceState | None:
    """The state of one race at the end of the leader's lap ``lap``, from its lap rows."""
    race = anchors[anchors["race_id"] == race_id]
    now = race[race["lap"] == lap].dropna(subset=["time"])
    if len(now) < 3:
        return None
    lead_time = now["time"].min()
    cars = []
    order = now.sort_values("time")
    for pos, row in enumerate(order.itertuples(), start=1):
        prev = race[(race["driver"] == row.driver) & (race["lap"] <= lap)]
        used = tuple(c for c in prev["compound"].unique() if c in DRY)
        stint = int(row.stint) if not pd.isna(row.stint) else 1
        pace = row.ref_pace if not pd.isna(row.ref_pace) else None
        cars.append(
            DriverState(
                driver=row.driver,
                position=pos,
                gap_to_leader=float(row.time - lead_time),
                compound=row.compound
                if row.compound in (*DRY, "INTERMEDIATE", "WET")
                else "MEDIUM",
                tyre_age=int(row.tyre_life) if not pd.isna(row.tyre_life) else lap,
                stops=max(stint - 1, 0),
                compounds_used=used,
                pace=None if pace is None else float(pace),
                team=row.team,
            )
        )
    first = race.iloc[0]
    return RaceState(
        race_id,
        first["circuit"],
        int(first["season"]),
        lap,
        int(first["laps_total"]),
        "green",
        cars,
    )


def run_backtest(
    laps: pd.DataFrame,
    models: RaceModels,
    data_dir: Path,
    n_sims: int = 1000,
    progress: Callable[[str], None] | None = None,
) -> BacktestResult:
    res = BacktestResult()
    anchors = anchor_frame(laps)
    res.races = sorted(anchors["race_id"].unique())
    for h in (1, 5):
        rows = lap_predictions(anchors, models, h)
        res.lap_rows[h] = len(rows)
        res.model_mae[h] = float((rows["pred"] - rows["target_lap_time"]).abs().mean())
        res.persistence_mae[h] = float((rows["persistence"] - rows["target_lap_time"]).abs().mean())
    stops_ok, seq_ok = [], []
    errs: dict[int, list[float]] = {25: [], 50: [], 75: []}
    hold: dict[int, list[float]] = {25: [], 50: [], 75: []}
    brier: dict[int, list[float]] = {25: [], 50: [], 75: []}
    brier_lead: dict[int, list[float]] = {25: [], 50: [], 75: []}
    for race_id in res.races:
        if progress:
            progress(race_id)
        race = anchors[anchors["race_id"] == race_id]
        dry = race["compound"].isin(DRY).mean() > 0.9
        state = race_state_at(anchors, race_id, STRATEGY_LAP)
        if state is not None and dry:
            for d, plan in zip(state.running(), plans_for(state, models), strict=True):
                stints = race[race["driver"] == d.driver].sort_values("lap")
                seq = tuple(stints.groupby("stint", sort=True)["compound"].first())
                finished = stints["lap"].max() >= state.laps_total - 1
                if not finished or any(c not in DRY for c in seq):
                    continue
                stops_ok.append(d.stops + len(plan.best[1]) == len(seq) - 1)
                seq_ok.append(seq in plan.ranked_sequences()[:3])
        first = race.iloc[0]
        final = finishing_positions(data_dir, int(first["season"]), str(first["event"]))
        if not final:
            last = race.sort_values("lap").groupby("driver").last()
            final = {d: int(p) for d, p in last["position"].dropna().items()}
        total = int(first["laps_total"])
        for pct in (25, 50, 75):
            state = race_state_at(anchors, race_id, max(1, round(total * pct / 100)))
            if state is None:
                continue
            recs = recommend(state, models, n_sims=n_sims, seed=pct)
            winner = min(final, key=final.get) if final else None
            for r in recs:
                if r.driver not in final:
                    continue
                errs[pct].append(abs(r.expected_position - final[r.driver]))
                hold[pct].append(abs(r.position - final[r.driver]))
                brier[pct].append((r.win_prob - (r.driver == winner)) ** 2)
                brier_lead[pct].append(float((r.position == 1) != (r.driver == winner)))
    res.strategy_drivers = len(stops_ok)
    res.stops_match = float(np.mean(stops_ok)) if stops_ok else float("nan")
    res.sequence_top3 = float(np.mean(seq_ok)) if seq_ok else float("nan")
    for pct in (25, 50, 75):
        res.position_mae[pct] = float(np.mean(errs[pct])) if errs[pct] else float("nan")
        res.position_mae_hold[pct] = float(np.mean(hold[pct])) if hold[pct] else float("nan")
        res.brier[pct] = float(np.mean(brier[pct])) if brier[pct] else float("nan")
        res.brier_leader[pct] = float(np.mean(brier_lead[pct])) if brier_lead[pct] else float("nan")
    return res
