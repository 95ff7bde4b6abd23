"""Battle forecast: for each pair of adjacent cars, the chance of a pass on track within the
next 1, 3 and 5 laps.

From lap tables (``strategy.data.lap_table`` columns) ``pair_frame`` builds, at the end of every
lap, each pair of cars in adjacent positions with the state both knew then (gap at the line,
recent pace, tyre age and compound) and what happened next: the first lap on which the car
behind was ahead, and the first lap that makes a position change say nothing about racing (a pit
in- or out-lap of either car, SC/VSC/red flag, a retirement, the end of the race). A pass
counts only when it comes before such a lap; a window cut short by one without a pass is left
out (censored). Lap 1 is never a window lap: anchors start at the end of lap 1.

``features`` is the one feature builder of training, back-test, API and stream worker. The
circuit's passing difficulty is fitted from history (``passing_rates``: passes per lap of pairs
within 1.5 s, shrunk towards the overall rate). One LightGBM classifier per horizon.
``forecast`` takes the race model's ``RaceState`` and returns the pairs (the worker's hook).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from schemas import BattlePair, BattlesEvent, EventTime
from strategy.data import COMPOUND_INDEX, DRY, canonical_circuit
from strategy.fuel import FUEL_S_PER_LAP
from strategy.laptime import clean_mask
from strategy.race_state import RaceState

HORIZONS = (1, 3, 5)
DRS_GAP_S = 1.0
#: Pairs closer than this (s) at the line count towards a circuit's passing rate.
CLOSE_GAP_S = 1.5
#: Laps of recent pace, as the stream worker keeps them (``DriverState.pace``).
PACE_LAPS = 5
#: Weight, in close pair-laps, of the overall rate in a circuit's shrunk passing rate.
RATE_PRIOR_LAPS = 200.0
MAX_GAP_S = 30.0
FEATURES = [
    "gap",
    "drs",
    "pace_delta",
    "tyre_age_delta",
    "compound_ahead",
    "compound_behind",
    "passing_rate",
    "position",
    "lap_frac",
]
#: Monotone constraints (LightGBM): a bigger gap or a slower car behind never raises the chance.
MONOTONE = {"gap": -1, "pace_delta": -1, "drs": 1, "passing_rate": 1}


def tyre_kind(compound: str) -> str:
    """Dry tyres are one kind; intermediates and wets each another (pace starts over)."""
    return "dry" if compound in DRY else compound


def recent_pace(laps: pd.DataFrame) -> pd.Series:
    """Per lap: median of the driver's last ``PACE_LAPS`` clean, fuel-corrected laps on the
    same kind of tyre (None before two), as ``DriverState.pace`` holds it live."""
    df = laps.sort_values(["race_id", "driver", "lap"])
    clean = clean_mask(df)
    fc = (df["lap_time"] - FUEL_S_PER_LAP * (df["laps_total"] - df["lap"])).where(clean)
    kind = df["compound"].map(tyre_kind)
    # A new block each time the driver changes kind of tyre: the pace starts over.
    same = (
        (kind == kind.shift())
        & (df["driver"] == df["driver"].shift())
        & (df["race_id"] == df["race_id"].shift())
    )
    block = (~same).cumsum().to_numpy()
    values = fc.to_numpy(float)
    out = np.full(len(values), np.nan)
    recent: list[float] = []
    for i in range(len(values)):
        if i == 0 or block[i] != block[i - 1]:
            recent = []
        if not np.isnan(values[i]):
            recent = [*recent[1 - PACE_LAPS :], values[i]]
        if len(recent) >= 2:
            out[i] = float(np.median(recent))
    return pd.Series(out, index=df.index).reindex(laps.index)


def _stop_lap(ok: np.ndarray) -> np.ndarray:
    """Index (1-based, per row) of the first False in each row of ``ok``; width+1 if none."""
    width = ok.shape[1]
    bad = ~ok
    first = np.where(bad.any(axis=1), bad.argmax(axis=1) + 1, width + 1)
    return first


def pair_frame(laps: pd.DataFrame, horizon: int = max(HORIZONS)) -> pd.DataFrame:
    """Adjacent pairs at the end of every lap from 1 on, with their state and outcome.

    Columns: race_id, circuit, lap, laps_total, position (of the car behind), ahead, behind,
    gap, pace_ahead, pace_behind, tyre_age_ahead/behind, compound_ahead/behind, and
    ``pass_lap`` (laps until the car behind was first ahead, 0: not within ``horizon``) and
    ``cut_lap`` (laps until the first lap that censors the window, 0: none within it).
    """
    df = laps.copy()
    df["pace"] = recent_pace(df)
    df = df.dropna(subset=["position", "time"])
    df = df[df["position"] > 0]
    ok_lap = ~(df["pit_in"] | df["pit_out"] | df["neutralised"] | df["lap_time"].isna())
    df = df.assign(ok=ok_lap.to_numpy())
    df = df.sort_values(["race_id", "lap", "position"])
    prev = df.groupby(["race_id", "lap"]).shift()
    pairs = df[(prev["position"] == df["position"] - 1)].copy()
    ahead = prev.loc[pairs.index]
    out = pd.DataFrame(
        {
            "race_id": pairs["race_id"].to_numpy(),
            "circuit": pairs["circuit"].to_numpy(),
            "season": pairs["season"].to_numpy(),
            "lap": pairs["lap"].to_numpy(),
            "laps_total": pairs["laps_total"].to_numpy(),
            "position": pairs["position"].to_numpy().astype(int),
            "ahead": ahead["driver"].to_numpy(),
            "behind": pairs["driver"].to_numpy(),
            "gap": (pairs["time"] - ahead["time"]).to_numpy(),
            "pace_ahead": ahead["pace"].to_numpy(dtype=float),
            "pace_behind": pairs["pace"].to_numpy(dtype=float),
            "tyre_age_ahead": ahead["tyre_life"].to_numpy(dtype=float),
            "tyre_age_behind": pairs["tyre_life"].to_numpy(dtype=float),
            "compound_ahead": ahead["compound"].to_numpy(),
            "compound_behind": pairs["compound"].to_numpy(),
        }
    )
    # Outcome: each car's position and whether the lap is a racing lap, ``horizon`` laps on.
    look = df.set_index(["race_id", "driver", "lap"])[["position", "ok"]]
    n = len(out)
    behind_ahead = np.zeros((n, horizon), bool)
    ok = np.zeros((n, horizon), bool)
    for j in range(1, horizon + 1):
        ka = pd.MultiIndex.from_arrays([out["race_id"], out["ahead"], out["lap"] + j])
        kb = pd.MultiIndex.from_arrays([out["race_id"], out["behind"], out["lap"] + j])
        a = look.reindex(ka)
        b = look.reindex(kb)
        behind_ahead[:, j - 1] = (b["position"].to_numpy() < a["position"].to_numpy()) & ~(
            np.isnan(a["position"].to_numpy()) | np.isnan(b["position"].to_numpy())
        )
        ok[:, j - 1] = a["ok"].eq(True).to_numpy() & b["ok"].eq(True).to_numpy()
    first_pass = np.where(behind_ahead.any(axis=1), behind_ahead.argmax(axis=1) + 1, 0)
    first_cut = _stop_lap(ok)
    out["pass_lap"] = np.where((first_pass > 0) & (first_pass < first_cut), first_pass, 0)
    out["cut_lap"] = np.where(first_cut <= horizon, first_cut, 0)
    return out


def outcome(pairs: pd.DataFrame, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """(usable, passed) for "passed within ``horizon`` laps": a pass before any censoring
    lap, or a full window of racing laps."""
    passed = (pairs["pass_lap"] > 0) & (pairs["pass_lap"] <= horizon)
    cut = (pairs["cut_lap"] > 0) & (pairs["cut_lap"] <= horizon)
    return (passed | ~cut).to_numpy(), passed.to_numpy()


def passing_rates(pairs: pd.DataFrame) -> tuple[dict[str, float], float]:
    """Per circuit: on-track passes per racing lap of pairs within ``CLOSE_GAP_S``, shrunk
    towards the overall rate; and the overall rate."""
    usable, passed = outcome(pairs, 1)
    close = usable & (pairs["gap"].to_numpy() < CLOSE_GAP_S)
    circuit = pairs["circuit"].map(canonical_circuit).to_numpy()[close]
    y = passed[close].astype(float)
    overall = float(y.mean()) if len(y) else 0.1
    frame = pd.DataFrame({"c": circuit, "y": y}).groupby("c")["y"].agg(["sum", "count"])
    rates = (frame["sum"] + RATE_PRIOR_LAPS * overall) / (frame["count"] + RATE_PRIOR_LAPS)
    return {str(k): float(v) for k, v in rates.items()}, overall


def features(
    gap: Sequence[float] | np.ndarray,
    pace_ahead: Sequence[float | None] | np.ndarray,
    pace_behind: Sequence[float | None] | np.ndarray,
    tyre_age_ahead: Sequence[float | None] | np.ndarray,
    tyre_age_behind: Sequence[float | None] | np.ndarray,
    compound_ahead: Sequence[str | None] | np.ndarray,
    compound_behind: Sequence[str | None] | np.ndarray,
    passing_rate: Sequence[float] | np.ndarray | float,
    position: Sequence[int] | np.ndarray,
    lap: Sequence[int] | np.ndarray | int,
    laps_total: Sequence[int] | np.ndarray | int,
) -> pd.DataFrame:
    """The model's inputs for pairs of cars (arrays of equal length; scalars broadcast)."""

    def num(v: object) -> np.ndarray:
        return np.asarray(pd.to_numeric(pd.Series(v), errors="coerce"), dtype=float)

    g = np.clip(num(gap), 0.0, MAX_GAP_S)
    n = len(g)

    def comp(v: Sequence[str | None] | np.ndarray) -> np.ndarray:
        return np.array([COMPOUND_INDEX.get(str(c).upper(), -1) for c in v], dtype=float)

    lap_a = np.broadcast_to(num(np.atleast_1d(lap)), (n,))
    total = np.broadcast_to(num(np.atleast_1d(laps_total)), (n,))
    return pd.DataFrame(
        {
            "gap": g,
            "drs": (g < DRS_GAP_S).astype(float),
            "pace_delta": num(pace_behind) - num(pace_ahead),
            "tyre_age_delta": num(tyre_age_behind) - num(tyre_age_ahead),
            "compound_ahead": comp(compound_ahead),
            "compound_behind": comp(compound_behind),
            "passing_rate": np.broadcast_to(num(np.atleast_1d(passing_rate)), (n,)),
            "position": num(position),
            "lap_frac": lap_a / np.maximum(total, 1.0),
        },
        columns=FEATURES,
    )


def pair_features(pairs: pd.DataFrame, rates: dict[str, float], overall: float) -> pd.DataFrame:
    """``features`` of a ``pair_frame``, with the circuit's passing rate from ``rates``."""
    rate = pairs["circuit"].map(canonical_circuit).map(rates).fillna(overall)
    return features(
        pairs["gap"],
        pairs["pace_ahead"],
        pairs["pace_behind"],
        pairs["tyre_age_ahead"],
        pairs["tyre_age_behind"],
        pairs["compound_ahead"],
        pairs["compound_behind"],
        rate.to_numpy(),
        pairs["position"],
        pairs["lap"].to_numpy(),
        pairs["laps_total"].to_numpy(),
    )


@dataclass
class BattleModel:
    """One booster per horizon, the circuits' passing rates and the run's metrics."""

    boosters: dict[int, object]  # horizon -> lightgbm.Booster
    rates: dict[str, float]
    overall_rate: float
    version: str = "untrained"
    metadata: dict = field(default_factory=dict)

    def rate(self, circuit: str) -> float:
        return self.rates.get(canonical_circuit(circuit), self.overall_rate)

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        """P(pass within h laps) for each row and horizon (columns: ``HORIZONS``), never
        falling as the horizon grows."""
        if not len(x):
            return np.zeros((0, len(HORIZONS)))
        cols = [
            np.asarray(self.boosters[h].predict(x[FEATURES].to_numpy(float), num_threads=1))
            for h in HORIZONS
        ]
        return np.maximum.accumulate(np.column_stack(cols), axis=1)


def fit(
    pairs: pd.DataFrame,
    rounds: int = 300,
    threads: int = 1,
    rates: tuple[dict[str, float], float] | None = None,
) -> BattleModel:
    """Fit the passing rates (unless given) and one classifier per horizon on ``pairs``."""
    import lightgbm as lgb

    table, overall = rates or passing_rates(pairs)
    x = pair_features(pairs, table, overall)
    params = {
        "objective": "binary",
        "learning_rate": 0.05,
        "num_leaves": 31,
        "min_data_in_leaf": 200,
        "feature_fraction": 0.9,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "monotone_constraints": [MONOTONE.get(f, 0) for f in FEATURES],
        "verbose": -1,
        "num_threads": threads,
    }
    boosters = {}
    for h in HORIZONS:
        usable, y = outcome(pairs, h)
        data = lgb.Dataset(x[usable].to_numpy(float), y[usable].astype(float), free_raw_data=True)
        boosters[h] = lgb.train(params, data, rounds)
    return BattleModel(boosters, table, overall)


def gap_baseline(pairs: pd.DataFrame, horizon: int) -> object:
    """The gap-only baseline: P(pass) as a non-increasing function of the gap (isotonic)."""
    from sklearn.isotonic import IsotonicRegression

    usable, y = outcome(pairs, horizon)
    gap = np.clip(pairs["gap"].to_numpy(float), 0.0, MAX_GAP_S)
    ok = usable & ~np.isnan(gap)
    iso = IsotonicRegression(increasing=False, out_of_bounds="clip", y_min=0.0, y_max=1.0)
    return iso.fit(gap[ok], y[ok].astype(float))


@dataclass
class BacktestRow:
    horizon: int
    pairs: int
    passes: int
    model_brier: float
    model_auc: float
    baseline_brier: float
    baseline_auc: float
    climatology_brier: float


def backtest(
    model: BattleModel, train_pairs: pd.DataFrame, test_pairs: pd.DataFrame
) -> list[BacktestRow]:
    """Brier and AUC on ``test_pairs`` per horizon, beside the gap-only baseline fitted on
    ``train_pairs`` and the training base rate (climatology), all in this run."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    probs = model.predict(pair_features(test_pairs, model.rates, model.overall_rate))
    gap = np.clip(test_pairs["gap"].to_numpy(float), 0.0, MAX_GAP_S)
    rows = []
    for i, h in enumerate(HORIZONS):
        usable, y = outcome(test_pairs, h)
        ok = usable & ~np.isnan(gap)
        base = gap_baseline(train_pairs, h).predict(gap[ok])
        train_usable, train_y = outcome(train_pairs, h)
        rate = float(train_y[train_usable].mean())
        yt = y[ok].astype(int)
        rows.append(
            BacktestRow(
                horizon=h,
                pairs=int(ok.sum()),
                passes=int(yt.sum()),
                model_brier=float(brier_score_loss(yt, probs[ok, i])),
                model_auc=float(roc_auc_score(yt, probs[ok, i])),
                baseline_brier=float(brier_score_loss(yt, base)),
                baseline_auc=float(roc_auc_score(yt, base)),
                climatology_brier=float(brier_score_loss(yt, np.full(len(yt), rate))),
            )
        )
    return rows


# ---------------------------------------------------------------- live: from a RaceState


@dataclass
class Battle:
    """A pair of adjacent cars and the chance the car behind passes within 1, 3, 5 laps."""

    position: int  # of the car behind
    ahead: str
    behind: str
    gap: float | None
    drs: bool
    pace_delta: float | None  # s per lap, behind minus ahead (negative: behind is faster)
    tyre_age_delta: float | None  # laps, behind minus ahead
    compound_ahead: str | None
    compound_behind: str | None
    p_pass_1: float
    p_pass_3: float
    p_pass_5: float


def _maybe(v: float) -> float | None:
    return None if v is None or np.isnan(v) else round(float(v), 3)


def forecast(state: RaceState, model: BattleModel) -> list[Battle]:
    """The battles of a race state: every pair of running cars next to each other in the
    order (a retired car between them leaves them adjacent), the car ahead first.

    Laps under SC, VSC or red flag are left out of the history the model learnt from, so
    under a neutralised track the chances are those once racing resumes."""
    cars = [d for d in state.running() if d.position and d.gap_to_leader is not None]
    pairs = list(itertools.pairwise(cars))
    if not pairs:
        return []
    x = features(
        [b.gap_to_leader - a.gap_to_leader for a, b in pairs],
        [a.pace for a, _ in pairs],
        [b.pace for _, b in pairs],
        [a.tyre_age for a, _ in pairs],
        [b.tyre_age for _, b in pairs],
        [a.compound for a, _ in pairs],
        [b.compound for _, b in pairs],
        model.rate(state.circuit),
        [b.position for _, b in pairs],
        state.lap,
        state.laps_total,
    )
    probs = model.predict(x)
    out = []
    for (a, b), row, p in zip(pairs, x.itertuples(index=False), probs, strict=True):
        out.append(
            Battle(
                position=b.position,
                ahead=a.driver,
                behind=b.driver,
                gap=_maybe(row.gap),
                drs=bool(row.drs),
                pace_delta=_maybe(row.pace_delta),
                tyre_age_delta=_maybe(row.tyre_age_delta),
                compound_ahead=a.compound,
                compound_behind=b.compound,
                p_pass_1=round(float(p[0]), 4),
                p_pass_3=round(float(p[1]), 4),
                p_pass_5=round(float(p[2]), 4),
            )
        )
    return out


def battles_event(
    state: RaceState,
    model: BattleModel,
    event_time: EventTime,
    source_produced_at: datetime | None = None,
) -> BattlesEvent:
    """The ``f1.battles.v1`` event of a race state (the stream worker's hook: call it with the
    same ``RaceState`` as the strategy update and the triggering lap's ``event_time``)."""
    return BattlesEvent(
        session_key=state.session_key,
        event_time=event_time,
        lap=state.lap,
        laps_total=state.laps_total,
        model_version=model.version,
        pairs=[BattlePair(**asdict(b)) for b in forecast(state, model)],
        source_produced_at=source_produced_at,
    )


def forecast_pairs(pairs: pd.DataFrame, model: BattleModel) -> pd.DataFrame:
    """``pairs`` (a ``pair_frame``) with p_pass_1/3/5 added: the forecast of every lap."""
    probs = model.predict(pair_features(pairs, model.rates, model.overall_rate))
    out = pairs.copy()
    for i, h in enumerate(HORIZONS):
        out[f"p_pass_{h}"] = probs[:, i]
    return out


# ---------------------------------------------------------------- artifact


def save(model: BattleModel, model_dir: Path, metadata: dict) -> Path:
    """Write ``battles-<version>/`` (a booster per horizon, ``metadata.json``)."""
    version = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    folder = model_dir / f"battles-{version}"
    folder.mkdir(parents=True, exist_ok=False)
    for h, booster in model.boosters.items():
        booster.save_model(str(folder / f"pass_within_{h}.txt"))
    meta = {
        "version": version,
        "features": FEATURES,
        "horizons": list(HORIZONS),
        "passing_rates": model.rates,
        "overall_rate": model.overall_rate,
        **metadata,
    }
    (folder / "metadata.json").write_text(json.dumps(meta, indent=2, default=float))
    return folder


def latest(model_dir: Path) -> Path | None:
    found = sorted(p for p in model_dir.glob("battles-*") if (p / "metadata.json").exists())
    return found[-1] if found else None


def load(model_dir: Path) -> BattleModel | None:
    """The newest battle model in ``model_dir`` (None when there is none)."""
    folder = latest(model_dir) if model_dir.exists() else None
    if folder is None:
        return None
    import lightgbm as lgb

    meta = json.loads((folder / "metadata.json").read_text())
    boosters = {
        h: lgb.Booster(model_file=str(folder / f"pass_within_{h}.txt")) for h in meta["horizons"]
    }
    return BattleModel(boosters, meta["passing_rates"], meta["overall_rate"], meta["version"], meta)


def backtest_dict(rows: list[BacktestRow]) -> list[dict]:
    return [asdict(r) for r in rows]


# ---------------------------------------------------------------- training run


@dataclass
class TrainingRun:
    model: BattleModel
    rows: list[BacktestRow]
    train_pairs: int
    test_pairs: int
    train_races: int
    test_races: int


def train_and_backtest(
    train_laps: pd.DataFrame,
    test_laps: pd.DataFrame,
    rounds: int = 300,
    threads: int = 1,
    step=None,
) -> TrainingRun:
    """Fit on ``train_laps`` and back-test on ``test_laps`` (races never seen in training)."""
    step = step or (lambda _msg: None)
    step("building pairs")
    train_pairs = pair_frame(train_laps)
    test_pairs = pair_frame(test_laps)
    step("training LightGBM (3 horizons)")
    model = fit(train_pairs, rounds=rounds, threads=threads)
    step("back-testing")
    rows = backtest(model, train_pairs, test_pairs)
    return TrainingRun(
        model,
        rows,
        len(train_pairs),
        len(test_pairs),
        int(train_laps["race_id"].nunique()),
        int(test_laps["race_id"].nunique()),
    )
