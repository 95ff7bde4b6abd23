"""Switch episodes in real races: when the field moved between slicks and inters or wets.

From a lap table (:func:`training.history.read_laps`), every tyre change between families is a
*switch* at its in-lap. Switches of the same kind (slicks to inters or wets, inters or wets
to slicks, inters to wets, wets to inters) no more than ``CLUSTER_GAP`` laps apart form a cluster;
a cluster in which at least half of the running cars switched is an *episode*: the field
moved. Its reference lap is the median in-lap of the cars in the top 10 at the lap before it
started (those of them that switched in it).
"""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass

import pandas as pd

from strategy.wet.families import DRY, INTER, WET, family_of

CLUSTER_GAP = 3  # laps between switches of one episode at most
FIELD_SHARE = 0.5  # share of the running cars that must switch for the field to have moved
MIN_TOP10 = 3  # top-10 cars that must switch for a reference lap

TO_WET, TO_DRY = "to_wet", "to_dry"  # between slicks and inters or wets
TO_FULL_WETS, TO_INTERS = "to_full_wets", "to_inters"  # between inters and wets
#: The families a switch of each kind goes to.
DESTINATIONS = {TO_WET: (INTER, WET), TO_DRY: (DRY,), TO_FULL_WETS: (WET,), TO_INTERS: (INTER,)}


KIND_LABEL = {
    TO_WET: "slicks -> inters/wets",
    TO_DRY: "inters/wets -> slicks",
    TO_FULL_WETS: "inters -> wets",
    TO_INTERS: "wets -> inters",
}


@dataclass(frozen=True)
class Switch:
    driver: str
    lap: int  # in-lap: the new tyres are on from the next lap
    src: str
    dst: str
    red_flag: bool  # the in-lap was under a red flag (a free tyre change)

    @property
    def kind(self) -> str:
        if self.src == DRY:
            return TO_WET
        if self.dst == DRY:
            return TO_DRY
        return TO_FULL_WETS if self.dst == WET else TO_INTERS


@dataclass(frozen=True)
class Episode:
    race_id: str
    kind: str  # TO_WET, TO_DRY, TO_FULL_WETS or TO_INTERS
    src: str  # the family the top-10 movers left (most of them)
    first_lap: int
    last_lap: int
    movers: int  # cars that switched in it
    running: int  # cars running at its start
    top10: dict[str, int]  # top-10 car -> its in-lap in the episode
    red_flag: bool  # most switches under a red flag: a free change, not a crossover call

    @property
    def median_lap(self) -> float:
        return float(statistics.median(self.top10.values()))

    def label(self) -> str:
        return f"{self.race_id} laps {self.first_lap}-{self.last_lap} {KIND_LABEL[self.kind]}"


def race_families(race: pd.DataFrame) -> pd.DataFrame:
    """The race's laps with a ``family`` column (unknown compounds take the car's last)."""
    df = race.sort_values(["driver", "lap"]).copy()
    df["family"] = df["compound"].map(family_of)
    df["family"] = df.groupby("driver")["family"].ffill()
    return df


def switches(race: pd.DataFrame) -> list[Switch]:
    """Every change of tyre family in one race's laps, by in-lap."""
    df = race_families(race)
    out = []
    for driver, car in df.groupby("driver", sort=False):
        rows = car[["lap", "family", "track_status"]].to_numpy()
        for (lap, fam, status), (nxt_lap, nxt_fam, _) in itertools.pairwise(rows):
            if fam is None or nxt_fam is None or pd.isna(fam) or pd.isna(nxt_fam):
                continue
            if fam != nxt_fam and nxt_lap == lap + 1:
                out.append(Switch(str(driver), int(lap), fam, nxt_fam, "5" in str(status)))
    return sorted(out, key=lambda s: (s.lap, s.driver))


def _top10(race: pd.DataFrame, lap: int) -> list[str]:
    """The top 10 at the end of ``lap`` (by position, else by crossing time)."""
    now = race[race["lap"] == lap]
    if now.empty:
        return []
    key = now["position"].fillna(now["time"].rank() + 100)
    return list(now.assign(_k=key).sort_values("_k")["driver"].head(10))


def episodes(race: pd.DataFrame) -> list[Episode]:
    """The race's switch episodes, in lap order."""
    race_id = str(race["race_id"].iloc[0])
    found: list[Episode] = []
    by_kind: dict[str, list[Switch]] = {}
    for s in switches(race):
        by_kind.setdefault(s.kind, []).append(s)
    for kind, items in by_kind.items():
        clusters: list[list[Switch]] = []
        for s in items:
            if clusters and s.lap - clusters[-1][-1].lap <= CLUSTER_GAP:
                clusters[-1].append(s)
            else:
                clusters.append([s])
        for cluster in clusters:
            first, last = cluster[0].lap, cluster[-1].lap
            running = race.loc[race["lap"] == max(first - 1, 1), "driver"].nunique()
            movers = {s.driver for s in cluster}
            if running == 0 or len(movers) < FIELD_SHARE * running:
                continue
            top = _top10(race, max(first - 1, 1))
            laps: dict[str, int] = {}
            for s in cluster:
                if s.driver in top and s.driver not in laps:
                    laps[s.driver] = s.lap
            if len(laps) < MIN_TOP10:
                continue
            srcs = [s.src for s in cluster if s.driver in laps]
            found.append(
                Episode(
                    race_id=race_id,
                    kind=kind,
                    src=max(set(srcs), key=srcs.count),
                    first_lap=first,
                    last_lap=last,
                    movers=len(movers),
                    running=int(running),
                    top10=laps,
                    red_flag=sum(s.red_flag for s in cluster) > len(cluster) / 2,
                )
            )
    return sorted(found, key=lambda e: e.first_lap)
