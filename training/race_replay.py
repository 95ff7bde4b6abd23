"""One past race replayed lap by lap through the engine, with the naive baselines beside it.

After every leader lap the race state the worker would hold (``training.race_states``) goes
into ``strategy.decisions.recommend``, as live: win chances, positions and the strategy after
lap 5 are read there. The advice for one car (box now, the planned stop lap, where it would
rejoin) is read where the worker updates it for that car: when the car itself crosses the
line. What the engine said is kept beside what the habits of the seasons before would have
said (``training.habits``) and what happened. The result tables (final classification) are
read only to score, never to build a state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from schemas.derived import DriverStrategy
from strategy.artifacts import RaceModels
from strategy.compounds import DRY
from strategy.decisions import recommend
from strategy.plan_table import plans_for
from strategy.race_state import RaceState
from strategy.rejoin import rejoin
from training.habits import StrategyHabits
from training.race_states import RaceTimeline, stops_of

STRATEGY_LAP = 5  # the stop-count and sequence advice is taken after this lap
PCTS = (25, 50, 75)
PLAN_AHEAD = (5, 10)  # laps before a real stop at which the planned stop lap is scored
SCORED_STATUS = ("green", "yellow")  # box calls are scored on these laps only


@dataclass
class RaceRecord:
    """What one race's replay produced, for the engine and its baselines."""

    race_id: str
    winner: str | None
    laps_total: int
    win: dict[int, dict[str, float]] = field(default_factory=dict)
    leader: dict[int, str] = field(default_factory=dict)
    podium_pairs: list[tuple[float, bool]] = field(default_factory=list)
    max_drop: float | None = None
    #: per finisher on dry tyres: engine stops, habit stops, one stop, engine top 3, habit top 3
    strategy: list[tuple[bool, bool, bool, bool, bool]] = field(default_factory=list)
    #: (driver, lap of the stop called) for every green car-lap call: engine, tyre-age rule
    engine_calls: set[tuple[str, int]] = field(default_factory=set)
    rule_calls: set[tuple[str, int]] = field(default_factory=set)
    #: real stops (driver, in-lap), and those of a dry race decided on a green lap (recall's
    #: denominator; box calls and planned stops are scored in dry races only)
    stops: list[tuple[str, int]] = field(default_factory=list)
    green_stops: list[tuple[str, int]] = field(default_factory=list)
    #: laps ahead -> (engine error, tyre-age rule error) of the planned stop lap, in laps
    planned: dict[int, list[tuple[float, float]]] = field(default_factory=dict)
    #: per green-flag stop: engine's projected place minus real, place held minus real
    rejoin: list[tuple[int, int]] = field(default_factory=list)
    #: race distance % -> (predicted, order now, expected) absolute position errors
    positions: dict[int, list[tuple[float, float, float]]] = field(default_factory=dict)


def final_order(race: pd.DataFrame, results: dict[str, dict]) -> dict[str, int]:
    """The final classification: Ergast's, or the last lap's positions without it."""
    final = {d: r["position"] for d, r in results.items()}
    if not final:
        last = race.sort_values("lap").groupby("driver").tail(1).set_index("driver")
        final = {d: int(p) for d, p in last["position"].dropna().items()}
    return final


def replay_race(
    race: pd.DataFrame,
    models: RaceModels,
    habits: StrategyHabits,
    final: dict[str, int],
    n_sims: int,
    every: int = 1,
    per_car: bool = True,
) -> RaceRecord:
    """Replay one race (its rows of ``read_laps``) and record the engine and its baselines;
    ``per_car``: also each car's advice at its own crossings (box calls, planned stops,
    rejoins), the costly part."""
    first = race.iloc[0]
    total = int(first["laps_total"])
    winner = min(final, key=final.get) if final else None
    record = RaceRecord(str(first["race_id"]), winner, total)
    timeline = RaceTimeline(race)
    record.stops = stops_of(race)
    pct_laps = {max(1, round(total * p / 100)): p for p in PCTS}
    dry = race["compound"].isin(DRY).mean() > 0.9
    for lap in range(1, total):
        state = timeline.state(lap)
        if state is None:
            continue
        recs = recommend(state, models, n_sims=n_sims, seed=lap)
        if lap % every == 0 or lap in pct_laps:
            record.win[lap] = {r.driver: r.win_prob for r in recs}
            record.leader[lap] = recs[0].driver
            if winner is not None:
                record.podium_pairs += [(r.podium_prob, final.get(r.driver, 99) <= 3) for r in recs]
        if lap in pct_laps:
            record.positions[pct_laps[lap]] = _position_errors(recs, final)
        if lap == STRATEGY_LAP and dry:
            record.strategy = _strategy_matches(race, state, models, habits, total)
    if per_car:
        _car_decisions(record, timeline, models, habits, dry)
    record.max_drop = pit_cycle_drop(record, race)
    return record


def _car_decisions(
    record: RaceRecord,
    timeline: RaceTimeline,
    models: RaceModels,
    habits: StrategyHabits,
    dry: bool,
) -> None:
    """Box calls and planned stops (dry races) and rejoins, each read when the car crosses."""
    stops = set(record.stops)
    positions = timeline.race.set_index(["driver", "lap"])["position"]
    for t, driver, lap in timeline.crossings.itertuples(index=False):
        ahead = [k for d, k in record.stops if d == driver and k - lap in PLAN_AHEAD]
        pit_next = (driver, lap + 1) in stops
        if not (dry or pit_next) or lap + 1 >= record.laps_total:
            continue
        state = timeline.state_at(t)
        cars = {d.driver: i for i, d in enumerate(state.running())} if state else {}
        if state is None or driver not in cars:
            continue
        green = state.track_status in SCORED_STATUS
        if dry:
            plan = plans_for(state, models)[cars[driver]].best[1]
            offset = state.lap - lap  # a car laps down: the plan counts the leader's laps
            first_stop = plan[0][0] - offset if plan else None
            if green:
                _box_call(record, state, driver, lap, first_stop, habits, pit_next)
            _planned(record, state, driver, lap, first_stop, ahead, habits)
        if pit_next and green:
            _rejoin(record, state, cars[driver], driver, lap + 1, models, positions)


def _position_errors(
    recs: list[DriverStrategy], final: dict[str, int]
) -> list[tuple[float, float, float]]:
    return [
        (
            abs(r.predicted_position - final[r.driver]),
            abs(r.position - final[r.driver]),
            abs(r.expected_position - final[r.driver]),
        )
        for r in recs
        if r.driver in final
    ]


def _strategy_matches(
    race: pd.DataFrame, state: RaceState, models: RaceModels, habits: StrategyHabits, total: int
) -> list[tuple[bool, bool, bool, bool, bool]]:
    """Stop count and compound sequence advised after ``STRATEGY_LAP``, and the habits', against
    the real ones, for the cars that finished on dry tyres."""
    out = []
    habit_stops = habits.stop_count(state.circuit)
    for d, plan in zip(state.running(), plans_for(state, models), strict=True):
        stints = race[race["driver"] == d.driver].sort_values("lap")
        seq = tuple(stints.groupby("stint", sort=True)["compound"].first())
        if stints["lap"].max() < total - 1 or any(c not in DRY for c in seq):
            continue
        done = stints[stints["lap"] <= state.lap]
        past = tuple(done.groupby("stint", sort=True)["compound"].first())[:-1]
        ranked = [past + s for s in plan.ranked_sequences()[:3]]
        out.append(
            (
                d.stops + len(plan.best[1]) == len(seq) - 1,
                habit_stops == len(seq) - 1,
                len(seq) == 2,
                seq in ranked,
                seq in habits.top_sequences(state.circuit, seq[0]),
            )
        )
    return out


def _box_call(
    record: RaceRecord,
    state: RaceState,
    driver: str,
    lap: int,
    first_stop: int | None,
    habits: StrategyHabits,
    pit_next: bool,
) -> None:
    """ "Box this lap" (a stop at the end of the car's next lap) from the engine and from the
    tyre-age rule, on a green lap; and the real stop decided on it."""
    if pit_next:
        record.green_stops.append((driver, lap + 1))
    if first_stop == lap + 1:
        record.engine_calls.add((driver, lap + 1))
    d = next(c for c in state.running() if c.driver == driver)
    left = record.laps_total - (lap + 1)
    if d.compound in DRY and habits.box_now(state.circuit, d.compound, d.tyre_age + 1, left):
        record.rule_calls.add((driver, lap + 1))


def _planned(
    record: RaceRecord,
    state: RaceState,
    driver: str,
    lap: int,
    first_stop: int | None,
    ahead: list[int],
    habits: StrategyHabits,
) -> None:
    """For each real stop ``PLAN_AHEAD`` laps after this crossing (no stop in between): the
    stop lap the engine plans now, and the tyre-age rule's, against the real one (no stop
    planned: the distance to the flag)."""
    d = next(c for c in state.running() if c.driver == driver)
    for k in ahead:
        if any(lap < j < k for dd, j in record.stops if dd == driver):
            continue  # another stop comes first
        miss = float(record.laps_total - k)
        engine = abs(first_stop - k) if first_stop is not None else miss
        planned = habits.planned_stop(state.circuit, d.compound, d.tyre_age, lap)
        rule = abs(planned - k) if planned is not None else miss
        record.planned.setdefault(k - lap, []).append((float(engine), float(rule)))


def _rejoin(
    record: RaceRecord,
    state: RaceState,
    i: int,
    driver: str,
    in_lap: int,
    models: RaceModels,
    positions: pd.Series,
) -> None:
    """Where the car would rejoin, projected as it starts its in-lap, and the place it holds,
    against its place at the end of its out-lap."""
    actual = positions.get((driver, in_lap + 1))
    if actual is None or pd.isna(actual):
        return
    loss = models.pit_loss(state.circuit)
    projected = rejoin(state, i, loss, "green", models.pit_out_share(state.circuit))
    held = state.running()[i].position
    record.rejoin.append((projected.position - int(actual), held - int(actual)))


def pit_cycle_drop(record: RaceRecord, race: pd.DataFrame) -> float | None:
    """The largest fall of the eventual winner's win chance from the lap before one of his
    green-flag stops to its lowest over that stop's laps (in-lap to two laps after)."""
    if record.winner is None:
        return None
    status = race.groupby("lap")["track_status"].agg(lambda s: "".join(s.astype(str)))
    drops = []
    for driver, lap in record.stops:
        if driver != record.winner:
            continue
        laps = range(lap - 1, lap + 3)
        if not all(set(str(status.get(x, "1"))) <= {"1"} for x in laps):
            continue
        before = record.win.get(lap - 1, {}).get(driver)
        during = [record.win[x].get(driver, 0.0) for x in range(lap, lap + 3) if x in record.win]
        if before is not None and during:
            drops.append(before - min(during))
    return max(drops) if drops else None
