"""The F1 history the winner model reads: Ergast-shaped frames under the database's names.

``History`` bundles the tables (races, results, qualifying, sprint results, circuits,
drivers, constructors, per-race weather) whatever they came from: a CSV directory, the
Jolpica API or PostgreSQL. Races are ordered by (season, round); ``before`` cuts the history
at a race so that nothing after it can leak into a prediction.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import pandas as pd

RACE_COLUMNS = ("race_id", "season", "round", "circuit_id", "name", "date")
RESULT_COLUMNS = (
    "race_id", "driver_id", "constructor_id", "grid", "position", "position_order", "points",
    "rank",
)  # fmt: skip


@dataclass(frozen=True)
class History:
    """Ergast-shaped tables; every one but ``races`` and ``results`` may be empty."""

    races: pd.DataFrame
    results: pd.DataFrame
    qualifying: pd.DataFrame | None = None
    sprint_results: pd.DataFrame | None = None
    circuits: pd.DataFrame | None = None
    drivers: pd.DataFrame | None = None
    constructors: pd.DataFrame | None = None
    weather: pd.DataFrame | None = None  # race_id, session, air_temp, ..., rainfall

    @classmethod
    def from_tables(cls, tables: dict[str, pd.DataFrame]) -> History:
        """From a name -> frame mapping (the CSV reader's, the database reader's)."""
        missing = [n for n in ("races", "results") if n not in tables]
        if missing:
            raise ValueError(f"history needs the tables {missing}")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in tables.items() if k in known})

    def ordered_races(self) -> pd.DataFrame:
        """Races sorted by season and round, with ``has_results`` and ``has_grid``."""
        races = self.races.sort_values(["season", "round"], kind="mergesort")
        done = set(self.results["race_id"])
        quali = set(self.qualifying["race_id"]) if self.qualifying is not None else set()
        return races.assign(
            has_results=races["race_id"].isin(done),
            has_grid=races["race_id"].isin(done | quali),
        ).reset_index(drop=True)

    def completed_race_ids(self) -> list[int]:
        races = self.ordered_races()
        return races.loc[races["has_results"], "race_id"].astype(int).tolist()

    def next_race(self) -> pd.Series | None:
        """The first race after the last one with results (None when the calendar is done)."""
        races = self.ordered_races()
        done = races.index[races["has_results"]]
        after = races.loc[(done.max() + 1) if len(done) else 0 :]
        return None if after.empty else after.iloc[0]

    def before(self, race_id: int, keep_grid: bool = False) -> History:
        """The history as known before ``race_id``: earlier races' tables, the race itself
        kept in the calendar; ``keep_grid`` keeps its qualifying (the post-qualifying view)."""
        races = self.ordered_races()
        at = races.index[races["race_id"] == race_id]
        if len(at) == 0:
            raise KeyError(f"race {race_id} is not in the history")
        earlier = set(races.loc[: at[0] - 1, "race_id"])
        known_quali = earlier | {race_id} if keep_grid else earlier

        def cut(frame: pd.DataFrame | None, ids: set) -> pd.DataFrame | None:
            return None if frame is None else frame[frame["race_id"].isin(ids)]

        return replace(
            self,
            results=cut(self.results, earlier),
            qualifying=cut(self.qualifying, known_quali),
            sprint_results=cut(self.sprint_results, earlier),
        )
