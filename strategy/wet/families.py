"""Tyre families and how each one's pace depends on how wet the track is.

Three families: dry slicks (``"dry"``, any of SOFT/MEDIUM/HARD), intermediates and full wets;
the names are :func:`strategy.standings.tyre_kind`'s. Their pace is modelled against one
latent *wetness* ``x``: how much slower than the dry reference lap a slick is on the track as
it is (``x = 0.12``: slicks 12% off dry pace). Each family's slowdown is piecewise linear in x:

- slicks: ``r = x``;
- intermediates: ``r = floor + gain * (x - floor)`` on a track at least as wet as the
  slick/inter crossover (``x = floor``, where both are ``floor`` off dry pace), and
  ``r = floor + overheat * (floor - x)`` on a drier one (inters overheat and grain);
- full wets: the inter's slowdown plus ``wet_slope * (wet_cross - x)``: slower than inters
  on a track drier than ``wet_cross``, faster on a wetter one.

The parameters are fitted on the wet races of the training seasons (:mod:`training.wet.backtest`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from strategy.standings import tyre_kind

DRY, INTER, WET = "dry", "INTERMEDIATE", "WET"
FAMILIES = (DRY, INTER, WET)
#: The tyre fitted when a plan switches to a family (the plan table's compound names).
FAMILY_COMPOUND = {DRY: "MEDIUM", INTER: "INTERMEDIATE", WET: "WET"}


def family_of(compound: str | None) -> str | None:
    """The family of a compound name; None for an unknown or missing compound."""
    if not compound:
        return None
    kind = tyre_kind(str(compound).upper())
    return kind if kind in FAMILIES else None


@dataclass(frozen=True)
class WetParams:
    """The knobs of the track-condition model and the crossover advice.

    The defaults of ``inter_floor``, ``inter_gain``, ``prior_cars``, ``herd`` and ``damping``
    are the ones ``pitwall wet backtest --fit`` chooses on the training races (``margin`` is
    held at 40 s, see :data:`training.wet.backtest.GRID`). The others are set by hand: the
    training races do not pin them (``inter_overheat`` changes no first advice between 0.25
    and 1; the wets' knobs only matter between inters and wets, which the back-test lists
    but does not score).
    """

    #: Slowdown of intermediates (and of slicks) at the slick/inter crossover, vs dry pace.
    inter_floor: float = 0.08
    #: Share of a slick's further slowdown that an intermediate suffers on a wetter track.
    inter_gain: float = 0.6
    #: Share of a slick's gain that an intermediate loses on a drier track (overheating).
    inter_overheat: float = 0.5
    #: Wetness at which full wets become faster than intermediates.
    wet_cross: float = 0.5
    #: How much faster (wetter track) or slower (drier) full wets are per unit of wetness.
    wet_slope: float = 0.15
    #: Laps of lap times behind a family's level and trend.
    window: int = 3
    #: Weight of the wetness model against one car's observed laps on a family.
    prior_cars: float = 1.0
    #: Share of a lap the field's moves are worth: cars that changed family in the last
    #: ``herd_laps`` laps, as a share of the field, times this, makes the new family faster.
    herd: float = 0.4
    herd_laps: int = 2
    #: Each lap further ahead keeps this share of the trend of the lap before it.
    damping: float = 0.15
    #: Largest trend believed, as a share of the lap time per lap.
    max_slope: float = 0.08
    #: Seconds a switch must gain over the rest of the race beyond the pit loss.
    margin: float = 40.0
    #: Cars on a family before their own lap-time trend counts (else the model's trend).
    trend_cars: int = 2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WetParams:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def slowdown(family: str, x: float, p: WetParams) -> float:
    """A family's lap time against the dry reference (0.1: 10% slower) at wetness ``x``."""
    if family == DRY:
        return x
    if x >= p.inter_floor:
        inter = p.inter_floor + p.inter_gain * (x - p.inter_floor)
    else:
        inter = p.inter_floor + p.inter_overheat * (p.inter_floor - x)
    if family == INTER:
        return inter
    return inter + p.wet_slope * (p.wet_cross - x)


def slowdown_slope(family: str, x: float, p: WetParams) -> float:
    """d slowdown / d wetness at ``x``."""
    if family == DRY:
        return 1.0
    inter = p.inter_gain if x >= p.inter_floor else -p.inter_overheat
    return inter if family == INTER else inter - p.wet_slope


def wetness_from(family: str, r: float, p: WetParams) -> float:
    """The wetness at which ``family`` runs ``r`` off dry pace (on the wet side of the
    slick/inter crossover for inters and wets, where they are raced), never below 0."""
    if family == DRY:
        return max(r, 0.0)
    base = p.inter_floor * (1.0 - p.inter_gain)
    if family == INTER:
        return max((r - base) / p.inter_gain, 0.0)
    return max((r - base - p.wet_slope * p.wet_cross) / (p.inter_gain - p.wet_slope), 0.0)
