"""The one feature builder of the winner model: training, back-test, API and the update.

``FeatureBuilder`` walks the races in order. For each race it first writes one row per
entrant from what was known before the lights (``features``), then learns the race's result
(``update``): Elo ratings, recent form, championship points (``points`` rules), circuit
history and the grid-slot record. A row therefore never sees its own race's result.

Two moments share the row: the columns of ``PRE_FEATURES`` are known before qualifying; the
``POST_FEATURES`` add the grid and qualifying gaps (NaN while the grid is unknown).

A race's entrants, qualifying times and weekend weather come from ``race_inputs``; the
grid-slot record is ``grid_record.GridRecord``.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from prerace.grid_record import GridRecord, grid_slots
from prerace.history import History
from prerace.points import FIRST_SEASON, race_points, season_rules, sprint_points
from prerace.race_inputs import entrants_of, quali_seconds, weekend_weather
from prerace.ratings import Elo, EloConfig

#: Street and semi-street circuits (``circuit_ref``): walls close, passing hard.
STREET_CIRCUITS = frozenset(
    {
        "monaco", "baku", "marina_bay", "jeddah", "vegas", "valencia", "adelaide", "detroit",
        "phoenix", "albert_park", "villeneuve", "sochi", "miami", "long_beach", "dallas",
    }
)  # fmt: skip
FORM_RACES = 5

PRE_FEATURES = [
    "n_field", "elo_driver", "elo_team", "elo_driver_gap", "elo_team_gap", "elo_sum_gap",
    "elo_driver_rank", "elo_team_rank", "elo_sum_rank", "form_pos", "form_points", "form_wins",
    "form_podiums", "form_dnf", "team_form_best", "team_form_wins", "champ_pos", "champ_gap",
    "team_champ_pos", "circuit_starts", "circuit_wins", "circuit_pos", "team_circuit_best",
    "street", "circuit_pole_win", "season_round", "rain_pre", "air_temp_pre",
]  # fmt: skip
POST_FEATURES = [
    *[f for f in PRE_FEATURES if not f.endswith("_pre")], "rain_post", "air_temp_post",
    "grid", "grid_win_rate", "grid_podium_rate", "quali_gap", "quali_gap_q1",
    "teammate_grid_delta", "grid_vs_elo", "front_row",
]  # fmt: skip
MOMENTS = ("pre", "post")
WEATHER_FEATURES = ("rain_pre", "air_temp_pre", "rain_post", "air_temp_post")


def features_for(moment: str) -> list[str]:
    """The feature columns of a moment: ``pre`` (before qualifying) or ``post`` (after)."""
    if moment not in MOMENTS:
        raise ValueError(f"moment must be one of {MOMENTS}, not {moment!r}")
    return PRE_FEATURES if moment == "pre" else POST_FEATURES


@dataclass
class FeatureBuilder:
    """Running state over the races seen so far (see the module docstring)."""

    elo_config: EloConfig = field(default_factory=EloConfig)
    grid_from: int = 2000  # the grid-slot record starts with this season

    def __post_init__(self) -> None:
        self.elo = Elo(self.elo_config)
        self.form: dict[int, deque] = defaultdict(lambda: deque(maxlen=FORM_RACES))
        self.team_form: dict[int, deque] = defaultdict(lambda: deque(maxlen=3))
        self.circuit: dict[tuple[int, int], list[float]] = defaultdict(list)
        self.team_circuit: dict[tuple[int, int], float] = {}
        self.points: dict[int, float] = defaultdict(float)
        self.team_points: dict[int, float] = defaultdict(float)
        self.grid = GridRecord()
        self.season: int | None = None
        self.lineup: list[tuple[int, int]] = []
        self.rating_rows: list[tuple[int, str, int, float]] = []

    # -- state -------------------------------------------------------------------------
    def _start(self, season: int) -> None:
        if season != self.season:
            self.elo.start_season(season)
            self.points.clear()
            self.team_points.clear()
            self.season = season

    def update(
        self,
        race: Mapping[str, Any],
        results: pd.DataFrame,
        sprint: pd.DataFrame | None = None,
    ) -> None:
        """Learn one race's results (and its sprint's) after its rows were written."""
        season, rnd, circuit = int(race["season"]), int(race["round"]), int(race["circuit_id"])
        self._start(season)
        res = results.sort_values("position_order")
        drivers = res["driver_id"].astype(int).tolist()
        teams = res["constructor_id"].astype(int).tolist()
        order = res["position_order"].to_numpy(float)
        pos = res["position"].to_numpy(float)
        self.elo.update(drivers, teams, order)
        for table, kind in ((self.elo.drivers, "driver"), (self.elo.constructors, "constructor")):
            ids = drivers if kind == "driver" else sorted(set(teams))
            self.rating_rows += [(int(race["race_id"]), kind, i, table.get(i)) for i in ids]
        rules_ok = season >= FIRST_SEASON
        pts = (
            race_points(season, rnd, pos, res.get("rank"), res.get("points"))
            if rules_ok
            else res["points"].fillna(0).to_numpy(float)
        )
        top = season_rules(season).race[0] if rules_ok else 10.0
        n = len(res)
        best_team: dict[int, float] = {}
        for d, t, o, p, pt in zip(drivers, teams, order, pos, pts, strict=True):
            finished = bool(np.isfinite(p))
            self.form[d].append((o / n, pt / top, p == 1, p <= 3, not finished))
            self.circuit[(d, circuit)].append(o)
            self.points[d] += pt
            self.team_points[t] += pt
            best_team[t] = min(best_team.get(t, np.inf), p if finished else o)
        for t, b in best_team.items():
            self.team_form[t].append(b)
            self.team_circuit[(t, circuit)] = b
        if sprint is not None and len(sprint) and rules_ok:
            for d, t, pt in zip(
                sprint["driver_id"].astype(int),
                sprint["constructor_id"].astype(int),
                sprint_points(season, sprint["position"]),
                strict=True,
            ):
                self.points[d] += pt
                self.team_points[t] += pt
        if season >= self.grid_from:
            slots = grid_slots(res["grid"], n)
            self.grid.add(circuit, slots, pos)
        self.lineup = list(zip(drivers, teams, strict=True))

    # -- rows --------------------------------------------------------------------------
    def features(
        self,
        race: Mapping[str, Any],
        entrants: pd.DataFrame,
        quali: pd.DataFrame | None = None,
        weather: dict[str, float] | None = None,
        street: bool = False,
    ) -> pd.DataFrame:
        """One row per entrant (``driver_id``, ``constructor_id``, optional ``grid``).

        ``weather`` holds ``rain_pre``/``air_temp_pre`` (practice) and ``rain_post``/
        ``air_temp_post`` (practice and qualifying), see ``weekend_weather``.
        """
        season, circuit = int(race["season"]), int(race["circuit_id"])
        if season != self.season:
            # a new season's first race: ratings regress, the championship starts at zero
            self._start(season)
        drivers = entrants["driver_id"].astype(int).to_numpy()
        teams = entrants["constructor_id"].astype(int).to_numpy()
        n = len(drivers)
        cols: dict[str, Any] = {
            "race_id": np.full(n, int(race["race_id"])),
            "season": np.full(n, season),
            "round": np.full(n, int(race["round"])),
            "driver_id": drivers,
            "constructor_id": teams,
            "n_field": np.full(n, float(n)),
        }
        cols.update(self._rating_columns(drivers, teams))
        cols.update(self._form_columns(drivers, teams))
        cols.update(self._championship_columns(drivers, teams))
        cols.update(self._circuit_columns(drivers, teams, circuit))
        cols["street"] = np.full(n, float(street))
        cols["circuit_pole_win"] = np.full(n, self.grid.circuit_pole_win(circuit))
        cols["season_round"] = np.full(n, float(race["round"]))
        weather = weather or {}
        for k in WEATHER_FEATURES:
            cols[k] = np.full(n, weather.get(k, math.nan))
        grid = entrants["grid"].to_numpy(float) if "grid" in entrants else np.full(n, np.nan)
        cols.update(self._grid_columns(grid, teams, cols["elo_sum_rank"]))
        cols["quali_gap"], cols["quali_gap_q1"] = self._quali_gaps(drivers, quali)
        return pd.DataFrame(cols)

    def _rating_columns(self, drivers: np.ndarray, teams: np.ndarray) -> dict[str, np.ndarray]:
        """Elo ratings of driver, team and both, as gaps to the best and as ranks."""
        elo_d = self.elo.drivers.get_many(drivers)
        elo_t = self.elo.constructors.get_many(teams)
        elo_sum = elo_d + elo_t

        def rank_of(values: np.ndarray) -> np.ndarray:
            return (-values).argsort().argsort() + 1.0

        return {
            "elo_driver": elo_d,
            "elo_team": elo_t,
            "elo_driver_gap": elo_d - elo_d.max(),
            "elo_team_gap": elo_t - elo_t.max(),
            "elo_sum_gap": elo_sum - elo_sum.max(),
            "elo_driver_rank": rank_of(elo_d),
            "elo_team_rank": rank_of(elo_t),
            "elo_sum_rank": rank_of(elo_sum),
        }

    def _form_columns(self, drivers: np.ndarray, teams: np.ndarray) -> dict[str, np.ndarray]:
        """Recent form of each driver (last ``FORM_RACES``) and team (last three)."""
        n = len(drivers)
        cols: dict[str, np.ndarray] = {}
        form = np.array([self._form(d) for d in drivers], dtype=float).reshape(n, 5)
        for i, name in enumerate(("pos", "points", "wins", "podiums", "dnf")):
            cols[f"form_{name}"] = form[:, i]
        team_form = np.array([self._team_form(t) for t in teams], dtype=float).reshape(n, 2)
        cols["team_form_best"], cols["team_form_wins"] = team_form[:, 0], team_form[:, 1]
        return cols

    def _championship_columns(
        self, drivers: np.ndarray, teams: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Places in the drivers' and constructors' championships (NaN before the first
        race of a season) and the gap to the leader as a share of the leader's points."""
        champ = np.array([self.points.get(d, 0.0) for d in drivers])
        team_champ = np.array([self.team_points.get(t, 0.0) for t in teams])
        started = bool(self.points)
        leader = max(self.points.values()) if started else 0.0
        all_points = sorted(self.points.values(), reverse=True)
        all_team = sorted(self.team_points.values(), reverse=True)

        def place(value: float, table: list[float]) -> float:
            return float(1 + sum(v > value for v in table)) if started else math.nan

        n = len(drivers)
        return {
            "champ_pos": np.array([place(p, all_points) for p in champ]),
            "champ_gap": (leader - champ) / max(leader, 1.0) if started else np.full(n, np.nan),
            "team_champ_pos": np.array([place(p, all_team) for p in team_champ]),
        }

    def _circuit_columns(
        self, drivers: np.ndarray, teams: np.ndarray, circuit: int
    ) -> dict[str, np.ndarray]:
        """Each driver's and team's record at this circuit."""
        circuit_hist = [self.circuit.get((d, circuit), []) for d in drivers]
        return {
            "circuit_starts": np.array([len(h) for h in circuit_hist], dtype=float),
            "circuit_wins": np.array([sum(o == 1 for o in h) for h in circuit_hist], float),
            "circuit_pos": np.array(
                [float(np.mean(h[-5:])) if h else math.nan for h in circuit_hist]
            ),
            "team_circuit_best": np.array(
                [self.team_circuit.get((t, circuit), math.nan) for t in teams]
            ),
        }

    def _grid_columns(
        self, grid: np.ndarray, teams: np.ndarray, elo_sum_rank: np.ndarray
    ) -> dict[str, np.ndarray]:
        """The grid features (NaN while the grid is unknown): slot, the slot's record, front
        row, slot against the Elo rank and against the teammate's slot."""
        n = len(grid)
        known = bool(np.isfinite(grid).any())
        cols: dict[str, np.ndarray] = {"grid_known": np.full(n, known)}
        if not known:
            for col in (
                "grid", "grid_win_rate", "grid_podium_rate", "front_row", "grid_vs_elo",
                "teammate_grid_delta",
            ):  # fmt: skip
                cols[col] = np.full(n, np.nan)
            return cols
        slots = grid_slots(grid, n)
        cols["grid"] = slots.astype(float)
        cols["grid_win_rate"], cols["grid_podium_rate"] = self.grid.rates(slots)
        cols["front_row"] = (slots <= 2).astype(float)
        cols["grid_vs_elo"] = slots - elo_sum_rank
        same = teams[:, None] == teams[None, :]
        np.fill_diagonal(same, False)
        mates = same.sum(axis=1)
        other = np.where(
            mates > 0, (same * slots[None, :]).sum(axis=1) / np.maximum(mates, 1), np.nan
        )
        cols["teammate_grid_delta"] = slots - other
        return cols

    def _form(self, driver: int) -> tuple[float, float, float, float, float]:
        f = self.form.get(driver)
        if not f:
            return (math.nan, math.nan, math.nan, math.nan, math.nan)
        arr = np.array(f, dtype=float)
        return (
            arr[:, 0].mean(),
            arr[:, 1].mean(),
            arr[:, 2].sum(),
            arr[:, 3].sum(),
            arr[:, 4].mean(),
        )

    def _team_form(self, team: int) -> tuple[float, float]:
        f = self.team_form.get(team)
        if not f:
            return (math.nan, math.nan)
        arr = np.array(f, dtype=float)
        return (float(arr.mean()), float((arr == 1).sum()))

    @staticmethod
    def _quali_gaps(drivers: np.ndarray, quali: pd.DataFrame | None) -> tuple[np.ndarray, ...]:
        """Gap (%) of each driver's best qualifying lap to the pole time, and in Q1 alone.

        ``quali`` holds ``driver_id`` and the session times in seconds (``q1_s``, ``q2_s``,
        ``q3_s``; see ``quali_seconds``)."""
        nan = np.full(len(drivers), np.nan)
        if quali is None or quali.empty:
            return nan, nan
        ids = quali["driver_id"].to_numpy()
        times = quali[["q1_s", "q2_s", "q3_s"]].to_numpy(float)
        with np.errstate(all="ignore"):
            best = np.fmin.reduce(times, axis=1)
        q1 = times[:, 0]
        if not np.isfinite(best).any():
            return nan, nan
        where = {d: i for i, d in enumerate(ids)}
        idx = np.array([where.get(d, -1) for d in drivers])
        found = idx >= 0
        gap, gap1 = nan.copy(), nan.copy()
        gap[found] = 100 * (best[idx[found]] / np.nanmin(best) - 1)
        if np.isfinite(q1).any():
            gap1[found] = 100 * (q1[idx[found]] / np.nanmin(q1) - 1)
        return gap, gap1


@dataclass
class FeatureTable:
    """Rows of every race from ``since`` (targets where the race is run) and the builder's
    state after the last race run (ready for the next one)."""

    rows: pd.DataFrame
    builder: FeatureBuilder


def build_features(
    history: History,
    since: int = 2010,
    elo: EloConfig | None = None,
    warmup_from: int = 1991,
    grid_from: int = 2000,
) -> FeatureTable:
    """Walk every race from ``warmup_from``; rows for races from season ``since``.

    A race's row uses the grid when the history has it (its results or qualifying), so
    ``pre`` and ``post`` models read the same rows with different columns.
    """
    builder = FeatureBuilder(elo or EloConfig(), grid_from=grid_from)
    races = history.ordered_races()
    races = races[races["season"] >= warmup_from]
    res_by_race = dict(tuple(history.results.groupby("race_id")))
    spr = history.sprint_results
    spr_by_race = dict(tuple(spr.groupby("race_id"))) if spr is not None else {}
    q = history.qualifying
    q_by_race = dict(tuple(quali_seconds(q).groupby("race_id"))) if q is not None else {}
    w = history.weather
    w_by_race = dict(tuple(w.groupby("race_id"))) if w is not None and len(w) else {}
    street_ids: set[int] = set()
    if history.circuits is not None:
        c = history.circuits
        street_ids = set(c.loc[c["circuit_ref"].isin(STREET_CIRCUITS), "circuit_id"].astype(int))
    out = []
    for row in races.to_dict("records"):
        rid = int(row["race_id"])
        if row["season"] >= since:
            entrants = entrants_of(history, rid, builder.lineup)
            if len(entrants):
                frame = builder.features(
                    row,
                    entrants,
                    q_by_race.get(rid),
                    weekend_weather(w_by_race.get(rid)),
                    street=int(row["circuit_id"]) in street_ids,
                )
                res = res_by_race.get(rid)
                if res is not None:
                    won = res.set_index("driver_id")["position"]
                    p = frame["driver_id"].map(won)
                    frame["win"] = (p == 1).astype(float)
                    frame["podium"] = (p <= 3).astype(float)
                    frame["position"] = p
                else:
                    frame["win"] = frame["podium"] = frame["position"] = math.nan
                out.append(frame)
        if row["has_results"]:
            builder.update(row, res_by_race[rid], spr_by_race.get(rid))
    rows = pd.concat(out, ignore_index=True) if out else pd.DataFrame()
    return FeatureTable(rows, builder)
