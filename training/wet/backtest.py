"""Back-test of the crossover advice on real wet and mixed races.

Each race is replayed in session-time order: every lap (and, at each in-lap, the tyre change
it ends with) goes into a :class:`~strategy.wet.conditions.TrackConditions`, and whenever the
leader completes a lap ``L`` the advice for a car on each family present is taken from what
has been fed so far; "switch now" means a stop at the end of lap ``L + 1``. For each switch
episode (:mod:`training.wet.episodes`) the lap the engine first advises the switch is set
against the top-10 cars' median in-lap: ``crossover_lap_error`` is the mean absolute
difference in laps. The search for an episode's first advice starts the lap after the
previous episode's median lap and runs to the lap before the next one starts (an advice that
never comes counts as given right after that). Advice to the family most cars are on to
switch outside any episode (``CALL_SLACK`` laps around it) is a *false call*.

Two naive baselines run on the same information: "switch when a car that switched is faster
than the median of the old family by ``x`` s" (its lap time), and "switch when ``k`` cars have
switched". Their thresholds, like the engine's parameters, are chosen on training races only.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from schemas.race import TRACK_STATUS_CODES
from strategy.wet.advice import crossover_lap
from strategy.wet.conditions import TrackConditions
from strategy.wet.families import FAMILIES, WetParams
from training.wet.episodes import DESTINATIONS, Episode, episodes, race_families

#: The races the issue names: parameters are chosen on TRAINING, figures reported on HELD_OUT.
TRAINING = (
    "2019-german", "2020-turkish", "2021-turkish", "2021-emilia-romagna",
    "2022-emilia-romagna", "2022-japanese", "2022-singapore", "2022-monaco", "2023-monaco",
    "2023-dutch",
)  # fmt: skip
#: Other 2018-2023 races whose laps have switches between families (found by scanning).
EXTRA_TRAINING = ("2018-german", "2020-hungarian", "2021-hungarian", "2021-russian")
HELD_OUT = ("2024-canadian", "2024-british")
#: Races left out of the figures, and why.
EXCLUDED = {
    "2022-monaco": "its compound labels contradict its lap times (14 cars 'on slicks' from "
    "lap 3 run the inters' lap times; SAI's wets-to-slicks stop is missing)",
}
PIT_STATUSES = ("green", "sc", "vsc", "vsc_ending", "red")
SCORED_KINDS = ("to_wet", "to_dry")  # crossover_lap_error: slicks <-> inters/wets
CALL_SLACK = 2  # laps around an episode where advice to switch is not a false call

#: Engine parameters searched on the training races (the rest keep WetParams' defaults).
#: The margin stays at 40 s: the field's moves (``herd``) and the margin trade off along a
#: ridge (twice the herd weight with twice the margin scores about the same), so one is fixed.
GRID: dict[str, Sequence[Any]] = {
    "inter_floor": (0.06, 0.08, 0.10),
    "prior_cars": (0.5, 1.0, 2.0),
    "herd": (0.2, 0.4, 0.8),
    "damping": (0.0, 0.15, 0.3),
    "inter_gain": (0.4, 0.6, 0.8),
    "margin": (40.0,),
}
BASELINE_GRID = {"faster_by": (0.0, 0.5, 1.0, 2.0, 3.0), "cars": (1, 2, 3, 4, 5, 6)}
#: The baselines' thresholds chosen on the training races (``fit``): faster by (s), cars.
BASELINE_FIT = (0.0, 4)


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


def follow(
    race: pd.DataFrame,
    tc: TrackConditions,
    weather: Sequence[tuple[float, bool | None, float | None]] = (),
) -> Iterator[tuple[int, str]]:
    """Feed one race's laps into ``tc`` in session-time order, with each in-lap's tyre change
    and the weather samples as they come; yield (L, track status) each time the leader
    completes lap L (before the last lap), with what the worker would know by then."""
    df = race_families(race)
    df["time"] = df["time"].fillna(df.groupby("driver")["time"].ffill()).fillna(0.0)
    nxt = df.groupby("driver")[["lap", "compound"]].shift(-1)
    df["next_compound"] = nxt["compound"].where(nxt["lap"] == df["lap"] + 1)
    df = df.sort_values(["time", "lap"], kind="stable")
    total = int(df["lap"].max())
    samples = sorted(weather, key=lambda w: w[0])
    leader, wi = 0, 0
    for r in df.itertuples(index=False):
        while wi < len(samples) and samples[wi][0] <= r.time:
            tc.update_weather(samples[wi][1], samples[wi][2])
            wi += 1
        lap_time = None if pd.isna(r.lap_time) else float(r.lap_time)
        tc.update_lap(
            r.driver, int(r.lap), lap_time, r.compound, pit_in=bool(r.pit_in),
            pit_out=bool(r.pit_out), track_status=str(r.track_status),
        )  # fmt: skip
        if r.pit_in and isinstance(r.next_compound, str):
            tc.update_stint(r.driver, r.next_compound, int(r.lap) + 1)
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


@dataclass(frozen=True)
class EpisodeScore:
    episode: Episode
    advised: int | None  # the in-lap first advised; None: never (scored as after the scan)
    scan_end: int

    @property
    def error(self) -> float:
        lap = self.advised if self.advised is not None else self.scan_end + 1
        return abs(lap - self.episode.median_lap)


def score(rep: RaceReplay, candidate: int) -> tuple[list[EpisodeScore], int]:
    """One candidate's episode scores and false calls in one race."""
    calls = rep.calls[candidate]
    total = int(rep.race.laps["lap"].max())
    eps = [e for e in rep.episodes if not e.red_flag]
    out = []
    for k, e in enumerate(eps):
        start = math.ceil(eps[k - 1].median_lap) + 1 if k else 1
        end = max(e.last_lap, eps[k + 1].first_lap - 1) if k + 1 < len(eps) else total
        advised = None
        for lap in range(max(start - 1, 1), end):
            said = calls.get(lap, {}).get(e.src)
            if said in DESTINATIONS[e.kind]:
                advised = lap + 1
                break
        out.append(EpisodeScore(e, advised, end))
    false = 0
    for lap, said in calls.items():
        fam = rep.leading.get(lap)
        to = said.get(fam) if fam else None
        if to is None:
            continue
        if not any(
            e.src == fam
            and to in DESTINATIONS[e.kind]
            and e.first_lap - CALL_SLACK <= lap + 1 <= e.last_lap + CALL_SLACK
            for e in rep.episodes
        ):
            false += 1
    return out, false


@dataclass
class Summary:
    """Mean absolute error (laps) over the scored episodes, and false calls."""

    episodes: int = 0
    error: float = float("nan")
    within_2: float = float("nan")
    missed: int = 0
    false_calls: int = 0

    @classmethod
    def of(cls, scores: Iterable[EpisodeScore], false_calls: int) -> Summary:
        s = [x for x in scores if x.episode.kind in SCORED_KINDS]
        errs = [x.error for x in s]
        return cls(
            episodes=len(s),
            error=float(np.mean(errs)) if errs else float("nan"),
            within_2=float(np.mean([e <= 2 for e in errs])) if errs else float("nan"),
            missed=sum(x.advised is None for x in s),
            false_calls=false_calls,
        )


def objective(s: Summary, races: int) -> float:
    """What the parameter search minimises: laps of error, plus half a lap per false call
    per race (advice to leave the tyres the whole field stays on)."""
    return s.error + 0.5 * s.false_calls / max(races, 1)


def _summarise(replays: list[RaceReplay], candidate: int) -> Summary:
    scores, false = [], 0
    for rep in replays:
        s, f = score(rep, candidate)
        scores += s
        false += f
    return Summary.of(scores, false)


def grid_params(base: WetParams, grid: dict[str, Sequence[Any]]) -> list[WetParams]:
    keys = list(grid)
    return [replace(base, **dict(zip(keys, v, strict=True))) for v in itertools.product(
        *(grid[k] for k in keys))]  # fmt: skip


@dataclass
class Fit:
    """The candidates chosen on the training races, and their training summaries."""

    params: WetParams
    faster_by: float
    cars: int
    train: dict[str, Summary]
    searched: int


def fit(
    train: list[RaceInput],
    grid: dict[str, Sequence[Any]] | None = None,
    base: WetParams | None = None,
    progress: Callable[[str], None] | None = None,
) -> Fit:
    """Choose the engine's parameters and the baselines' thresholds on ``train``."""
    base = base or WetParams()
    cands = grid_params(base, GRID if grid is None else grid)
    fb, ks = BASELINE_GRID["faster_by"], BASELINE_GRID["cars"]
    replays = []
    for race in train:
        if progress:
            progress(race.race_id)
        replays.append(replay(race, cands, fb, ks))
    n = len(train)
    sums = [_summarise(replays, i) for i in range(len(cands) + len(fb) + len(ks))]
    best = min(range(len(cands)), key=lambda i: (objective(sums[i], n), i))
    bf = min(range(len(fb)), key=lambda j: (objective(sums[len(cands) + j], n), j))
    bk = min(range(len(ks)), key=lambda j: (objective(sums[len(cands) + len(fb) + j], n), j))
    return Fit(
        params=cands[best],
        faster_by=fb[bf],
        cars=ks[bk],
        train={
            "model": sums[best],
            "first_faster": sums[len(cands) + bf],
            "follow_field": sums[len(cands) + len(fb) + bk],
        },
        searched=len(cands),
    )


@dataclass
class RaceResult:
    race_id: str
    split: str  # "train" or "held-out"
    scores: dict[str, list[EpisodeScore]]  # candidate name -> per episode
    false_calls: dict[str, int]


def evaluate(
    races: list[tuple[RaceInput, str]],
    params: WetParams,
    faster_by: float,
    cars: int,
    progress: Callable[[str], None] | None = None,
) -> list[RaceResult]:
    """The engine, the engine blind to the field's moves (``herd`` 0: lap times only), and
    the two baselines on each (race, split)."""
    out = []
    for race, split in races:
        if progress:
            progress(race.race_id)
        rep = replay(race, [params, replace(params, herd=0.0)], [faster_by], [cars])
        scores, false = {}, {}
        for i, name in enumerate(CANDIDATES):
            scores[name], false[name] = score(rep, i)
        out.append(RaceResult(race.race_id, split, scores, false))
    return out


#: What ``evaluate`` scores, in the order it gives them to ``replay``.
CANDIDATES = ("model", "model_lap_times_only", "first_faster", "follow_field")


def summaries(results: list[RaceResult], split: str) -> dict[str, Summary]:
    chosen = [r for r in results if r.split == split]
    return {
        name: Summary.of(
            [s for r in chosen for s in r.scores[name]], sum(r.false_calls[name] for r in chosen)
        )
        for name in CANDIDATES
    }


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


def _nan_to_none(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(x, 3)


def report(
    results: list[RaceResult],
    params: WetParams,
    faster_by: float,
    cars: int,
    excluded: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Everything the back-test measured, as plain JSON: ``crossover_lap_error`` per split
    (``train``, ``held_out``) for the model and each baseline, the summaries, every episode
    and every race's false calls."""
    splits = {"train": "train", "held_out": "held-out"}
    summary = {k: {n: vars(v) for n, v in summaries(results, s).items()}
               for k, s in splits.items()}  # fmt: skip
    for per in summary.values():
        for v in per.values():
            for key in ("error", "within_2"):
                v[key] = _nan_to_none(v[key])
    episodes_out, races_out = [], []
    for r in results:
        for i, sc in enumerate(r.scores["model"]):
            e = sc.episode
            row: dict[str, Any] = {
                "race": r.race_id, "split": r.split, "kind": e.kind, "first_lap": e.first_lap,
                "last_lap": e.last_lap, "movers": e.movers, "running": e.running,
                "top10": e.top10, "top10_median": e.median_lap,
            }  # fmt: skip
            for name in CANDIDATES:
                c = r.scores[name][i]
                row[name] = {"lap": c.advised, "error": c.error, "scan_end": c.scan_end}
            episodes_out.append(row)
        races_out.append(
            {"race": r.race_id, "split": r.split, "episodes": len(r.scores["model"]),
             "false_calls": r.false_calls}
        )  # fmt: skip
    return {
        "crossover_lap_error": {
            k: {n: per[n]["error"] for n in CANDIDATES} for k, per in summary.items()
        },
        "summary": summary,
        "episodes": episodes_out,
        "races": races_out,
        "params": params.to_dict(),
        "baselines": {"first_faster_s": faster_by, "follow_field_cars": cars},
        "excluded": dict(excluded or {}),
    }


def crossover_lap_error(
    laps: pd.DataFrame,
    pit_loss: Callable[[str, str], float],
    params: WetParams | None = None,
    history: pd.DataFrame | None = None,
) -> dict[str, float | None]:
    """``crossover_lap_error`` of the model and the baselines over the wet races of a lap
    table (those where the field switched between slicks and inters or wets), with the
    fitted parameters; None for each when the table has no such race. ``history``: laps of
    earlier seasons, for each race's dry reference. For a back-test report of its own
    (``pitwall backtest --json``)."""
    ids = [
        race_id
        for race_id, race in laps.groupby("race_id")
        if any(e.kind in SCORED_KINDS and not e.red_flag for e in episodes(race))
    ]
    if not ids:
        return dict.fromkeys(CANDIDATES)
    table = laps if history is None else pd.concat([history, laps], ignore_index=True)
    inputs = [(r, "eval") for r in race_inputs(table, ids, pit_loss)]
    results = evaluate(inputs, params or WetParams(), *BASELINE_FIT)
    return {n: _nan_to_none(s.error) for n, s in summaries(results, "eval").items()}
