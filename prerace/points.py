"""Championship points and standings: the one rule set, seasons 1991 onwards.

Points per finishing position for each era, the fastest-lap point (2019-2024: the driver
with the fastest lap scores one if classified in the top ten), sprint points (2021: 3-2-1;
2022-2024: 8 down to 1) and the races scored differently (half points for races stopped early,
double points at the 2014 finale). Constructors score every car's points; a team excluded
from the constructors' championship (McLaren 2007) is classified last whatever its points.
Standings rank by points, then by countback (more wins, then more second places, ...).

Frames use the database's column names (``race_id``, ``driver_id``, ``constructor_id``,
``position`` (null when not classified), ``rank`` (fastest-lap rank), ``season``, ``round``).
Checked against Ergast's ``driver_standings`` / ``constructor_standings`` in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

FIRST_SEASON = 1991  # dropped scores ended in 1990; earlier seasons are not modelled


@dataclass(frozen=True)
class SeasonRules:
    """How one season scores races and sprints."""

    race: tuple[float, ...]
    sprint: tuple[float, ...] = ()
    fastest_lap: bool = False  # one point to the fastest lap if it finishes in the top ten


_ERAS: list[tuple[range, SeasonRules]] = [
    (range(1991, 2003), SeasonRules((10, 6, 4, 3, 2, 1))),
    (range(2003, 2010), SeasonRules((10, 8, 6, 5, 4, 3, 2, 1))),
    (range(2010, 2019), SeasonRules((25, 18, 15, 12, 10, 8, 6, 4, 2, 1))),
    (range(2019, 2021), SeasonRules((25, 18, 15, 12, 10, 8, 6, 4, 2, 1), fastest_lap=True)),
    (range(2021, 2022), SeasonRules((25, 18, 15, 12, 10, 8, 6, 4, 2, 1), (3, 2, 1), True)),
    (
        range(2022, 2025),
        SeasonRules((25, 18, 15, 12, 10, 8, 6, 4, 2, 1), (8, 7, 6, 5, 4, 3, 2, 1), True),
    ),
    (range(2025, 2100), SeasonRules((25, 18, 15, 12, 10, 8, 6, 4, 2, 1), (8, 7, 6, 5, 4, 3, 2, 1))),
]

#: (season, round) -> (factor on the race's points, fastest-lap point awarded).
RACE_EXCEPTIONS: dict[tuple[int, int], tuple[float, bool]] = {
    (1991, 16): (0.5, False),  # Australia, stopped after 14 laps
    (2009, 2): (0.5, False),  # Malaysia, stopped in the rain
    (2014, 19): (2.0, False),  # Abu Dhabi, double points finale
    (2021, 12): (0.5, False),  # Belgium, two laps behind the safety car
}

#: (season, constructor_ref) excluded from the constructors' championship: its points are
#: shown, but it is classified last all season.
CONSTRUCTOR_EXCLUSIONS: set[tuple[int, str]] = {(2007, "mclaren")}
#: (season, driver_ref) excluded from the drivers' championship: classified last in the final
#: standings (Schumacher 1997), in his place before it.
DRIVER_EXCLUSIONS: set[tuple[int, str]] = {(1997, "michael_schumacher")}
#: (season, constructor_ref) -> round from which the team starts again from zero: Force India's
#: new owners entered it afresh from the 2018 Belgian GP, the points before were void.
CONSTRUCTOR_RESETS: dict[tuple[int, str], int] = {(2018, "force_india"): 13}
#: (season, constructor_ref, round) -> points deducted from that round on (Racing Point's
#: brake ducts, 2020).
CONSTRUCTOR_PENALTIES: dict[tuple[int, str, int], float] = {(2020, "racing_point", 5): -15.0}


def season_rules(season: int) -> SeasonRules:
    """The points rules of ``season``; ValueError before 1991 (dropped scores not modelled)."""
    for years, rules in _ERAS:
        if season in years:
            return rules
    raise ValueError(f"no points rules for {season}: seasons from {FIRST_SEASON} are modelled")


def race_points(
    season: int,
    round_: int,
    position: pd.Series | np.ndarray,
    fastest_lap_rank: pd.Series | np.ndarray | None = None,
    source_points: pd.Series | np.ndarray | None = None,
) -> np.ndarray:
    """Points of each result of one race (``position`` NaN when not classified).

    The fastest lap is the result with ``fastest_lap_rank`` 1. Where a source ranks no lap
    (Ergast's 2024 Monaco), the point goes to the result whose ``source_points`` exceed its
    position's points by exactly one.
    """
    rules = season_rules(season)
    factor, fl_allowed = RACE_EXCEPTIONS.get((season, round_), (1.0, True))
    pos = np.asarray(position, dtype=float)
    table = np.asarray(rules.race, dtype=float)
    pts = np.zeros(len(pos))
    ok = np.isfinite(pos) & (pos >= 1) & (pos <= len(table))
    pts[ok] = table[pos[ok].astype(int) - 1] * factor
    if rules.fastest_lap and fl_allowed:
        fl = np.zeros(len(pos), dtype=bool)
        if fastest_lap_rank is not None:
            fl = np.asarray(fastest_lap_rank, dtype=float) == 1
        if not fl.any() and source_points is not None:
            fl = np.isclose(np.asarray(source_points, dtype=float) - pts, 1.0)
        pts += (fl & np.isfinite(pos) & (pos <= 10)).astype(float)
    return pts


def sprint_points(season: int, position: pd.Series | np.ndarray) -> np.ndarray:
    """Points of each result of one sprint."""
    table = np.asarray(season_rules(season).sprint, dtype=float)
    pos = np.asarray(position, dtype=float)
    pts = np.zeros(len(pos))
    ok = np.isfinite(pos) & (pos >= 1) & (pos <= len(table))
    pts[ok] = table[pos[ok].astype(int) - 1]
    return pts


def scored_results(
    races: pd.DataFrame, results: pd.DataFrame, sprints: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Every race and sprint result from 1991 with the points the rules give it.

    Columns: ``race_id``, ``season``, ``round``, ``driver_id``, ``constructor_id``,
    ``position`` and ``position_order`` (race only), ``points``, ``sprint``.
    """
    meta = races[["race_id", "season", "round"]]
    parts = []
    res = results.merge(meta, on="race_id")
    res = res[res["season"] >= FIRST_SEASON]
    for (season, rnd), grp in res.groupby(["season", "round"], sort=False):
        rank, source = grp.get("rank"), grp.get("points")
        pts = race_points(int(season), int(rnd), grp["position"], rank, source)
        parts.append(grp.assign(points=pts, sprint=False))
    if sprints is not None and len(sprints):
        spr = sprints.merge(meta, on="race_id")
        spr = spr[spr["season"] >= FIRST_SEASON]
        for season, grp in spr.groupby("season", sort=False):
            parts.append(
                grp.assign(
                    points=sprint_points(int(season), grp["position"]),
                    position=np.nan,
                    position_order=np.nan,
                    sprint=True,
                )
            )
    cols = ["race_id", "season", "round", "driver_id", "constructor_id", "position"]
    cols += ["position_order", "points"]
    if not parts:
        return pd.DataFrame(columns=[*cols, "sprint"])
    return pd.concat(parts, ignore_index=True)[[*cols, "sprint"]]


def _season_table(rows: pd.DataFrame, key: str, resets: dict[int, int]) -> pd.DataFrame:
    """Standings after every round of one season for ``key`` (driver or constructor).

    ``rows`` hold that season's scored results (``round``, ``key``, ``points``, ``sprint``,
    ``position``); ``resets`` maps an entity to the round from which it starts from zero.
    """
    rounds = np.sort(rows["round"].unique())
    ids = np.sort(rows[key].unique())
    r_ix = {r: i for i, r in enumerate(rounds)}
    e_ix = {e: i for i, e in enumerate(ids)}
    ri = rows["round"].map(r_ix).to_numpy()
    ei = rows[key].map(e_ix).to_numpy()
    pts = np.zeros((len(rounds), len(ids)))
    np.add.at(pts, (ri, ei), rows["points"].to_numpy(float))
    seen = np.zeros((len(rounds), len(ids)), dtype=bool)
    seen[ri, ei] = True
    race = ~rows["sprint"].to_numpy(bool)
    order = rows["position"].to_numpy(float)
    ok = race & np.isfinite(order) & (order >= 1)
    n_pos = int(order[ok].max()) if ok.any() else 1
    places = np.zeros((len(rounds), len(ids), n_pos))
    np.add.at(places, (ri[ok], ei[ok], order[ok].astype(int) - 1), 1)
    wins_place = np.zeros((len(rounds), len(ids)))
    pos = rows["position"].to_numpy(float)
    won = race & (pos == 1)
    np.add.at(wins_place, (ri[won], ei[won]), 1)
    pts, places = pts.cumsum(0), places.cumsum(0)
    for ent, first in resets.items():
        later = np.flatnonzero(rounds >= first)
        if ent in e_ix and len(later) and later[0] > 0:
            pts[later, e_ix[ent]] -= pts[later[0] - 1, e_ix[ent]]
    seen, wins = np.maximum.accumulate(seen, 0), wins_place.cumsum(0)
    out = []
    for i, rnd in enumerate(rounds):
        idx = np.flatnonzero(seen[i])
        keys = [-places[i, idx, p] for p in range(n_pos - 1, -1, -1)] + [-pts[i, idx]]
        ranked = idx[np.lexsort(keys)]
        out.append(
            pd.DataFrame(
                {
                    "round": rnd,
                    key: ids[ranked],
                    "points": pts[i, ranked],
                    "position": np.arange(1, len(ranked) + 1),
                    "wins": wins[i, ranked].astype(int),
                }
            )
        )
    return pd.concat(out, ignore_index=True)


def _last_to_back(table: pd.DataFrame, key: str, rnd: int, ids: list[int]) -> pd.DataFrame:
    """Move ``ids`` to the bottom of round ``rnd``'s standings, the others moving up."""
    at = table[table["round"] == rnd]
    order = pd.concat([at[~at[key].isin(ids)], at[at[key].isin(ids)]])
    order = order.assign(position=np.arange(1, len(order) + 1))
    return pd.concat([table[table["round"] != rnd], order], ignore_index=True)


def standings(
    races: pd.DataFrame,
    results: pd.DataFrame,
    sprints: pd.DataFrame | None = None,
    constructors: pd.DataFrame | None = None,
    drivers: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Driver and constructor standings after every race from 1991 with results.

    Returns two frames: (``race_id``, ``driver_id``, ``points``, ``position``, ``wins``) and
    (``race_id``, ``constructor_id``, ``points``, ``position``, ``wins``), one row per
    entrant of the season so far (Ergast's tables leave out some who never started).
    """
    scored = scored_results(races, results, sprints)
    refs: dict[str, int] = {}
    if constructors is not None:
        refs = dict(
            zip(constructors["constructor_ref"], constructors["constructor_id"], strict=True)
        )
    driver_refs: dict[str, int] = {}
    if drivers is not None:
        driver_refs = dict(zip(drivers["driver_ref"], drivers["driver_id"], strict=True))
    season_end = races.groupby("season")["round"].max()
    drivers_out, teams_out = [], []
    for season, rows in scored.groupby("season", sort=True):
        race_of = rows.drop_duplicates("round").set_index("round")["race_id"]
        d = _season_table(rows, "driver_id", {})
        out = [driver_refs[r] for s, r in DRIVER_EXCLUSIONS if s == season and r in driver_refs]
        if out and rows["round"].max() == season_end.get(season):
            d = _last_to_back(d, "driver_id", int(rows["round"].max()), out)
        drivers_out.append(d.assign(race_id=d["round"].map(race_of)))
        resets = {
            refs[ref]: first
            for (s, ref), first in CONSTRUCTOR_RESETS.items()
            if s == season and ref in refs
        }
        team_rows = rows
        excluded = [refs[r] for s, r in CONSTRUCTOR_EXCLUSIONS if s == season and r in refs]
        penalties = [
            (refs[ref], rnd, pts)
            for (s, ref, rnd), pts in CONSTRUCTOR_PENALTIES.items()
            if s == season and ref in refs
        ]
        if penalties:
            extra = pd.DataFrame(
                [
                    {
                        "round": rnd,
                        "constructor_id": cid,
                        "points": pts,
                        "sprint": True,
                        "position_order": np.nan,
                        "position": np.nan,
                    }
                    for cid, rnd, pts in penalties
                ]
            )
            team_rows = pd.concat([team_rows, extra], ignore_index=True)
        c = _season_table(team_rows, "constructor_id", resets)
        for rnd in c["round"].unique() if excluded else ():
            c = _last_to_back(c, "constructor_id", int(rnd), excluded)
        teams_out.append(c.assign(race_id=c["round"].map(race_of)))
    dcols = ["race_id", "driver_id", "points", "position", "wins"]
    ccols = ["race_id", "constructor_id", "points", "position", "wins"]
    if not drivers_out:
        return pd.DataFrame(columns=dcols), pd.DataFrame(columns=ccols)
    return (
        pd.concat(drivers_out, ignore_index=True)[dcols],
        pd.concat(teams_out, ignore_index=True)[ccols],
    )
