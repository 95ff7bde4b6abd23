"""Team mates against each other: in a race (who finished ahead, laps spent ahead, the median
gap between their clean laps of the same lap number) and in qualifying (best laps)."""

from __future__ import annotations

import pandas as pd

from analytics.laps import clean_laps


def team_mates(laps: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(team, driver, driver) for every team with two drivers in the session."""
    out = []
    for team, g in laps.groupby("team"):
        drivers = sorted(g["driver"].unique())
        if team and len(drivers) == 2:
            out.append((str(team), drivers[0], drivers[1]))
    return out


def race_head_to_head(laps: pd.DataFrame, a: str, b: str) -> dict:
    """``a`` against ``b`` in one race (pace delta: a minus b, negative when a is faster)."""
    pa = laps[laps["driver"] == a].set_index("lap")
    pb = laps[laps["driver"] == b].set_index("lap")
    both = pa.index.intersection(pb.index)
    ahead = pa.loc[both, "position"] < pb.loc[both, "position"]
    clean = clean_laps(laps[laps["driver"].isin([a, b])])
    ca = clean[clean["driver"] == a].set_index("lap")["fc"]
    cb = clean[clean["driver"] == b].set_index("lap")["fc"]
    paired = (ca - cb).dropna()
    last_a, last_b = pa.index.max(), pb.index.max()
    if last_a != last_b:
        finished_ahead = a if last_a > last_b else b  # the other stopped earlier
    else:
        end_a, end_b = pa.loc[last_a, "position"], pb.loc[last_b, "position"]
        finished_ahead = a if end_a < end_b else b
    return {
        "finished_ahead": finished_ahead,
        "laps_compared": len(both),
        "laps_ahead": {a: int(ahead.sum()), b: int((~ahead).sum())},
        "pace_delta": float(paired.median()) if len(paired) else None,
        "paired_laps": len(paired),
    }


def quali_head_to_head(laps: pd.DataFrame, a: str, b: str) -> dict:
    """``a`` against ``b`` in qualifying: best laps and their difference (a minus b)."""
    best = laps[laps["lap_time"].notna()].groupby("driver")["lap_time"].min()
    ta, tb = best.get(a), best.get(b)
    delta = None if ta is None or tb is None else float(ta - tb)
    return {
        "best": {a: None if ta is None else float(ta), b: None if tb is None else float(tb)},
        "delta": delta,
        "faster": None if delta is None else (a if delta < 0 else b),
    }


def head_to_head(laps: pd.DataFrame, race: bool = True) -> list[dict]:
    """Every pair of team mates of the session."""
    out = []
    for team, a, b in team_mates(laps):
        result = race_head_to_head(laps, a, b) if race else quali_head_to_head(laps, a, b)
        out.append({"team": team, "drivers": [a, b], **result})
    return out
