"""A wet or mixed race replayed for the crossover back-test: every lap (and each tyre change)
fed in session-time order into ``strategy.wet.TrackConditions``, and at every leader lap the
advice the engine and the naive baselines would give from what has been fed so far.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from schemas.race import TRACK_STATUS_CODES
from strategy.wet.advice import crossover_lap
from strategy.wet.conditions import TrackConditions
from strategy.wet.families import FAMILIES, WetParams
from training.wet.episodes import Episode, episodes, race_families

PIT_STATUSES = ("green", "sc", "vsc", "vsc_ending", "red")


@dataclass
class RaceInput:
    """One race to back-test: its laps and what the engine is told before it starts."""

    race_id: str
    laps: pd.DataFrame  # this race's rows of a lap table (training.history.read_laps)
    pit_loss: dict[str, float]  # s per track status (green, sc, vsc, vsc_ending, red)
    dry_reference: float | None = None
    #: (session time s, rainfall, track temperature) samples, when the race has weather
    weather: list[tuple[float, bool | None, float | None]] = field(default_factory=list)


@dataclass
class RaceReplay:
    """What every candidate said on every leader lap of one race."""

    race: RaceInput
    episodes: list[Episode]
    leading: dict[int, str]  # leader lap -> the family most running cars are on
    #: per candidate (engine parameter sets, then baselines): lap -> {family: switch-to}
    calls: list[dict[int, dict[str, str | None]]]


def _track_state(status: Any) -> str:
    code = str(status or "1")[-1:]
    state = TRACK_STATUS_CODES.get(code)
    return state.value if state is not None else "green"


#: Seconds from a car's in-lap crossing to the feed showing its new tyres (it leaves the
#: pit lane): the earliest the worker can know them.
PIT_EXIT_S = 30.0


def _feed(race: pd.DataFrame) -> list[tuple[float, int, Any]]:
    """The race as the feed gives it: (time, order, lap row or stint change) in time order;
    a car's new compound comes ``PIT_EXIT_S`` after its in-lap, when it leaves the pits."""
    df = race_families(race)
    df["time"] = df["time"].fillna(df.groupby("driver")["time"].ffill()).fillna(0.0)
    nxt = df.groupby("driver")[["lap", "compound"]].shift(-1)
    df["next_compound"] = nxt["compound"].where(nxt["lap"] == df["lap"] + 1)
    events: list[tuple[float, int, Any]] = []
    for r in df.sort_values(["time", "lap"], kind="stable").itertuples(index=False):
        events.append((float(r.time), 0, r))
        if r.pit_in and isinstance(r.next_compound, str):
            stint = (r.driver, r.next_compound, int(r.lap) + 1)
            events.append((float(r.time) + PIT_EXIT_S, 1, stint))
    events.sort(key=lambda e: (e[0], e[1]))
    return events


def follow(
    race: pd.DataFrame,
    tc: TrackConditions,
    weather: Sequence[tuple[float, bool | None, float | None]] = (),
) -> Iterator[tuple[int, str]]:
    """Feed one race into ``tc`` in session-time order, the laps, each car's tyre change when
    it leaves the pits and the weather samples as they come; yield (L, track status) each
    time the leader completes lap L (before the last lap), with what the worker knows then."""
    total = int(race["lap"].max())
    samples = sorted(weather, key=lambda w: w[0])
    leader, wi = 0, 0
    for at, kind, item in _feed(race):
        while wi < len(samples) and samples[wi][0] <= at:
            tc.update_weather(samples[wi][1], samples[wi][2])
            wi += 1
        if kind == 1:
            tc.update_stint(*item)
            continue
        r = item
        lap_time = None if pd.isna(r.lap_time) else float(r.lap_time)
        tc.update_lap(
            r.driver, int(r.lap), lap_time, r.compound, pit_in=bool(r.pit_in),
            pit_out=bool(r.pit_out), track_status=str(r.track_status),
        )  # fmt: skip
        if leader < r.lap < total:
            leader = int(r.lap)
            yield leader, str(r.track_status)


def replay(
    race: RaceInput,
    params: Sequence[WetParams],
    faster_by: Sequence[float] = (),
    cars: Sequence[int] = (),
) -> RaceReplay:
    """Replay one race; candidates are the engine with each of ``params``, then the
    "faster by" baseline with each threshold, then the "k cars" baseline with each k."""
    total = int(race.laps["lap"].max())
    tc = TrackConditions(laps_total=total, dry_reference=race.dry_reference)
    n = len(params) + len(faster_by) + len(cars)
    calls: list[dict[int, dict[str, str | None]]] = [{} for _ in range(n)]
    leading: dict[int, str] = {}
    for L, status in follow(race.laps, tc, race.weather):
        loss = race.pit_loss.get(_track_state(status), race.pit_loss["green"])
        running = [f for d, f in tc.family.items() if tc.last_lap.get(d, 0) >= L - 2]
        present = sorted(set(running), key=FAMILIES.index)
        if running:
            leading[L] = max(present, key=running.count)
        for i, p in enumerate(params):
            est = tc.estimate(L, p)
            calls[i][L] = {}
            for fam in present:
                adv = crossover_lap(est, fam, total - L, loss)
                calls[i][L][fam] = adv.family if adv.now else None
        for j, x in enumerate(faster_by):
            calls[len(params) + j][L] = {f: _faster_call(tc, L, f, x) for f in present}
        for j, k in enumerate(cars):
            calls[len(params) + len(faster_by) + j][L] = {
                f: _herd_call(tc, L, f, k) for f in present
            }
    return RaceReplay(race, episodes(race.laps), leading, calls)


def race_inputs(
    laps: pd.DataFrame, race_ids: Iterable[str], pit_loss: Callable[[str, str], float]
) -> list[RaceInput]:
    """Back-test inputs for races of a lap table (of every season up to theirs, so that each
    race's dry reference comes from the races before it); ``pit_loss(circuit, status)`` in s
    (``RaceModels.pit_loss``)."""
    from training.wet.history import dry_reference, race_dry_paces

    paces = race_dry_paces(laps)
    out = []
    for race_id in race_ids:
        race = laps[laps["race_id"] == race_id]
        if race.empty:
            raise KeyError(race_id)
        first = race.iloc[0]
        ref = dry_reference(paces, first["circuit"], int(first["season"]), int(first["round"]))
        losses = {status: float(pit_loss(first["circuit"], status)) for status in PIT_STATUSES}
        out.append(RaceInput(race_id, race, losses, ref))
    return out


def resolve_races(laps: pd.DataFrame, names: Iterable[str]) -> list[str]:
    """Race ids of a lap table from names such as '2024 Canada', 'Canada 2024' or
    '2024-canadian'; a ValueError names what matches nothing."""
    from strategy.circuits import canonical_circuit

    races = laps.groupby("race_id")[["season", "circuit"]].first()
    races["key"] = races["circuit"].map(canonical_circuit)
    out = []
    for name in names:
        if name in races.index:
            out.append(name)
            continue
        years = [w for w in name.replace("-", " ").split() if w.isdigit() and len(w) == 4]
        rest = " ".join(w for w in name.replace("-", " ").split() if w not in years)
        key = canonical_circuit(rest) if rest else None
        hit = races[
            (races["season"] == int(years[0]) if years else True)
            & ((races["key"] == key) | (races["circuit"] == key) if key else True)
        ]
        if hit.empty:
            raise ValueError(f"no race in the lap CSVs matches {name!r}")
        out.extend(hit.index)
    return list(dict.fromkeys(out))


def _faster_call(tc: TrackConditions, at: int, src: str, x: float) -> str | None:
    """Baseline: a car on another family was faster than the median on ``src`` by ``x`` s
    (fuel-corrected clean laps) in the leader's last two laps."""
    for lap in (at, at - 1):
        entries = tc.laps.get(str(lap), [])
        own = [t for _, f, t in entries if f == src]
        if len(own) < 2:
            continue
        ref = statistics.median(own)
        best = min(((t, f) for _, f, t in entries if f != src), default=None)
        if best is not None and best[0] < ref - x:
            return best[1]
    return None


def _herd_call(tc: TrackConditions, at: int, src: str, k: int) -> str | None:
    """Baseline: ``k`` cars switched from ``src`` to one family over the last five laps."""
    moved: dict[str, int] = {}
    for in_lap, _, a, b, _ in tc.switches:
        if a == src and at - 5 < in_lap <= at:
            moved[b] = moved.get(b, 0) + 1
    best = max(moved.items(), key=lambda kv: kv[1], default=None)
    return best[0] if best is not None and best[1] >= k else None
