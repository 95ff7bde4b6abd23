"""The one feature builder of the winner model: training, back-test, API and the update.

``FeatureBuilder`` walks the races in order. For each race it first writes one row per
entrant from what was known before the lights (``features``), then learns the race's result
(``update``): Elo ratings, recent form, championship points (``points`` rules), circuit
history and the grid-slot record. A row therefore never sees its own race's result.

Two moments share the row: the columns of ``PRE_FEATURES`` are known before qualifying; the
``POST_FEATURES`` add the grid and qualifying gaps (NaN while the grid is unknown).

Entrants of a race are its results' drivers when the race is run, else its qualifying's,
else the line-up of the last race run (the next race before the entry list is known).
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from prerace.history import History
from prerace.points import FIRST_SEASON, race_points, season_rules, sprint_points
from prerace.ratings import Elo, EloConfig

#: Street and semi-street circuits (``circuit_ref``): walls close, passing hard.
STREET_CIRCUITS = frozenset(
    {
        "monaco", "baku", "marina_bay", "jeddah", "vegas", "valencia", "adelaide", "detroit",
        "phoenix", "albert_park", "villeneuve", "sochi", "miami", "long_beach", "dallas",
    }
)  # fmt: skip
MAX_SLOT = 26  # grid slots tracked for the grid-slot record (pit-lane starts go last)
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
class GridRecord:
    """Wins and podiums from each grid slot (and each circuit's pole) over the races seen."""

    starts: np.ndarray = field(default_factory=lambda: np.zeros(MAX_SLOT + 1))
    wins: np.ndarray = field(default_factory=lambda: np.zeros(MAX_SLOT + 1))
    podiums: np.ndarray = field(default_factory=lambda: np.zeros(MAX_SLOT + 1))
    races: int = 0
    field_total: int = 0
    pole_races: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    pole_wins: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, circuit: int, slots: np.ndarray, position: np.ndarray) -> None:
        won, podium = position == 1, position <= 3
        np.add.at(self.starts, slots, 1)
        np.add.at(self.wins, slots, won.astype(float))
        np.add.at(self.podiums, slots, podium.astype(float))
        self.races += 1
        self.field_total += len(slots)
        self.pole_races[circuit] += 1
        self.pole_wins[circuit] += int(bool(won[slots == 1].any()))

    def rates(self, slots: np.ndarray, strength: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
        """Smoothed win and podium rate of each slot: ``strength`` pseudo-starts at the
        average rate of the field (1 / field, 3 / field) pull thin slots towards it."""
        mean_field = self.field_total / self.races if self.races else 20.0
        s = self.starts[slots]
        win = (self.wins[slots] + strength / mean_field) / (s + strength)
        podium = (self.podiums[slots] + 3 * strength / mean_field) / (s + strength)
        return win, podium

    def circuit_pole_win(self, circuit: int, strength: float = 3.0) -> float:
        overall = sum(self.pole_wins.values()) / max(1, sum(self.pole_races.values()))
        return (self.pole_wins[circuit] + strength * overall) / (
            self.pole_races[circuit] + strength
        )


def grid_slots(grid: Iterable[float], n_field: int) -> np.ndarray:
    """Grid positions as slots 1..MAX_SLOT; 0 / missing (pit lane) start last."""
    g = np.asarray(list(grid), dtype=float)
    g = np.where(~np.isfinite(g) | (g <= 0), n_field, g)
    return np.clip(g, 1, MAX_SLOT).astype(int)


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
        elo_d = self.elo.drivers.get_many(drivers)
        elo_t = self.elo.constructors.get_many(teams)
        elo_sum = elo_d + elo_t

        def rank_of(values: np.ndarray) -> np.ndarray:
            return (-values).argsort().argsort() + 1.0

        champ = np.array([self.points.get(d, 0.0) for d in drivers])
        team_champ = np.array([self.team_points.get(t, 0.0) for t in teams])
        started = bool(self.points)
        leader = max(self.points.values()) if started else 0.0
        all_points = sorted(self.points.values(), reverse=True)
        all_team = sorted(self.team_points.values(), reverse=True)

        def place(value: float, table: list[float]) -> float:
            return float(1 + sum(v > value for v in table)) if started else math.nan

        form = [self._form(d) for d in drivers]
        team_form = [self._team_form(t) for t in teams]
        circuit_hist = [self.circuit.get((d, circuit), []) for d in drivers]
        weather = weather or {}
        cols: dict[str, object] = {
            "race_id": np.full(n, int(race["race_id"])),
            "season": np.full(n, season),
            "round": np.full(n, int(race["round"])),
            "driver_id": drivers,
            "constructor_id": teams,
            "n_field": np.full(n, float(n)),
            "elo_driver": elo_d,
            "elo_team": elo_t,
            "elo_driver_gap": elo_d - elo_d.max(),
            "elo_team_gap": elo_t - elo_t.max(),
            "elo_sum_gap": elo_sum - elo_sum.max(),
            "elo_driver_rank": rank_of(elo_d),
            "elo_team_rank": rank_of(elo_t),
            "elo_sum_rank": rank_of(elo_sum),
        }
        form = np.array([self._form(d) for d in drivers], dtype=float).reshape(n, 5)
        for i, name in enumerate(("pos", "points", "wins", "podiums", "dnf")):
            cols[f"form_{name}"] = form[:, i]
        team_form = np.array([self._team_form(t) for t in teams], dtype=float).reshape(n, 2)
        cols["team_form_best"], cols["team_form_wins"] = team_form[:, 0], team_form[:, 1]
        cols["champ_pos"] = np.array([place(p, all_points) for p in champ])
        cols["champ_gap"] = (leader - champ) / max(leader, 1.0) if started else np.full(n, np.nan)
        cols["team_champ_pos"] = np.array([place(p, all_team) for p in team_champ])
        cols["circuit_starts"] = np.array([len(h) for h in circuit_hist], dtype=float)
        cols["circuit_wins"] = np.array([sum(o == 1 for o in h) for h in circuit_hist], float)
        cols["circuit_pos"] = np.array(
            [float(np.mean(h[-5:])) if h else math.nan for h in circuit_hist]
        )
        cols["team_circuit_best"] = np.array(
            [self.team_circuit.get((t, circuit), math.nan) for t in teams]
        )
        cols["street"] = np.full(n, float(street))
        cols["circuit_pole_win"] = np.full(n, self.grid.circuit_pole_win(circuit))
        cols["season_round"] = np.full(n, float(race["round"]))
        for k in WEATHER_FEATURES:
            cols[k] = np.full(n, weather.get(k, math.nan))
        grid = entrants["grid"].to_numpy(float) if "grid" in entrants else np.full(n, np.nan)
        known = bool(np.isfinite(grid).any())
        cols["grid_known"] = np.full(n, known)
        if known:
            slots = grid_slots(grid, n)
            cols["grid"] = slots.astype(float)
            cols["grid_win_rate"], cols["grid_podium_rate"] = self.grid.rates(slots)
            cols["front_row"] = (slots <= 2).astype(float)
            cols["grid_vs_elo"] = slots - cols["elo_sum_rank"]
            same = teams[:, None] == teams[None, :]
            np.fill_diagonal(same, False)
            mates = same.sum(axis=1)
            other = np.where(
                mates > 0, (same * slots[None, :]).sum(axis=1) / np.maximum(mates, 1), np.nan
            )
            cols["teammate_grid_delta"] = slots - other
        else:
            for col in (
                "grid", "grid_win_rate", "grid_podium_rate", "front_row", "grid_vs_elo",
                "teammate_grid_delta",
            ):  # fmt: skip
                cols[col] = np.full(n, np.nan)
        cols["quali_gap"], cols["quali_gap_q1"] = self._quali_gaps(drivers, quali)
        return pd.DataFrame(cols)

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


def quali_seconds(qualifying: pd.DataFrame) -> pd.DataFrame:
    """``qualifying`` with ``q1_s``, ``q2_s``, ``q3_s``: the lap times in seconds."""
    out = qualifying.copy()
    for q in ("q1", "q2", "q3"):
        col = out[q] if q in out else pd.Series(np.nan, index=out.index)
        text = col.astype("string").str.strip()
        parts = text.str.extract(r"^(?:(\d+):)?(\d+(?:\.\d+)?)$")
        minutes = pd.to_numeric(parts[0], errors="coerce").fillna(0.0)
        out[f"{q}_s"] = (minutes * 60 + pd.to_numeric(parts[1], errors="coerce")).astype(float)
    return out


def entrants_of(history: History, race_id: int, lineup: list[tuple[int, int]]) -> pd.DataFrame:
    """Who takes part in ``race_id``, with the grid where it is known (module docstring)."""
    res = history.results[history.results["race_id"] == race_id]
    if len(res):
        # by driver, never in the results' finishing order (ties would leak the winner)
        out = res[["driver_id", "constructor_id", "grid"]].sort_values("driver_id")
        return out.reset_index(drop=True)
    q = history.qualifying
    if q is not None:
        rows = q[q["race_id"] == race_id]
        if len(rows):
            out = rows[["driver_id", "constructor_id", "position"]].rename(
                columns={"position": "grid"}
            )
            return out.sort_values("driver_id").reset_index(drop=True)
    lineup_frame = pd.DataFrame(lineup, columns=["driver_id", "constructor_id"])
    return lineup_frame.sort_values("driver_id").reset_index(drop=True).assign(grid=np.nan)


PRACTICE = ("FP1", "FP2", "FP3")
QUALIFYING = ("Q", "SQ")


def weekend_weather(weather: pd.DataFrame | None) -> dict[str, float]:
    """Weather features of one weekend from its sessions' rows (``session``, ``rainfall``,
    ``air_temp``): practice for the pre-qualifying view, practice and qualifying for the
    post-qualifying one. The race's own weather is never a feature (it is not known before)."""
    if weather is None or weather.empty:
        return {}
    out: dict[str, float] = {}
    for moment, sessions in (("pre", PRACTICE), ("post", PRACTICE + QUALIFYING)):
        rows = weather[weather["session"].isin(sessions)]
        if len(rows):
            out[f"rain_{moment}"] = float(rows["rainfall"].max())
            out[f"air_temp_{moment}"] = float(rows["air_temp"].mean())
    return out


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
