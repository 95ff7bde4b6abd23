"""Scoring crossover advice against what the field did: per switch episode, the lap the engine
(or a baseline) first advises the switch against the top-10 cars' median in-lap, and advice
outside any episode counted as a false call.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from training.wet.episodes import DESTINATIONS, Episode
from training.wet.replay import RaceReplay

SCORED_KINDS = ("to_wet", "to_dry")  # crossover_lap_error: slicks <-> inters/wets


CALL_SLACK = 2  # laps around an episode where advice to switch is not a false call


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
