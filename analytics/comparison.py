"""Drivers and teams of one session side by side, as chart-ready payloads: lap series and
their distribution, pace, sectors and speed traps, degradation per stint, consistency."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analytics import consistency, pace, sectors, stints
from analytics.numbers import num, records
from analytics.session import SessionLaps

QUANTILES = ("min", "q1", "median", "q3", "max")


def _lap_series(g: pd.DataFrame) -> dict[str, list]:
    """One driver's laps (``stints.lap_series`` rows, in lap order) as chart series."""
    return {
        "lap": g["lap"].astype(int).tolist(),
        "lap_time": [num(v) for v in g["lap_time"]],
        "fuel_corrected": [num(v) for v in g["fc"]],
        "compound": g["compound"].astype(str).tolist(),
        "stint": [None if pd.isna(v) else int(v) for v in g["stint"]],
        "clean": g["clean"].astype(bool).tolist(),
    }


def _distribution(driver: str, g: pd.DataFrame) -> dict[str, Any]:
    """The spread of one driver's clean (race: fuel-corrected) laps: quartiles and mean."""
    c = g[g["clean"]]["fc"]
    q = c.quantile([0, 0.25, 0.5, 0.75, 1.0]).tolist() if len(c) else [None] * 5
    return {
        "driver": driver,
        "laps": len(c),
        **{k: num(v) for k, v in zip(QUANTILES, q, strict=True)},
        "mean": num(c.mean()),
    }


def compare_drivers(s: SessionLaps, drivers: list[str]) -> dict[str, Any]:
    """The ``DriverComparison`` payload of ``drivers`` (raises ``NotInSession`` for a driver
    who did not run)."""
    s.require_drivers(drivers)
    laps = s.laps
    mine = laps[laps["driver"].isin(drivers)]
    series = stints.lap_series(mine, s.race)
    out_laps, dist = {}, []
    for d in drivers:
        g = series[series["driver"] == d].sort_values("lap")
        out_laps[d] = _lap_series(g)
        dist.append(_distribution(d, g))
    # Pace compares every car on the same laps: the whole field goes into the fit.
    table = pace.race_pace(laps) if s.race else pace.quali_pace(laps)
    return {
        **s.ref(),
        "drivers": s.driver_refs(drivers),
        "laps": out_laps,
        "distribution": dist,
        "pace": records(table[table["driver"].isin(drivers)]),
        "sectors": sector_block(mine, drivers, s.race),
        "stints": stints.stint_degradation(mine) if s.race else [],
        "consistency": records(consistency.consistency(mine, race=s.race)),
    }


def sector_block(laps: pd.DataFrame, drivers: list[str], race: bool) -> dict[str, Any]:
    """Best and median sectors, ideal lap and speed traps of ``drivers`` (in that order), with
    their deltas to the first; ``available: false`` when the source has no sector times."""
    if not sectors.has_sectors(laps):
        return {"available": False, "note": "this session's source has no sector times"}
    table = sectors.sector_table(laps[laps["driver"].isin(drivers)], race)
    table = table.set_index("driver").loc[drivers].reset_index()  # in the order asked
    ref = drivers[0]
    deltas = sectors.sector_deltas(table, ref).set_index("driver")
    rows = []
    for r in table.itertuples(index=False):
        r = r._asdict()
        dl = deltas.loc[r["driver"]]
        names = sectors.SECTORS
        rows.append(
            {
                "driver": r["driver"],
                "best_lap": num(r.get("best_lap")),
                "ideal_lap": num(r.get("ideal_lap")),
                "best": [num(r.get(f"best_{n}")) for n in names],
                "median": [num(r.get(f"median_{n}")) for n in names],
                "delta_best": [num(dl.get(f"best_{n}")) for n in names],
                "delta_median": [num(dl.get(f"median_{n}")) for n in names],
                "speed_traps": {
                    t.removeprefix("speed_"): num(r.get(f"top_{t}"), 1)
                    for t in sectors.SPEED_TRAPS
                    if f"top_{t}" in r
                },
            }
        )
    return {"available": True, "reference": ref, "rows": rows}


def _median_slopes(slopes: pd.DataFrame, team: str) -> dict[str, float]:
    """A team's median degradation slope per compound (``stints.stint_degradation`` rows)."""
    if not len(slopes):
        return {}
    st = slopes[(slopes["team"] == team) & slopes["slope"].notna()]
    return {str(c): round(float(v), 4) for c, v in st.groupby("compound")["slope"].median().items()}


def compare_teams(s: SessionLaps) -> dict[str, Any]:
    """The ``TeamComparison`` payload: each team's pace, gap, best lap, top speed and median
    degradation per compound, best first."""
    laps = s.laps
    paced = pace.race_pace(laps, by="team") if s.race else pace.quali_pace(laps, by="team")
    paced = paced.set_index("team")
    slopes = pd.DataFrame(stints.stint_degradation(laps)) if s.race else pd.DataFrame()
    teams = []
    for team, g in laps.groupby("team"):
        if not team:
            continue
        top = g["speed_st"].max() if "speed_st" in g else None
        teams.append(
            {
                "team": team,
                "colour": s.colour(team),
                "drivers": sorted(g["driver"].unique()),
                "pace": num(paced["pace"].get(team)) if "pace" in paced else None,
                "gap": num(paced["gap"].get(team)),
                "best_lap": num(g["lap_time"].min()),
                "top_speed": num(top, 1),
                "median_slope": _median_slopes(slopes, team),
            }
        )
    teams.sort(key=lambda t: (t["gap"] is None, t["gap"] or 0.0))
    return {**s.ref(), "teams": teams}
