"""What teams did before: the naive strategy baselines of the rolling evaluation.

A strategist with a spreadsheet of the seasons before the one evaluated would say: "they make
the stop count most drivers made here", "one of the three sequences most used here from this
starting compound", "box when the stint is as long as the median stint on this compound
here". :class:`StrategyHabits` holds those tables, built only from races before the season it
is used on (``HABIT_SEASONS`` most recent seasons of a circuit; the whole last season for a
circuit without history), so the engine is measured against them in the same run.

Only drivers who finished a dry race count (every stint on slicks, at the flag or a lap down),
the same drivers the back-test scores the engine on.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from strategy.circuits import canonical_circuit
from strategy.compounds import DRY

#: A circuit's habit is what was done there in its most recent seasons before the evaluated one.
HABIT_SEASONS = 2
#: A stop is called by the tyre-age rule only with more laps than this still to run after it.
MIN_LAPS_AFTER_STOP = 5

Sequence = tuple[str, ...]


def finished_dry_sequences(laps: pd.DataFrame) -> pd.DataFrame:
    """One row per driver who finished a dry race: race_id, season, circuit, driver, the
    compound ``sequence`` of his stints and his ``stops``."""
    rows = []
    for (race_id, driver), g in laps.sort_values("lap").groupby(["race_id", "driver"]):
        total = int(g["laps_total"].iloc[0])
        seq = tuple(g.groupby("stint", sort=True)["compound"].first())
        if g["lap"].max() < total - 1 or not seq or any(c not in DRY for c in seq):
            continue
        rows.append(
            (race_id, int(g["season"].iloc[0]), canonical_circuit(g["circuit"].iloc[0]),
             str(driver), seq, len(seq) - 1)
        )  # fmt: skip
    cols = ["race_id", "season", "circuit", "driver", "sequence", "stops"]
    return pd.DataFrame(rows, columns=cols)


def complete_stints(laps: pd.DataFrame) -> pd.DataFrame:
    """Every dry stint that ended in a stop (not at the flag): circuit, compound, laps run."""
    rows = []
    for (_race, _driver, _stint), g in laps.groupby(["race_id", "driver", "stint"]):
        last = g.sort_values("lap").iloc[-1]
        if not last["pit_in"] or last["compound"] not in DRY:
            continue
        age = last["tyre_life"] if not pd.isna(last["tyre_life"]) else len(g)
        rows.append((canonical_circuit(last["circuit"]), str(last["compound"]), float(age)))
    return pd.DataFrame(rows, columns=["circuit", "compound", "laps"])


@dataclass
class StrategyHabits:
    """The naive strategy baselines, fitted on the races before ``season``."""

    season: int
    stops: dict[str, Counter] = field(default_factory=dict)
    sequences: dict[tuple[str, str], Counter] = field(default_factory=dict)
    stint_laps: dict[tuple[str, str], float] = field(default_factory=dict)
    fallback_stops: Counter = field(default_factory=Counter)
    fallback_sequences: dict[str, Counter] = field(default_factory=dict)
    fallback_stint_laps: dict[str, float] = field(default_factory=dict)

    @classmethod
    def fit(cls, history: pd.DataFrame, season: int) -> StrategyHabits:
        """Habits from ``history`` (lap tables of any seasons: only those before ``season``
        are read; sprint races are left out)."""
        laps = history[(history["season"] < season) & ~history["sprint"]]
        habits = cls(season)
        if laps.empty:
            return habits
        laps = laps.assign(circuit_key=laps["circuit"].map(canonical_circuit))
        recent = _recent_races(laps)
        seqs = finished_dry_sequences(recent)
        for circuit, g in seqs.groupby("circuit"):
            habits.stops[circuit] = Counter(g["stops"])
            for start, h in g.groupby(g["sequence"].map(lambda s: s[0])):
                habits.sequences[(circuit, start)] = Counter(h["sequence"])
        stints = complete_stints(recent)
        for (circuit, compound), g in stints.groupby(["circuit", "compound"]):
            habits.stint_laps[(circuit, compound)] = float(g["laps"].median())
        last = laps[laps["season"] == laps["season"].max()]
        last_seqs = finished_dry_sequences(last)
        habits.fallback_stops = Counter(last_seqs["stops"])
        for start, h in last_seqs.groupby(last_seqs["sequence"].map(lambda s: s[0])):
            habits.fallback_sequences[start] = Counter(h["sequence"])
        last_stints = complete_stints(last)
        for compound, g in last_stints.groupby("compound"):
            habits.fallback_stint_laps[compound] = float(g["laps"].median())
        return habits

    def stop_count(self, circuit: str) -> int:
        """The stop count most finishers made at ``circuit`` (all circuits without history)."""
        counts = self.stops.get(canonical_circuit(circuit)) or self.fallback_stops
        return _most_common(counts, default=1)

    def top_sequences(self, circuit: str, start: str, k: int = 3) -> list[Sequence]:
        """The ``k`` sequences most used at ``circuit`` from the starting compound ``start``."""
        counts = self.sequences.get((canonical_circuit(circuit), start))
        if not counts:
            counts = self.fallback_sequences.get(start, Counter())
        return [s for s, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k]]

    def stint_length(self, circuit: str, compound: str) -> float | None:
        """The median length of a stint on ``compound`` that ended in a stop at ``circuit``."""
        value = self.stint_laps.get((canonical_circuit(circuit), compound))
        return value if value is not None else self.fallback_stint_laps.get(compound)

    def box_now(self, circuit: str, compound: str, age_next: int, laps_left: int) -> bool:
        """The tyre-age rule: box on the lap the stint reaches the circuit's median length for
        its compound (once a stint), if enough laps remain to make the stop worth it."""
        length = self.stint_length(circuit, compound)
        if length is None or laps_left <= MIN_LAPS_AFTER_STOP:
            return False
        return age_next == max(round(length), 1)

    def planned_stop(self, circuit: str, compound: str, age: int, lap: int) -> int | None:
        """The lap the tyre-age rule would stop on, seen after ``lap`` with tyres ``age`` old."""
        length = self.stint_length(circuit, compound)
        if length is None:
            return None
        return lap + max(round(length) - age, 1)


def _recent_races(laps: pd.DataFrame) -> pd.DataFrame:
    """Each circuit's races of its ``HABIT_SEASONS`` most recent seasons."""
    seasons = laps.groupby("circuit_key")["season"].unique()
    keep = {c: sorted(s)[-HABIT_SEASONS:] for c, s in seasons.items()}
    mask = [s in keep[c] for c, s in zip(laps["circuit_key"], laps["season"], strict=True)]
    return laps[mask]


def _most_common(counts: Counter, default: int) -> int:
    if not counts:
        return default
    return min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
