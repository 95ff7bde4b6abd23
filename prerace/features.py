"""The one feature builder of the winner model: training, back-test, API and the update.

``FeatureBuilder`` walks the races in order. For each race it first writes one row per
entrant from what was known before the lights (``features``), then learns the race's result
(``update``): Elo ratings, recent form and pace (``pace.PaceRecord``), championship points
and the standings' record (``championship``), circuit history and the grid-slot record. A row
therefore never sees its own race's result. Teams are rated under the first team of their
line (``teams.team_keys``: Mercedes carries on Brawn's record, Aston Martin Racing Point's).

Two moments share the row: the columns of ``PRE_FEATURES`` are known before qualifying; the
``POST_FEATURES`` add the grid and qualifying gaps (NaN while the grid is unknown).

A race's entrants, qualifying times and weekend weather come from ``race_inputs``; the rows of
every race from ``build_features``'s walk (``feature_table.py``).
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from prerace.championship import Championship
from prerace.grid_record import GridRecord, grid_slots
from prerace.pace import KINDS, PaceRecord, quali_values, session_gaps
from prerace.points import FIRST_SEASON, race_points, season_rules, sprint_points
from prerace.ratings import Elo, EloConfig

FORM_RACES = 5
PACE = [f"{who}_{kind}" for who in ("drv", "team") for kind in KINDS]

PRE_FEATURES = [
    "n_field", "elo_driver", "elo_team", "elo_driver_gap", "elo_team_gap", "elo_sum_gap",
    "elo_driver_rank", "elo_team_rank", "elo_sum_rank", "form_pos", "form_points", "form_wins",
    "form_podiums", "form_dnf", "team_form_best", "team_form_wins", "champ_pos", "champ_gap",
    "team_champ_pos", "standing", "team_standing", "standing_win_rate", "standing_podium_rate",
    "team_standing_win_rate", "team_standing_podium_rate", *PACE, "circuit_starts",
    "circuit_wins", "circuit_pos", "team_circuit_best", "street", "circuit_pole_win",
    "season_round", "rain_pre", "air_temp_pre",
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


@dataclass(frozen=True)
class FeatureConfig:
    """How fast the running state follows the races (chosen on 2014-2022, see
    ``benchmarks/RESULTS.md``): Elo, the pace's half-life (races) and the share of the old
    pace a new season keeps; the grid-slot and standings records start with ``grid_from``."""

    elo: EloConfig = field(default_factory=EloConfig)
    pace_half_life: float = 2.0
    season_carry: float = 0.2
    grid_from: int = 2000


@dataclass
class FeatureBuilder:
    """Running state over the races seen so far (see the module docstring)."""

    config: FeatureConfig = field(default_factory=FeatureConfig)
    team_key: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        cfg = self.config
        self.elo = Elo(cfg.elo)
        self.pace = PaceRecord(cfg.pace_half_life, cfg.season_carry)
        self.champ = Championship()
        self.form: dict[int, deque] = defaultdict(lambda: deque(maxlen=FORM_RACES))
        self.team_form: dict[int, deque] = defaultdict(lambda: deque(maxlen=3))
        self.circuit: dict[tuple[int, int], list[float]] = defaultdict(list)
        self.team_circuit: dict[tuple[int, int], float] = {}
        self.grid = GridRecord()
        self.season: int | None = None
        self.lineup: list[tuple[int, int]] = []
        self.rating_rows: list[tuple[int, str, int, float]] = []

    def teams_of(self, constructors: Any) -> np.ndarray:
        """The keys teams are rated under (module docstring)."""
        return np.array([self.team_key.get(int(t), int(t)) for t in constructors], dtype=int)

    # -- state -------------------------------------------------------------------------
    def _start(self, season: int) -> None:
        if season != self.season:
            self.elo.start_season(season)
            if self.season is not None:
                self.pace.new_season()
            self.champ.new_season()
            self.season = season

    def update(
        self,
        race: Mapping[str, Any],
        results: pd.DataFrame,
        sprint: pd.DataFrame | None = None,
        quali: pd.DataFrame | None = None,
    ) -> None:
        """Learn one race's results (its sprint's, its qualifying's) after its rows."""
        season, rnd, circuit = int(race["season"]), int(race["round"]), int(race["circuit_id"])
        self._start(season)
        res = results.sort_values("position_order")
        drivers = res["driver_id"].astype(int).to_numpy()
        real_teams = res["constructor_id"].astype(int).tolist()
        teams = self.teams_of(real_teams)
        order = res["position_order"].to_numpy(float)
        pos = res["position"].to_numpy(float)
        self.elo.update(drivers.tolist(), teams.tolist(), order)
        self._rating_rows(int(race["race_id"]), drivers, real_teams, teams)
        rules_ok = season >= FIRST_SEASON
        pts = (
            race_points(season, rnd, pos, res.get("rank"), res.get("points"))
            if rules_ok
            else res["points"].fillna(0).to_numpy(float)
        )
        n = len(res)
        if season >= self.config.grid_from:
            self.grid.add(circuit, grid_slots(res["grid"], n), pos)
            self.champ.record(drivers, teams, pos)
        self._learn_pace(drivers, teams, res["grid"].to_numpy(float), order, pts, quali)
        top = season_rules(season).race[0] if rules_ok else 10.0
        best_team: dict[int, float] = {}
        for d, t, o, p, pt in zip(drivers, teams, order, pos, pts, strict=True):
            finished = bool(np.isfinite(p))
            self.form[d].append((o / n, pt / top, p == 1, p <= 3, not finished))
            self.circuit[(d, circuit)].append(o)
            self.champ.score(d, t, pt)
            best_team[t] = min(best_team.get(t, np.inf), p if finished else o)
        for t, b in best_team.items():
            self.team_form[t].append(b)
            self.team_circuit[(t, circuit)] = b
        if sprint is not None and len(sprint) and rules_ok:
            for d, t, pt in zip(
                sprint["driver_id"].astype(int),
                self.teams_of(sprint["constructor_id"]),
                sprint_points(season, sprint["position"]),
                strict=True,
            ):
                self.champ.score(d, t, pt)
        self.lineup = list(zip(drivers.tolist(), real_teams, strict=True))

    def _rating_rows(
        self, race_id: int, drivers: np.ndarray, real_teams: list[int], teams: np.ndarray
    ) -> None:
        """The ratings after a race, stored per driver and per constructor (under its id)."""
        self.rating_rows += [
            (race_id, "driver", int(d), self.elo.drivers.get(int(d))) for d in drivers
        ]
        shown = dict(zip(real_teams, teams.tolist(), strict=True))
        self.rating_rows += [
            (race_id, "constructor", t, self.elo.constructors.get(k))
            for t, k in sorted(shown.items())
        ]

    def _learn_pace(
        self,
        drivers: np.ndarray,
        teams: np.ndarray,
        grid: np.ndarray,
        order: np.ndarray,
        pts: np.ndarray,
        quali: pd.DataFrame | None,
    ) -> None:
        """One race's qualifying pace, places and points into the pace record."""
        n = len(drivers)
        times = place = None
        if quali is not None and len(quali):
            times = quali_times(drivers, quali, ["q1_s", "q2_s", "q3_s"])
            if "position" in quali:
                place = quali_times(drivers, quali, ["position"])[:, 0]
        values = quali_values(grid, times, place)
        values["finish_share"] = (order - 1.0) / max(1, n - 1)
        top = np.nanmax(pts) if len(pts) and np.nanmax(pts) > 0 else 1.0
        values["points_share"] = np.nan_to_num(pts) / top
        self.pace.add(drivers, teams, values)

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
        real_teams = entrants["constructor_id"].astype(int).to_numpy()
        teams = self.teams_of(real_teams)
        n = len(drivers)
        cols: dict[str, Any] = {
            "race_id": np.full(n, int(race["race_id"])),
            "season": np.full(n, season),
            "round": np.full(n, int(race["round"])),
            "driver_id": drivers,
            "constructor_id": real_teams,
            "n_field": np.full(n, float(n)),
        }
        cols.update(self._rating_columns(drivers, teams))
        cols.update(self._form_columns(drivers, teams))
        cols.update(self.champ.columns(drivers, teams))
        for kind in KINDS:
            cols[f"drv_{kind}"] = self.pace.values("driver", kind, drivers)
            cols[f"team_{kind}"] = self.pace.values("team", kind, teams)
        cols.update(self._circuit_columns(drivers, teams, circuit))
        cols["street"] = np.full(n, float(street))
        cols["circuit_pole_win"] = np.full(n, self.grid.circuit_pole_win(circuit))
        cols["season_round"] = np.full(n, float(race["round"]))
        weather = weather or {}
        for k in WEATHER_FEATURES:
            cols[k] = np.full(n, weather.get(k, math.nan))
        grid = entrants["grid"].to_numpy(float) if "grid" in entrants else np.full(n, np.nan)
        cols.update(self._grid_columns(grid, teams, cols["elo_sum_rank"]))
        cols["quali_gap"], cols["quali_gap_q1"] = quali_gaps(drivers, quali)
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
        nan5 = (math.nan,) * 5
        form = np.array(
            [np.mean(f, axis=0) if (f := self.form.get(d)) else nan5 for d in drivers], float
        ).reshape(len(drivers), 5)
        cols: dict[str, np.ndarray] = {}
        for i, name in enumerate(("pos", "points", "wins", "podiums", "dnf")):
            cols[f"form_{name}"] = form[:, i]
        # wins and podiums are counts over the window, not shares
        counts = np.array([len(self.form.get(d) or ()) for d in drivers], float)
        cols["form_wins"] = cols["form_wins"] * counts
        cols["form_podiums"] = cols["form_podiums"] * counts
        best = [np.array(f, float) if (f := self.team_form.get(t)) else None for t in teams]
        cols["team_form_best"] = np.array([b.mean() if b is not None else math.nan for b in best])
        cols["team_form_wins"] = np.array(
            [float((b == 1).sum()) if b is not None else math.nan for b in best]
        )
        return cols

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


def quali_gaps(drivers: np.ndarray, quali: pd.DataFrame | None) -> tuple[np.ndarray, ...]:
    """Gap (%) of each driver's qualifying to the fastest, session by session
    (``pace.session_gaps``), and in Q1 alone. ``quali`` holds ``driver_id`` and the session
    times in seconds (``q1_s``, ``q2_s``, ``q3_s``; see ``quali_seconds``)."""
    nan = np.full(len(drivers), np.nan)
    if quali is None or quali.empty:
        return nan, nan
    times = quali_times(drivers, quali, ["q1_s", "q2_s", "q3_s"])
    return session_gaps(times), session_gaps(times[:, :1])


def quali_times(drivers: np.ndarray, quali: pd.DataFrame, cols: list[str]) -> np.ndarray:
    """The ``cols`` of ``quali`` for each of ``drivers`` (NaN rows for those not in it)."""
    where = {int(d): i for i, d in enumerate(quali["driver_id"].to_numpy())}
    idx = np.array([where.get(int(d), -1) for d in drivers], dtype=int)
    values = np.vstack([np.asarray(quali[c], dtype=float) for c in cols]).T
    out = np.full((len(drivers), len(cols)), np.nan)
    out[idx >= 0] = values[idx[idx >= 0]]
    return out
