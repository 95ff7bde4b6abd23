"""The fuel-load effect on lap time: a car gets lighter, and faster, every lap.

About 1.6-1.9 kg of fuel burn per lap at roughly 0.03 s per kg gives ~0.055 s per lap of
fuel on board; the model works with lap times corrected to an empty tank so that tyre
degradation is not hidden by the car getting lighter.
"""

from __future__ import annotations

#: Seconds of lap time per lap of fuel still on board.
FUEL_S_PER_LAP = 0.055


def fuel_corrected(lap_time: float, lap_number: int, laps_total: int) -> float:
    """``lap_time`` as it would be with an empty tank (laps of fuel left after this lap: 0)."""
    return lap_time - FUEL_S_PER_LAP * max(laps_total - lap_number, 0)


def fuel_effect(laps_remaining: float) -> float:
    """Seconds the remaining fuel adds to a lap."""
    return FUEL_S_PER_LAP * max(laps_remaining, 0.0)
