"""Back-testing the race model on races it never saw: lap times, strategy, outcomes.

Pointed at lap CSVs in the format of the data directory, :func:`run_backtest` replays each
race lap by lap through the same code the worker runs (the race state after every leader lap,
with every car's laps so far, into :func:`strategy.decisions.recommend`) and scores:

- lap times: next-lap and 5-laps-ahead MAE on green laps, against the previous lap
  (persistence) and an exponentially weighted mean of recent clean laps (EWMA);
- strategy: how often the recommended stop count matches what drivers did and the real
  compound sequence is among the top 3 (advice taken after lap ``STRATEGY_LAP``), and for every
  real stop, whether the stop lap recommended on the lap before is within 1 or 2 laps of it;
- rejoin: for every real green-flag stop, the projected place on the lap of the stop against
  the place at the end of the out-lap;
- outcomes: win Brier on every lap and at 25/50/75% distance against "the leader wins",
  podium Brier, the win ECE, and the finishing-position MAE of the predicted position (the
  median simulated one; the mean's beside it) against "the order now";
- the largest drop of the eventual winner's win chance across his green-flag stops;
- wet races: the lap the engine first calls the switch between slicks and intermediates or
  wets (``strategy.wet``'s crossover advice, which ``recommend`` follows) against the top 10's
  median in-lap.

``walk_forward``: race k learns from races 1..k-1 of the same file (never from itself or
later): the lap-time model gets more boosting rounds on their laps, and the teams' wear is
refitted with them, before race k is scored.
Evaluate on seasons or races held out of training, never on laps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from strategy.artifacts import RaceModels
from strategy.calibration import reliability
from strategy.compounds import DRY
from strategy.decisions import recommend
from strategy.plan_table import plans_for
from strategy.race_state import RaceState
from training.history import lap_files, race_results, read_laps
from training.laptime import ahead_rows, anchor_table, circuit_codes, extend_model, race_cars
from training.race_states import _stops, state_at
from training.wear import fit_wear_scale
from training.wet.backtest import crossover_lap_error

STRATEGY_LAP = 5  # the stop-count and sequence advice is taken after this lap
PCTS = (25, 50, 75)
EVAL_BAND = 0.07  # green laps within this share of the race's median lap time are scored


@dataclass
class RaceRecord:
    """What one race's replay produced (per lap: the win chances of every car)."""

    race_id: str
    winner: str | None
    laps_total: int
    win: dict[int, dict[str, float]] = field(default_factory=dict)
    leader: dict[int, str] = field(default_factory=dict)
    podium_pairs: list[tuple[float, bool]] = field(default_factory=list)
    max_drop: float | None = None


@dataclass
class BacktestResult:
    races: list[str] = field(default_factory=list)
    lap_rows: dict[int, int] = field(default_factory=dict)
    lap_mae: dict[int, dict[str, float]] = field(default_factory=dict)
    stops_match: float = float("nan")
    sequence_top3: float = float("nan")
    strategy_drivers: int = 0
    pit_lap_within: dict[int, float] = field(default_factory=dict)
    stops_scored: int = 0
    rejoin_within_1: float = float("nan")
    rejoin_mae: float = float("nan")
    rejoin_stops: int = 0
    win_brier: dict[int, dict[str, float]] = field(default_factory=dict)
    win_brier_all_laps: dict[str, float] = field(default_factory=dict)
    win_brier_by_tenth: dict[int, dict[str, float]] = field(default_factory=dict)
    podium_brier: dict[str, float] = field(default_factory=dict)
    win_ece: float = float("nan")
    reliability: list[dict[str, float]] = field(default_factory=list)
    position_mae: dict[int, dict[str, float]] = field(default_factory=dict)
    max_pit_cycle_drop: float = float("nan")
    mean_pit_cycle_drop: float = float("nan")
    crossover_lap_error: float | None = None
    walk_forward: bool = False

    def to_json(self) -> dict[str, Any]:
        """The back-test's figures under the keys ``pitwall backtest --json`` writes."""

        def r(x: float | None, nd: int = 4) -> float | None:
            return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(x, nd)

        return {
            "races": self.races,
            "walk_forward": self.walk_forward,
            "next_lap_mae": {k: r(v) for k, v in self.lap_mae.get(1, {}).items()},
            "five_lap_mae": {k: r(v) for k, v in self.lap_mae.get(5, {}).items()},
            "stops_match": r(self.stops_match),
            "sequence_top3": r(self.sequence_top3),
            "pit_lap_within_1": r(self.pit_lap_within.get(1)),
            "pit_lap_within_2": r(self.pit_lap_within.get(2)),
            "rejoin_within_1": r(self.rejoin_within_1),
            "win_brier": {
                str(p): {k: r(v) for k, v in d.items()} for p, d in self.win_brier.items()
            },
            "win_brier_all_laps": {k: r(v) for k, v in self.win_brier_all_laps.items()},
            "podium_brier": {k: r(v) for k, v in self.podium_brier.items()},
            "win_ece": r(self.win_ece),
            "crossover_lap_error": r(self.crossover_lap_error, 2),
            "position_mae": {
                str(p): {k: r(v, 3) for k, v in d.items()} for p, d in self.position_mae.items()
            },
            "counts": {
                "strategy_drivers": self.strategy_drivers,
                "stops_scored": self.stops_scored,
                "rejoin_stops": self.rejoin_stops,
                "lap_rows": self.lap_rows,
            },
            "rejoin_mae": r(self.rejoin_mae, 3),
            "win_brier_by_tenth": {
                str(t): {k: r(v) for k, v in d.items()} for t, d in self.win_brier_by_tenth.items()
            },
            "max_pit_cycle_drop": r(self.max_pit_cycle_drop),
            "mean_pit_cycle_drop": r(self.mean_pit_cycle_drop),
            "reliability": self.reliability,
        }


def eval_clean(anchors: pd.DataFrame) -> pd.Series:
    """The laps lap-time accuracy is scored on: clean, and within ``EVAL_BAND`` of the race's
    median clean lap (a slow zone or a spin the flags did not show is not scored)."""
    med = anchors["race_id"].map(anchors[anchors["clean"]].groupby("race_id")["lap_time"].median())
    lt = anchors["lap_time"]
    return anchors["clean"] & (lt < med * (1 + EVAL_BAND)) & (lt > med * (1 - EVAL_BAND))


def lap_accuracy(anchors: pd.DataFrame, models: RaceModels, h: int) -> pd.DataFrame:
    """Predicted, persistence and EWMA lap times ``h`` laps ahead, on scored anchor/target laps."""
    a = anchors.copy()
    a["scored"] = eval_clean(a)
    raw = a["lap_time"].where(a["clean"])
    a["ewma"] = raw.groupby([a["race_id"], a["driver"], a["stint"]]).transform(
        lambda s: s.ewm(alpha=0.5, ignore_na=True).mean()
    )
    rows = ahead_rows(a, h)
    target_scored = a.groupby(["race_id", "driver"])["scored"].shift(-h)
    rows = rows[rows["scored"] & target_scored.reindex(rows.index).astype("boolean").fillna(False)]
    if models.laptime is not None:
        rows["pred"] = models.laptime.predict_rows(rows)
    else:  # priors: the car's pace, plus the fuel still to burn
        rows["pred"] = rows["ewm"] + 0.055 * rows["laps_remaining_at"] + h * 0.05
    rows["persistence"] = rows["lap_time"]
    return rows


def run_backtest(
    laps: pd.DataFrame,
    models: RaceModels,
    data_dir: Path,
    n_sims: int = 500,
    walk_forward: bool = False,
    every: int = 1,
    progress: Callable[[str], None] | None = None,
) -> BacktestResult:
    """Replay every race of ``laps`` and score the model (see the module docstring).

    ``every``: score the outcome metrics every this many laps (1: every lap).
    """
    res = BacktestResult(walk_forward=walk_forward)
    circuits = circuit_codes(laps, models.laptime.circuits if models.laptime else None)
    anchors = anchor_table(laps, circuits)
    res.races = sorted(anchors["race_id"].unique())
    order = (
        laps.groupby("race_id")[["season", "round"]].first().sort_values(["season", "round"])
    ).index.tolist()
    era = pd.DataFrame()
    if walk_forward and models.metadata.get("seasons"):
        era = read_laps(lap_files(data_dir, [max(models.metadata["seasons"])]))
    lap_rows: dict[int, list[pd.DataFrame]] = {1: [], 5: []}
    stops_ok, seq_ok, records = [], [], []
    pit_hits: dict[int, list[bool]] = {1: [], 2: []}
    rejoin_err: list[int] = []
    errs: dict[int, list[tuple[float, float]]] = {p: [] for p in PCTS}
    for k, race_id in enumerate(order):
        if progress:
            progress(race_id)
        race_models = models
        if walk_forward and k > 0 and models.laptime is not None:
            earlier = laps[laps["race_id"].isin(order[:k])]
            race_models = _learnt(models, earlier, era)
        race_anchors = anchors[anchors["race_id"] == race_id]
        for h in (1, 5):
            lap_rows[h].append(lap_accuracy(race_anchors, race_models, h))
        race = laps[laps["race_id"] == race_id]
        record, detail = _replay(race, race_models, data_dir, n_sims, every)
        records.append(record)
        stops_ok += detail["stops_ok"]
        seq_ok += detail["seq_ok"]
        for w in (1, 2):
            pit_hits[w] += detail["pit_hits"][w]
        rejoin_err += detail["rejoin_err"]
        for p in PCTS:
            errs[p] += detail["errs"][p]
    for h in (1, 5):
        rows = pd.concat(lap_rows[h], ignore_index=True)
        res.lap_rows[h] = len(rows)
        res.lap_mae[h] = {
            name: float((rows[name] - rows["target_lap_time"]).abs().mean())
            for name in ("pred", "persistence", "ewma")
        }
        res.lap_mae[h]["model"] = res.lap_mae[h].pop("pred")
    res.strategy_drivers = len(stops_ok)
    res.stops_match = float(np.mean(stops_ok)) if stops_ok else float("nan")
    res.sequence_top3 = float(np.mean(seq_ok)) if seq_ok else float("nan")
    res.stops_scored = len(pit_hits[1])
    res.pit_lap_within = {w: float(np.mean(v)) if v else float("nan") for w, v in pit_hits.items()}
    res.rejoin_stops = len(rejoin_err)
    if rejoin_err:
        res.rejoin_within_1 = float(np.mean(np.abs(rejoin_err) <= 1))
        res.rejoin_mae = float(np.mean(np.abs(rejoin_err)))
    _outcomes(res, records)
    # Wet races: the lap the engine first calls a change of tyre family against the top 10's
    # median in-lap (dry references from the seasons before the evaluated ones).
    first_season = int(laps["season"].min())
    seasons = [s for s in models.metadata.get("seasons", []) if s < first_season]
    history = read_laps(lap_files(data_dir, seasons)) if seasons else None
    res.crossover_lap_error = crossover_lap_error(laps, models.pit_loss, history=history)["model"]
    for p in PCTS:
        e = np.array(errs[p]) if errs[p] else np.full((0, 3), np.nan)
        res.position_mae[p] = {
            "model": float(e[:, 0].mean()) if len(e) else float("nan"),
            "hold": float(e[:, 1].mean()) if len(e) else float("nan"),
            "mean": float(e[:, 2].mean()) if len(e) else float("nan"),
        }
    return res


def win_rows(
    laps: pd.DataFrame,
    models: RaceModels,
    data_dir: Path,
    n_sims: int = 500,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Every lap of every race in ``laps`` replayed as the back-test does: per car, its win
    chance (``p``), whether it led (``leader``) and won (``won``), with the lap's ``key``."""
    out = []
    for race_id, race in laps.groupby("race_id", sort=False):
        if progress:
            progress(str(race_id))
        rec, _ = _replay(race, models, data_dir, n_sims, 1)
        if rec.winner is None:
            continue
        for lap, win in rec.win.items():
            out += [
                (f"{race_id}:{lap}", p, d == rec.leader[lap], d == rec.winner)
                for d, p in win.items()
            ]
    return pd.DataFrame(out, columns=["key", "p", "leader", "won"])


def _learnt(models: RaceModels, earlier: pd.DataFrame, era: pd.DataFrame) -> RaceModels:
    """``models`` having learnt the races ``earlier`` (of the season evaluated): more rounds of
    the lap-time model, and the teams' wear refitted with them and the latest training
    season (``era``)."""
    from dataclasses import replace

    assert models.laptime is not None
    laptime = extend_model(models.laptime, earlier)
    dry = pd.concat([era, earlier], ignore_index=True)
    wear = fit_wear_scale(dry[~dry["sprint"]], replace(models, laptime=None))
    return replace(models, laptime=laptime, wear_scale=wear)


def _replay(
    race: pd.DataFrame, models: RaceModels, data_dir: Path, n_sims: int, every: int
) -> tuple[RaceRecord, dict[str, Any]]:
    """One race, lap by lap: the engine's advice and chances against what happened."""
    first = race.iloc[0]
    total = int(first["laps_total"])
    results = race_results(data_dir, int(first["season"]), str(first["event"]))
    final = {d: r["position"] for d, r in results.items()}
    if not final:
        last = race.sort_values("lap").groupby("driver").last()
        final = {d: int(p) for d, p in last["position"].dropna().items()}
    winner = min(final, key=final.get) if final else None
    out_at = {d: r["laps"] for d, r in results.items() if r["retired"]}
    cars = race_cars(race)
    record = RaceRecord(str(first["race_id"]), winner, total)
    detail: dict[str, Any] = {
        "stops_ok": [], "seq_ok": [], "pit_hits": {1: [], 2: []}, "rejoin_err": [],
        "errs": {p: [] for p in PCTS},
    }  # fmt: skip
    stops = _stops(race)
    stop_laps = {lap - 1 for _, lap in stops}
    pct_laps = {max(1, round(total * p / 100)): p for p in PCTS}
    dry = race["compound"].isin(DRY).mean() > 0.9
    positions = race.set_index(["driver", "lap"])["position"]
    status = race.groupby("lap")["track_status"].agg(lambda s: "".join(s.astype(str)))
    for lap in range(1, total):
        wanted = lap % every == 0 or lap in stop_laps or lap in pct_laps or lap == STRATEGY_LAP
        if not wanted:
            continue
        out = {d for d, n in out_at.items() if n <= lap}
        state = state_at(race, cars, lap, out)
        if state is None:
            continue
        recs = recommend(state, models, n_sims=n_sims, seed=lap)
        by = {r.driver: r for r in recs}
        record.win[lap] = {r.driver: r.win_prob for r in recs}
        record.leader[lap] = recs[0].driver
        if winner is not None:
            record.podium_pairs += [(r.podium_prob, final.get(r.driver, 99) <= 3) for r in recs]
        if lap in pct_laps:
            for r in recs:
                if r.driver in final:
                    detail["errs"][pct_laps[lap]].append(
                        (
                            abs(r.predicted_position - final[r.driver]),
                            abs(r.position - final[r.driver]),
                            abs(r.expected_position - final[r.driver]),
                        )
                    )
        if lap == STRATEGY_LAP and dry:
            _score_plans(race, state, models, total, detail)
        for driver, stop_lap in stops:
            if stop_lap - 1 != lap or driver not in by:
                continue
            rec = by[driver]
            if rec.pit_window is not None:
                for w in (1, 2):
                    detail["pit_hits"][w].append(abs(rec.pit_window.best_lap - stop_lap) <= w)
            else:
                for w in (1, 2):
                    detail["pit_hits"][w].append(False)
            green = set(str(status.get(stop_lap, "1")) + str(status.get(stop_lap + 1, "1"))) <= {
                "1"
            }
            actual = positions.get((driver, stop_lap + 1))
            if green and rec.rejoin and actual is not None and not pd.isna(actual):
                detail["rejoin_err"].append(int(rec.rejoin[0].position - int(actual)))
    record.max_drop = _pit_cycle_drop(record, stops, status)
    return record, detail


def _score_plans(race: pd.DataFrame, state: RaceState, models: RaceModels, total: int,
                 detail: dict[str, Any]) -> None:  # fmt: skip
    """Stop count and compound sequence advised after ``STRATEGY_LAP`` against the real ones,
    for the cars that finished on dry tyres."""
    for d, plan in zip(state.running(), plans_for(state, models), strict=True):
        stints = race[race["driver"] == d.driver].sort_values("lap")
        seq = tuple(stints.groupby("stint", sort=True)["compound"].first())
        if stints["lap"].max() < total - 1 or any(c not in DRY for c in seq):
            continue
        detail["stops_ok"].append(d.stops + len(plan.best[1]) == len(seq) - 1)
        detail["seq_ok"].append(seq in plan.ranked_sequences()[:3])


def _pit_cycle_drop(
    record: RaceRecord, stops: list[tuple[str, int]], status: pd.Series
) -> float | None:
    """The largest fall of the eventual winner's win chance from the lap before one of his
    green-flag stops to its lowest over that stop's laps (in-lap to two laps after)."""
    if record.winner is None:
        return None
    drops = []
    for driver, lap in stops:
        if driver != record.winner:
            continue
        laps = range(lap - 1, lap + 3)
        if not all(set(str(status.get(x, "1"))) <= {"1"} for x in laps):
            continue
        before = record.win.get(lap - 1, {}).get(driver)
        during = [record.win[x].get(driver, 0.0) for x in range(lap, lap + 3) if x in record.win]
        if before is not None and during:
            drops.append(before - min(during))
    return max(drops) if drops else None


def _pair_means(pairs: list[tuple[float, float]]) -> dict[str, float]:
    arr = np.asarray(pairs, float)
    return {"model": float(arr[:, 0].mean()), "leader": float(arr[:, 1].mean())}


def _outcomes(res: BacktestResult, records: list[RaceRecord]) -> None:
    """Win Brier (every lap, per tenth, at 25/50/75%), podium Brier, ECE, pit-cycle drops."""
    all_m, all_l = [], []
    by_tenth: dict[int, list[tuple[float, float]]] = {t: [] for t in range(10)}
    at_pct: dict[int, list[tuple[float, float]]] = {p: [] for p in PCTS}
    probs, hits = [], []
    for rec in records:
        if rec.winner is None:
            continue
        pct_laps = {max(1, round(rec.laps_total * p / 100)): p for p in PCTS}
        for lap, win in rec.win.items():
            model = np.mean([(p - (d == rec.winner)) ** 2 for d, p in win.items()])
            leader = np.mean([float((d == rec.leader[lap]) != (d == rec.winner)) for d in win])
            all_m.append(model)
            all_l.append(leader)
            by_tenth[min(int(10 * lap / rec.laps_total), 9)].append((model, leader))
            if lap in pct_laps:
                at_pct[pct_laps[lap]].append((model, leader))
            probs += list(win.values())
            hits += [d == rec.winner for d in win]
    res.win_brier_all_laps = {"model": float(np.mean(all_m)), "leader": float(np.mean(all_l))}
    res.win_brier = {p: _pair_means(v) for p, v in at_pct.items() if v}
    res.win_brier_by_tenth = {t: _pair_means(v) for t, v in by_tenth.items() if v}
    pod = [pair for rec in records for pair in rec.podium_pairs]
    if pod:
        p = np.array([x for x, _ in pod])
        y = np.array([float(h) for _, h in pod])
        res.podium_brier = {"model": float(np.mean((p - y) ** 2))}
    if probs:
        rel = reliability(np.array(probs), np.array(hits, float), n_bins=10)
        res.win_ece = rel.ece
        res.reliability = [vars(b) for b in rel.bins]
    drops = [r.max_drop for r in records if r.max_drop is not None]
    if drops:
        res.max_pit_cycle_drop = float(np.max(drops))
        res.mean_pit_cycle_drop = float(np.mean(drops))
