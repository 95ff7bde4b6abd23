"""A circuit's dry reference lap from earlier races, for a session that starts wet.

The reference is the best lap of the field's median slick pace (fuel-corrected, clean laps,
at least ``DRY_REF_MIN_CARS`` cars) in the latest earlier season that raced the circuit,
scaled by how much faster or slower the cars of this season are: the median ratio of this
season's to that season's reference over the circuits both raced before this race.
"""

from __future__ import annotations

import statistics

import pandas as pd

from strategy.fuel import FUEL_S_PER_LAP
from strategy.wet.conditions import DRY_REF_MIN_CARS
from strategy.wet.families import DRY, family_of

SAME_LAYOUT = 0.15  # a year-on-year change beyond 15% is another layout, not faster cars


def race_dry_paces(laps: pd.DataFrame) -> pd.DataFrame:
    """Per race of a lap table: season, round, circuit and its dry reference (s), for races
    with enough slick running."""
    df = laps[~laps.get("sprint", False)] if "sprint" in laps else laps
    clean = (
        ~df["neutralised"] & ~df["pit_in"] & ~df["pit_out"] & (df["lap"] > 1)
        & df["lap_time"].notna() & (df["compound"].map(family_of) == DRY)
    )  # fmt: skip
    c = df[clean]
    fc = c["lap_time"] - FUEL_S_PER_LAP * (c["laps_total"] - c["lap"])
    per_lap = fc.groupby([c["race_id"], c["lap"]]).agg(["median", "size"])
    per_lap = per_lap[per_lap["size"] >= DRY_REF_MIN_CARS]
    best = per_lap.groupby(level="race_id")["median"].min().rename("dry_pace")
    info = df.groupby("race_id")[["season", "round", "circuit"]].first()
    return info.join(best, how="inner").reset_index()


def dry_reference(paces: pd.DataFrame, circuit: str, season: int, round_: int) -> float | None:
    """The expected dry reference of ``circuit`` at round ``round_`` of ``season`` from
    earlier races only (``paces`` from :func:`race_dry_paces`; ``circuit`` is the event's
    slug, as in a lap table: renamed events and layouts such as Sakhir's outer loop stay
    apart); None without history."""
    before = paces[paces["season"] < season]
    here = before[before["circuit"] == circuit]
    if here.empty:
        return None
    ref = here[here["season"] == here["season"].max()].sort_values("dry_pace").iloc[0]
    then = paces[paces["season"] == ref["season"]].groupby("circuit")["dry_pace"].min()
    now = paces[(paces["season"] == season) & (paces["round"] < round_)]
    ratios = [row.dry_pace / then[row.circuit] for row in now.itertuples() if row.circuit in then]
    ratios = [r for r in ratios if abs(r - 1.0) <= SAME_LAYOUT]
    factor = statistics.median(ratios) if ratios else 1.0
    return float(ref["dry_pace"] * factor)
