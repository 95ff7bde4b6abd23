"""Wet-weather strategy: track conditions per tyre family and when to switch between them.

- :class:`TrackConditions` follows a session lap by lap (``update_lap``, ``update_stint``,
  ``update_weather``; ``to_dict``/``from_dict`` for the worker's tables) and gives a
  :class:`TrackEstimate`: each family's pace now and its trend, the dry reference, the
  wetness, the field's moves.
- :func:`family_offsets` (s/lap of each family against a car's current one, per lap ahead)
  and :func:`crossover_lap` (switch now, in k laps, or not) turn it into advice a plan table
  can score like any stop.
- :mod:`training.wet.backtest` measures the advice on real wet races; :mod:`training.wet.episodes`
  finds when the field switched; :mod:`training.wet.history` gives a circuit's dry reference
  from earlier seasons.
"""

from strategy.wet.advice import CrossoverAdvice, crossover_lap, family_offsets
from strategy.wet.conditions import FamilyPace, TrackConditions, TrackEstimate
from strategy.wet.families import DRY, FAMILIES, FAMILY_COMPOUND, INTER, WET, WetParams, family_of

__all__ = [
    "DRY",
    "FAMILIES",
    "FAMILY_COMPOUND",
    "INTER",
    "WET",
    "CrossoverAdvice",
    "FamilyPace",
    "TrackConditions",
    "TrackEstimate",
    "WetParams",
    "crossover_lap",
    "family_of",
    "family_offsets",
]
